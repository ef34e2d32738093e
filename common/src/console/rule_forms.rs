//! What the rule editors' forms share: comma lists, the scope of a rule (carriers,
//! destination countries, tags) read from a form and written back into one.

use super::{Fields, one};
use crate::app::AppError;
use crate::domain::{CountryCode, DomainError, Scope, Slug};

/// The values of `name` split at `separator`, trimmed, empty ones left out.
pub(super) fn list(fields: &Fields, name: &str, separator: char) -> Vec<String> {
    one(fields, name).split(separator).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned).collect()
}

/// Whether the checkbox `name` is ticked (its value `yes`).
pub(super) fn ticked(fields: &Fields, name: &str) -> bool {
    one(fields, name) == "yes"
}

/// The whole number in `name` (empty: `default`); the error names `field` as the API does.
pub(super) fn number(fields: &Fields, name: &str, field: &str, default: u32) -> Result<u32, AppError> {
    match one(fields, name) {
        "" => Ok(default),
        text => text.parse().map_err(|_| DomainError::invalid(field, "must be a whole number").into()),
    }
}

/// The scope in `scope_slugs`, `scope_countries` and `scope_tags`.
pub(super) fn scope_of(fields: &Fields) -> Result<Scope, AppError> {
    let invalid = |field: &str, why: &str| AppError::from(DomainError::invalid(field, why));
    let slugs = list(fields, "scope_slugs", ',')
        .iter()
        .map(|s| Slug::parse(s).map_err(|_| invalid("scope.slugs", "must be carrier slugs such as ups")))
        .collect::<Result<_, _>>()?;
    let destination_countries = list(fields, "scope_countries", ',')
        .iter()
        .map(|c| {
            CountryCode::from_carrier(c)
                .ok_or_else(|| invalid("scope.destination_countries", "must be country codes such as US or DEU"))
        })
        .collect::<Result<_, _>>()?;
    Ok(Scope { slugs, destination_countries, shipment_tags: list(fields, "scope_tags", ',') })
}

/// A scope as the form's three fields show it.
pub(super) fn scope_fields(scope: &Scope) -> minijinja::Value {
    let slugs: Vec<&str> = scope.slugs.iter().map(|s| s.as_str()).collect();
    let countries: Vec<&str> = scope.destination_countries.iter().map(|c| c.as_str()).collect();
    minijinja::context! {
        slugs => slugs.join(", "), countries => countries.join(", "), tags => scope.shipment_tags.join(", "),
    }
}
