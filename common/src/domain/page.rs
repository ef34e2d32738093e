//! A merchant's branded tracking page: its URL name, brand, colours, languages and content.

use serde::{Deserialize, Serialize};

use super::{DomainError, Language, Money, is_email};

/// Shortest and longest page slug.
const SLUG_LENGTH: std::ops::RangeInclusive<usize> = 3..=63;
/// Longest brand name, link label, banner text and product title.
const MAX_LABEL: usize = 120;
/// Longest banner text.
const MAX_BANNER_TEXT: usize = 300;
/// Most navigation links.
const MAX_LINKS: usize = 8;
/// Most product recommendations.
const MAX_RECOMMENDATIONS: usize = 12;
/// Longest URL.
const MAX_URL: usize = 2048;
/// Slugs no merchant may take: they name the pages' own paths or could mislead a shopper.
const RESERVED_SLUGS: &[&str] = &["admin", "api", "assets", "console", "porchlight", "static", "tracking", "www"];

/// A link in the page's navigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavLink {
    /// What the shopper reads, 1 to 120 characters.
    pub label: String,
    /// Where it goes: an `https` URL.
    pub url: String,
}

/// A banner above the recommendations: text, an image, or both, optionally linked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Banner {
    /// Up to 300 characters.
    #[serde(default)]
    pub text: Option<String>,
    /// An `https` image URL.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Where the banner leads: an `https` URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// A product the merchant recommends on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    /// The product's name, 1 to 120 characters.
    pub title: String,
    /// An `https` image URL.
    #[serde(default)]
    pub image_url: Option<String>,
    /// Its price.
    #[serde(default)]
    pub price: Option<Money>,
    /// The product's page: an `https` URL.
    pub url: String,
}

/// A merchant's tracking page settings. Field names are the API's
/// (`/porchlight/v1/tracking-page`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingPage {
    /// The page's URL name (`/t/<slug>`), unique across merchants.
    pub slug: String,
    /// The name shown in the header and, with `hide_carrier`, in place of the carrier's.
    pub brand_name: String,
    /// The logo: an `https` image URL.
    pub logo_url: Option<String>,
    /// Header and button colour, `#rrggbb`.
    pub primary_color: String,
    /// Links and highlights, `#rrggbb`.
    pub accent_color: String,
    /// The language shown when nothing else decides; one of `languages`.
    pub default_language: Language,
    /// The languages offered to shoppers, at least one.
    pub languages: Vec<Language>,
    /// Navigation links.
    pub links: Vec<NavLink>,
    /// Where shoppers write for help.
    pub support_email: Option<String>,
    /// The merchant's help page: an `https` URL.
    pub support_url: Option<String>,
    /// An optional banner.
    pub banner: Option<Banner>,
    /// Products shown under the tracking details.
    pub recommendations: Vec<Recommendation>,
    /// Carrier masking: the merchant's name in place of the carrier's, no carrier links.
    pub hide_carrier: bool,
    /// Whether the page offers a "return items" entry.
    pub returns_enabled: bool,
}

impl TrackingPage {
    /// The settings a new merchant starts with: the slug made from its name (see
    /// [`slug_from_name`]), its name as the brand, neutral colours, every language offered.
    pub fn default_for(brand_name: &str, slug: String) -> Self {
        TrackingPage {
            slug,
            brand_name: brand_name.chars().take(MAX_LABEL).collect(),
            logo_url: None,
            primary_color: "#1d4ed8".into(),
            accent_color: "#0f766e".into(),
            default_language: Language::En,
            languages: Language::ALL.to_vec(),
            links: Vec::new(),
            support_email: None,
            support_url: None,
            banner: None,
            recommendations: Vec::new(),
            hide_carrier: false,
            returns_enabled: false,
        }
    }

    /// Every field's rules; the error names the first field that breaks one, as the API
    /// writes it (`links[2].url`).
    pub fn validate(&self) -> Result<(), DomainError> {
        validate_slug(&self.slug)?;
        label("brand_name", &self.brand_name, MAX_LABEL)?;
        optional_url("logo_url", &self.logo_url)?;
        color("primary_color", &self.primary_color)?;
        color("accent_color", &self.accent_color)?;
        if self.languages.is_empty() {
            return Err(DomainError::invalid("languages", "must offer at least one language"));
        }
        if !self.languages.contains(&self.default_language) {
            return Err(DomainError::invalid("default_language", "must be one of languages"));
        }
        if self.links.len() > MAX_LINKS {
            return Err(DomainError::invalid("links", format!("must be at most {MAX_LINKS} links")));
        }
        for (i, link) in self.links.iter().enumerate() {
            label(&format!("links[{i}].label"), &link.label, MAX_LABEL)?;
            https_url(&format!("links[{i}].url"), &link.url)?;
        }
        if let Some(email) = &self.support_email
            && !is_email(email)
        {
            return Err(DomainError::invalid("support_email", "is not an email address"));
        }
        optional_url("support_url", &self.support_url)?;
        if let Some(banner) = &self.banner {
            if banner.text.is_none() && banner.image_url.is_none() {
                return Err(DomainError::invalid("banner", "needs text, an image_url or both"));
            }
            if let Some(text) = &banner.text {
                label("banner.text", text, MAX_BANNER_TEXT)?;
            }
            optional_url("banner.image_url", &banner.image_url)?;
            optional_url("banner.url", &banner.url)?;
        }
        if self.recommendations.len() > MAX_RECOMMENDATIONS {
            let reason = format!("must be at most {MAX_RECOMMENDATIONS} products");
            return Err(DomainError::invalid("recommendations", reason));
        }
        for (i, product) in self.recommendations.iter().enumerate() {
            label(&format!("recommendations[{i}].title"), &product.title, MAX_LABEL)?;
            optional_url(&format!("recommendations[{i}].image_url"), &product.image_url)?;
            https_url(&format!("recommendations[{i}].url"), &product.url)?;
            if let Some(price) = &product.price {
                price.validate(&format!("recommendations[{i}].price"))?;
            }
        }
        Ok(())
    }
}

/// Checks a page slug: 3 to 63 characters of `a-z`, `0-9` and `-`, starting and ending with a
/// letter or digit, not reserved.
pub fn validate_slug(slug: &str) -> Result<(), DomainError> {
    let shaped = SLUG_LENGTH.contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if !shaped {
        let reason = "must be 3 to 63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit";
        return Err(DomainError::invalid("slug", reason));
    }
    if RESERVED_SLUGS.contains(&slug) {
        return Err(DomainError::invalid("slug", "is reserved"));
    }
    Ok(())
}

/// A page slug made from a merchant's name: ASCII letters and digits kept (lower-cased), every
/// other run of characters one dash, cut to fit; `"shop"` when nothing is left. It may still
/// be taken or reserved: callers add a suffix.
pub fn slug_from_name(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(48);
    let slug = slug.trim_matches('-');
    if slug.len() < *SLUG_LENGTH.start() {
        format!("{slug}-shop").trim_start_matches('-').to_owned()
    } else {
        slug.to_owned()
    }
}

fn label(field: &str, text: &str, longest: usize) -> Result<(), DomainError> {
    let length = text.trim().chars().count();
    if length == 0 || text.chars().count() > longest {
        return Err(DomainError::invalid(field, format!("must be 1 to {longest} characters")));
    }
    if text.chars().any(char::is_control) {
        return Err(DomainError::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn color(field: &str, value: &str) -> Result<(), DomainError> {
    let ok = value.len() == 7 && value.starts_with('#') && value[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok { Ok(()) } else { Err(DomainError::invalid(field, "must be a colour written #rrggbb")) }
}

fn optional_url(field: &str, value: &Option<String>) -> Result<(), DomainError> {
    value.as_deref().map_or(Ok(()), |url| https_url(field, url))
}

/// Checks that `value` is an absolute `https` URL with a host and no user name or password.
pub fn https_url(field: &str, value: &str) -> Result<(), DomainError> {
    if value.len() > MAX_URL {
        return Err(DomainError::invalid(field, format!("must be at most {MAX_URL} characters")));
    }
    let parsed = url::Url::parse(value).map_err(|_| DomainError::invalid(field, "is not a URL"))?;
    if parsed.scheme() != "https" || parsed.host_str().is_none_or(str::is_empty) {
        return Err(DomainError::invalid(field, "must be an https URL"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(DomainError::invalid(field, "must not carry a user name or password"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> TrackingPage {
        TrackingPage::default_for("Acme Goods", "acme-goods".into())
    }

    #[test]
    fn slugs_from_names_fit_the_rules() {
        for (name, slug) in [
            ("Acme Goods", "acme-goods"),
            ("  Café  & Co. ", "caf-co"),
            ("北京商店", "shop"),
            ("A", "a-shop"),
            ("Porchlight Demo Shop", "porchlight-demo-shop"),
        ] {
            assert_eq!(slug_from_name(name), slug, "{name}");
            assert!(validate_slug(&slug_from_name(name)).is_ok(), "{name}");
        }
        assert!(validate_slug(&slug_from_name(&"x".repeat(200))).is_ok());
    }

    #[test]
    fn defaults_are_valid_and_each_broken_field_is_named() {
        assert_eq!(page().validate(), Ok(()));
        type Breaks = Box<dyn Fn(&mut TrackingPage)>;
        let cases: Vec<(&str, Breaks)> = vec![
            ("slug", Box::new(|p| p.slug = "Acme".into())),
            ("slug", Box::new(|p| p.slug = "admin".into())),
            ("slug", Box::new(|p| p.slug = "-acme".into())),
            ("brand_name", Box::new(|p| p.brand_name = "  ".into())),
            ("logo_url", Box::new(|p| p.logo_url = Some("http://cdn.example/logo.png".into()))),
            ("logo_url", Box::new(|p| p.logo_url = Some("javascript:alert(1)".into()))),
            ("logo_url", Box::new(|p| p.logo_url = Some("https://user:pw@cdn.example/l.png".into()))),
            ("primary_color", Box::new(|p| p.primary_color = "#12345".into())),
            ("accent_color", Box::new(|p| p.accent_color = "red".into())),
            ("languages", Box::new(|p| p.languages.clear())),
            ("default_language", Box::new(|p| p.languages = vec![Language::De])),
            (
                "links[0].url",
                Box::new(|p| p.links = vec![NavLink { label: "Shop".into(), url: "ftp://x.example".into() }]),
            ),
            ("support_email", Box::new(|p| p.support_email = Some("help at acme".into()))),
            ("banner", Box::new(|p| p.banner = Some(Banner::default()))),
            (
                "recommendations[0].price.amount",
                Box::new(|p| {
                    p.recommendations = vec![Recommendation {
                        title: "Mug".into(),
                        image_url: None,
                        price: Some(Money { amount: "12,50".into(), currency: "EUR".into() }),
                        url: "https://acme.example/mug".into(),
                    }]
                }),
            ),
        ];
        for (field, breaks) in cases {
            let mut broken = page();
            breaks(&mut broken);
            assert_eq!(broken.validate().map_err(|e| e.field), Err(field.to_owned()));
        }
    }

    #[test]
    fn money_amounts_are_plain_decimals() {
        for (amount, ok) in [("20.00", true), ("7", true), ("0.125", true), ("1.", false), (".5", false), ("-1", false)]
        {
            let price = Money { amount: amount.into(), currency: "USD".into() };
            assert_eq!(price.validate("price").is_ok(), ok, "{amount}");
        }
    }
}
