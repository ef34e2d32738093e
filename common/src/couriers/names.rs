//! Couriers by the names storefronts and exports give them ("UPS", "Royal Mail", "DHL
//! eCommerce", "Japan Post (EN)"): a slug for a carrier's name.
//!
//! Names are compared without case, accents aside, spaces or punctuation. The catalog's own
//! names and slugs are known; the aliases below cover the names Shopify lists for its
//! `tracking_company` and AfterShip's exports use where they differ from the catalog's.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::{COURIERS, find};

/// Names that differ from the catalog's, with their slugs.
const ALIASES: &[(&str, &str)] = &[
    ("amazon logistics us", "amazon"),
    ("amazon logistics uk", "amazon"),
    ("amazon logistics", "amazon"),
    ("bpost international", "bpost"),
    ("chronopost", "chronopost-france"),
    ("correios", "brazil-correios"),
    ("correos", "spain-correos-es"),
    ("ctt", "portugal-ctt"),
    ("deutsche post", "deutsch-post"),
    ("federal express", "fedex"),
    ("japan post en", "japan-post"),
    ("japan post ja", "japan-post"),
    ("la poste", "la-poste-colissimo"),
    ("united parcel service", "ups"),
    ("united states postal service", "usps"),
    ("yun express", "yunexpress"),
];

/// A name folded for comparison: lower case, letters and digits only.
fn folded(name: &str) -> String {
    name.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Every folded name with its slug: the catalog's names over the aliases, the first courier of a
/// name over later ones.
static BY_FOLDED_NAME: LazyLock<HashMap<String, &'static str>> = LazyLock::new(|| {
    let aliases = ALIASES.iter().rev().map(|(alias, slug)| (folded(alias), *slug));
    let catalog = COURIERS.iter().rev().map(|courier| (folded(courier.name), courier.slug));
    aliases.chain(catalog).collect()
});

/// The slug of the courier called `name` (a slug, the catalog's name, or an alias), if known.
pub fn slug_for_name(name: &str) -> Option<&'static str> {
    let trimmed = name.trim();
    if let Some(courier) = find(&trimmed.to_ascii_lowercase()) {
        return Some(courier.slug);
    }
    BY_FOLDED_NAME.get(&folded(trimmed)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_storefronts_give_find_their_slugs() {
        for (name, slug) in [
            ("UPS", "ups"),
            ("ups", "ups"),
            ("FedEx", "fedex"),
            ("DHL Express", "dhl"),
            ("DHL eCommerce", "dhl-global-mail"),
            ("Royal Mail", "royal-mail"),
            ("royal-mail", "royal-mail"),
            ("China Post", "china-post"),
            ("YunExpress", "yunexpress"),
            ("Yun Express", "yunexpress"),
            ("Japan Post (EN)", "japan-post"),
            ("Amazon Logistics UK", "amazon"),
            ("  Canada Post ", "canada-post"),
            ("United States Postal Service", "usps"),
        ] {
            assert_eq!(slug_for_name(name), Some(slug), "{name}");
        }
        for unknown in ["", "  ", "My Local Van", "Wizmo"] {
            assert_eq!(slug_for_name(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn every_catalog_name_finds_a_courier_of_that_name() {
        for courier in COURIERS {
            let slug = slug_for_name(courier.name).unwrap_or_else(|| panic!("{}", courier.name));
            let found = find(slug).expect("a catalog slug");
            assert!(found.slug == courier.slug || folded(found.name) == folded(courier.name), "{}", courier.name);
        }
    }

    #[test]
    fn every_alias_names_a_catalog_courier() {
        for (alias, slug) in ALIASES {
            assert!(find(slug).is_some(), "{alias} → {slug}");
        }
    }
}
