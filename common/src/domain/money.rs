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
