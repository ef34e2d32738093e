//! Amounts of money as AfterShip writes them.

use serde::{Deserialize, Serialize};

use super::DomainError;

/// An amount of money: a decimal string and an ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Decimal, e.g. `"20.00"`: digits with at most one `.` and three decimals, no sign.
    pub amount: String,
    /// Three upper-case letters, e.g. `USD`.
    pub currency: String,
}

impl Money {
    /// Checks the amount and currency; errors name `field.amount` or `field.currency`.
    pub fn validate(&self, field: &str) -> Result<(), DomainError> {
        let (whole, fraction) = self.amount.split_once('.').unwrap_or((&self.amount, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let amount_ok = (1..=12).contains(&whole.len())
            && digits(whole)
            && fraction.len() <= 3
            && digits(fraction)
            && (fraction.is_empty() != self.amount.contains('.'));
        if !amount_ok {
            return Err(DomainError::invalid(format!("{field}.amount"), "must be a decimal such as \"20.00\""));
        }
        if !is_currency(&self.currency) {
            return Err(DomainError::invalid(format!("{field}.currency"), "must be an ISO 4217 code such as USD"));
        }
        Ok(())
    }
}

/// Whether `code` has the shape of an ISO 4217 code (three upper-case letters).
pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Currencies with no minor unit (ISO 4217 exponent 0).
const NO_DECIMALS: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF",
    "XPF",
];
/// Currencies with three decimals (ISO 4217 exponent 3).
const THREE_DECIMALS: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// Digits after the point in `currency`'s minor unit (ISO 4217): 0, 3, or 2 for the rest.
pub fn currency_exponent(currency: &str) -> u32 {
    if NO_DECIMALS.contains(&currency) {
        0
    } else if THREE_DECIMALS.contains(&currency) {
        3
    } else {
        2
    }
}

impl Money {
    /// The amount in the currency's minor units (cents, or yen): `None` when it has more
    /// decimals than the currency has, beside zeros (`"1500.00"` yen is 1,500, `"1.005"`
    /// dollars is refused), or does not parse.
    pub fn minor_units(&self) -> Option<u64> {
        let exponent = currency_exponent(&self.currency) as usize;
        let (whole, fraction) = self.amount.split_once('.').unwrap_or((&self.amount, ""));
        let (kept, dropped) = fraction.split_at(fraction.len().min(exponent));
        if !dropped.bytes().all(|b| b == b'0') {
            return None;
        }
        let whole: u64 = whole.parse().ok()?;
        let kept: u64 = if kept.is_empty() { 0 } else { kept.parse().ok()? };
        let scale = 10u64.pow(exponent as u32);
        whole.checked_mul(scale)?.checked_add(kept * 10u64.pow((exponent - fraction.len().min(exponent)) as u32))
    }

    /// `minor` units of `currency` written as AfterShip writes amounts (`"12.50"`).
    pub fn from_minor(minor: u64, currency: &str) -> Money {
        let exponent = currency_exponent(currency);
        let amount = if exponent == 0 {
            minor.to_string()
        } else {
            let scale = 10u64.pow(exponent);
            format!("{}.{:0width$}", minor / scale, minor % scale, width = exponent as usize)
        };
        Money { amount, currency: currency.to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_become_minor_units_by_the_currencys_exponent_and_back() {
        let money = |amount: &str, currency: &str| Money { amount: amount.into(), currency: currency.into() };
        assert_eq!(money("12.50", "EUR").minor_units(), Some(1250));
        assert_eq!(money("12.5", "EUR").minor_units(), Some(1250));
        assert_eq!(money("7", "USD").minor_units(), Some(700));
        assert_eq!(money("1500", "JPY").minor_units(), Some(1500));
        assert_eq!(money("1500.00", "JPY").minor_units(), Some(1500));
        assert_eq!(money("1500.5", "JPY").minor_units(), None);
        assert_eq!(money("1.005", "KWD").minor_units(), Some(1005));
        assert_eq!(money("1.005", "USD").minor_units(), None);
        assert_eq!(Money::from_minor(1250, "EUR"), money("12.50", "EUR"));
        assert_eq!(Money::from_minor(1500, "JPY"), money("1500", "JPY"));
        assert_eq!(Money::from_minor(1005, "KWD"), money("1.005", "KWD"));
        assert_eq!(Money::from_minor(5, "USD"), money("0.05", "USD"));
    }
}
