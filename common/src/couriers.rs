//! The courier catalog (AfterShip's slugs) and detection of the courier from a tracking number.
//!
//! Detection here covers the formats whose check digits are published and unambiguous: UPS `1Z`
//! numbers and UPU S10 numbers (`RR123456785CN`), mapped to the issuing country's post. The
//! carriers work (issue 3) extends [`detect`] to every format it names; until then a number in
//! another format needs an explicit `slug`.

use serde::Serialize;

/// One courier Porchlight knows, described as AfterShip's `Courier` model does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Courier {
    /// AfterShip's slug.
    pub slug: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Customer-service phone, if published.
    pub phone: Option<&'static str>,
    /// Another name the courier goes by.
    pub other_name: Option<&'static str>,
    /// Website.
    pub web_url: Option<&'static str>,
    /// Fields the courier needs besides the number (`tracking_postal_code`, ...).
    pub required_fields: &'static [&'static str],
    /// Fields that improve tracking.
    pub optional_fields: &'static [&'static str],
    /// The language its events are written in.
    pub default_language: &'static str,
    /// Languages it can return.
    pub support_languages: &'static [&'static str],
    /// ISO 3166-1 alpha-3 codes of the countries it ships from.
    pub service_from_country_regions: &'static [&'static str],
}

macro_rules! couriers {
    ($($slug:literal, $name:literal, $web:expr, $lang:literal, [$($country:literal),*];)*) => {
        /// Every courier in the catalog, by slug.
        pub static COURIERS: &[Courier] = &[
            $(Courier {
                slug: $slug,
                name: $name,
                phone: None,
                other_name: None,
                web_url: $web,
                required_fields: &[],
                optional_fields: &[],
                default_language: $lang,
                support_languages: &[$lang],
                service_from_country_regions: &[$($country),*],
            },)*
        ];
    };
}

couriers! {
    "4px", "4PX", Some("https://www.4px.com"), "en", ["CHN"];
    "amazon", "Amazon Shipping", Some("https://www.amazon.com"), "en", ["USA", "GBR"];
    "australia-post", "Australia Post", Some("https://auspost.com.au"), "en", ["AUS"];
    "belpost", "Belpost", Some("https://www.belpost.by"), "ru", ["BLR"];
    "bpost", "Bpost", Some("https://www.bpost.be"), "en", ["BEL"];
    "brazil-correios", "Correios Brazil", Some("https://www.correios.com.br"), "pt", ["BRA"];
    "cainiao", "Cainiao", Some("https://global.cainiao.com"), "en", ["CHN"];
    "canada-post", "Canada Post", Some("https://www.canadapost-postescanada.ca"), "en", ["CAN"];
    "china-ems", "China EMS (ePacket)", Some("https://www.ems.com.cn"), "zh", ["CHN"];
    "china-post", "China Post", Some("https://www.chinapost.com.cn"), "zh", ["CHN"];
    "colissimo", "Colissimo", Some("https://www.laposte.fr/outils/suivre-vos-envois"), "fr", ["FRA"];
    "correos-de-espana", "Correos de España", Some("https://www.correos.es"), "es", ["ESP"];
    "czech-post", "Czech Post", Some("https://www.postaonline.cz"), "cs", ["CZE"];
    "danmark-post", "PostNord Denmark", Some("https://www.postnord.dk"), "da", ["DNK"];
    "deutsch-post", "Deutsche Post Mail", Some("https://www.deutschepost.de"), "de", ["DEU"];
    "dhl", "DHL Express", Some("https://www.dhl.com"), "en", ["DEU", "USA", "GBR", "CHN", "HKG"];
    "dhl-ecommerce", "DHL eCommerce", Some("https://www.dhl.com/us-en/home/ecommerce.html"), "en", ["USA"];
    "dhl-germany", "Deutsche Post DHL", Some("https://www.dhl.de"), "de", ["DEU"];
    "dpd", "DPD", Some("https://www.dpd.com"), "en", ["DEU", "FRA", "POL"];
    "dpd-uk", "DPD UK", Some("https://www.dpd.co.uk"), "en", ["GBR"];
    "fedex", "FedEx", Some("https://www.fedex.com"), "en", ["USA", "CAN", "MEX", "GBR", "CHN"];
    "gls", "GLS", Some("https://gls-group.com"), "en", ["DEU", "ITA", "FRA"];
    "hong-kong-post", "Hong Kong Post", Some("https://www.hongkongpost.hk"), "en", ["HKG"];
    "india-post", "India Post", Some("https://www.indiapost.gov.in"), "en", ["IND"];
    "israel-post", "Israel Post", Some("https://www.israelpost.co.il"), "he", ["ISR"];
    "japan-post", "Japan Post", Some("https://www.post.japanpost.jp"), "ja", ["JPN"];
    "korea-post", "Korea Post", Some("https://www.epost.go.kr"), "ko", ["KOR"];
    "la-poste-colissimo", "La Poste", Some("https://www.laposte.fr"), "fr", ["FRA"];
    "lasership", "LaserShip", Some("https://www.lasership.com"), "en", ["USA"];
    "malaysia-post", "Malaysia Post", Some("https://www.pos.com.my"), "en", ["MYS"];
    "mexico-post", "Correos de México", Some("https://www.correosdemexico.gob.mx"), "es", ["MEX"];
    "new-zealand-post", "New Zealand Post", Some("https://www.nzpost.co.nz"), "en", ["NZL"];
    "ontrac", "OnTrac", Some("https://www.ontrac.com"), "en", ["USA"];
    "poczta-polska", "Poczta Polska", Some("https://www.poczta-polska.pl"), "pl", ["POL"];
    "portugal-ctt", "CTT Portugal", Some("https://www.ctt.pt"), "pt", ["PRT"];
    "poste-italiane", "Poste Italiane", Some("https://www.poste.it"), "it", ["ITA"];
    "posten-norge", "Posten Norge", Some("https://www.posten.no"), "no", ["NOR"];
    "postnl", "PostNL", Some("https://www.postnl.nl"), "nl", ["NLD"];
    "postnl-international", "PostNL International", Some("https://www.postnl.nl"), "en", ["NLD"];
    "purolator", "Purolator", Some("https://www.purolator.com"), "en", ["CAN"];
    "royal-mail", "Royal Mail", Some("https://www.royalmail.com"), "en", ["GBR"];
    "russian-post", "Russian Post", Some("https://www.pochta.ru"), "ru", ["RUS"];
    "singapore-post", "Singapore Post", Some("https://www.singpost.com"), "en", ["SGP"];
    "sweden-posten", "PostNord Sweden", Some("https://www.postnord.se"), "sv", ["SWE"];
    "swiss-post", "Swiss Post", Some("https://www.post.ch"), "de", ["CHE"];
    "taiwan-post", "Chunghwa Post", Some("https://www.post.gov.tw"), "zh", ["TWN"];
    "testing-courier", "Testing Courier", None, "en", [];
    "thailand-post", "Thailand Post", Some("https://www.thailandpost.co.th"), "th", ["THA"];
    "turkey-post", "PTT Posta", Some("https://www.ptt.gov.tr"), "tr", ["TUR"];
    "ukraine-post", "Ukrposhta", Some("https://www.ukrposhta.ua"), "uk", ["UKR"];
    "ups", "UPS", Some("https://www.ups.com"), "en", ["USA", "CAN", "GBR", "DEU", "CHN"];
    "usps", "USPS", Some("https://www.usps.com"), "en", ["USA"];
    "yanwen", "Yanwen", Some("https://www.yw56.com.cn"), "zh", ["CHN"];
    "yodel", "Yodel", Some("https://www.yodel.co.uk"), "en", ["GBR"];
    "yunexpress", "YunExpress", Some("https://www.yunexpress.com"), "en", ["CHN"];
}

/// The courier with `slug`, if the catalog has it.
pub fn find(slug: &str) -> Option<&'static Courier> {
    COURIERS.binary_search_by(|courier| courier.slug.cmp(slug)).ok().map(|i| &COURIERS[i])
}

/// The national posts by the ISO 3166-1 alpha-2 suffix of a UPU S10 number.
const POSTS_BY_S10_COUNTRY: &[(&str, &str)] = &[
    ("AU", "australia-post"),
    ("BE", "bpost"),
    ("BR", "brazil-correios"),
    ("BY", "belpost"),
    ("CA", "canada-post"),
    ("CH", "swiss-post"),
    ("CN", "china-post"),
    ("CZ", "czech-post"),
    ("DE", "deutsch-post"),
    ("DK", "danmark-post"),
    ("ES", "correos-de-espana"),
    ("FR", "la-poste-colissimo"),
    ("GB", "royal-mail"),
    ("HK", "hong-kong-post"),
    ("IL", "israel-post"),
    ("IN", "india-post"),
    ("IT", "poste-italiane"),
    ("JP", "japan-post"),
    ("KR", "korea-post"),
    ("MX", "mexico-post"),
    ("MY", "malaysia-post"),
    ("NL", "postnl-international"),
    ("NO", "posten-norge"),
    ("NZ", "new-zealand-post"),
    ("PL", "poczta-polska"),
    ("PT", "portugal-ctt"),
    ("RU", "russian-post"),
    ("SE", "sweden-posten"),
    ("SG", "singapore-post"),
    ("TH", "thailand-post"),
    ("TR", "turkey-post"),
    ("TW", "taiwan-post"),
    ("UA", "ukraine-post"),
    ("US", "usps"),
];

/// Couriers whose published number format `number` satisfies, check digit verified, best first.
pub fn detect(number: &str) -> Vec<&'static Courier> {
    let compact: String =
        number.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
    let mut found = Vec::new();
    if is_ups_1z(&compact) {
        found.extend(find("ups"));
    }
    if let Some(country) = s10_country(&compact) {
        // EMS items (service indicator E) of China Post travel as China EMS.
        let slug = if country == "CN" && compact.starts_with('E') {
            Some("china-ems")
        } else {
            POSTS_BY_S10_COUNTRY.iter().find(|(code, _)| *code == country).map(|(_, slug)| *slug)
        };
        found.extend(slug.and_then(find));
    }
    found
}

/// UPS `1Z` + 6 shipper characters + 2 service digits + 7 package digits + 1 check digit.
/// Letters count as `(ASCII - 63) mod 10`; odd positions add once, even positions twice.
fn is_ups_1z(compact: &str) -> bool {
    let Some(body) = compact.strip_prefix("1Z") else { return false };
    if body.len() != 16 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let value = |b: u8| if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - 63) % 10 };
    let bytes = body.as_bytes();
    let sum: u32 = bytes[..15].iter().enumerate().map(|(i, &b)| if i % 2 == 0 { value(b) } else { 2 * value(b) }).sum();
    bytes[15].is_ascii_digit() && (10 - sum % 10) % 10 == u32::from(bytes[15] - b'0')
}

/// The alpha-2 country of a UPU S10 number (2 letters, 8 digits, check digit, 2 letters) whose
/// check digit is right: weights 8 6 4 2 3 5 9 7, check = 11 - sum mod 11, 10 -> 0, 11 -> 5.
fn s10_country(compact: &str) -> Option<&str> {
    let bytes = compact.as_bytes();
    let shaped = bytes.len() == 13
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..11].iter().all(u8::is_ascii_digit)
        && bytes[11..].iter().all(u8::is_ascii_uppercase);
    if !shaped {
        return None;
    }
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = bytes[2..10].iter().zip(WEIGHTS).map(|(&b, w)| u32::from(b - b'0') * w).sum();
    let check = match 11 - sum % 11 {
        10 => 0,
        11 => 5,
        digit => digit,
    };
    (u32::from(bytes[10] - b'0') == check).then(|| &compact[11..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slugs(number: &str) -> Vec<&'static str> {
        detect(number).into_iter().map(|c| c.slug).collect()
    }

    #[test]
    fn catalog_is_sorted_by_slug_for_lookup() {
        assert!(COURIERS.windows(2).all(|pair| pair[0].slug < pair[1].slug));
        assert_eq!(find("ups").map(|c| c.name), Some("UPS"));
        assert_eq!(find("nope"), None);
        for (_, slug) in POSTS_BY_S10_COUNTRY {
            assert!(find(slug).is_some(), "{slug}");
        }
    }

    #[test]
    fn detects_ups_numbers_by_their_check_digit() {
        assert_eq!(slugs("1Z999AA10123456784"), ["ups"]);
        assert_eq!(slugs("1z 999 aa1 0123 4567 84"), ["ups"]);
        assert_eq!(slugs("1Z999AA10123456785"), Vec::<&str>::new());
    }

    #[test]
    fn detects_s10_numbers_as_the_issuing_post() {
        assert_eq!(slugs("RR123456785CN"), ["china-post"]);
        assert_eq!(slugs("EE123456785CN"), ["china-ems"]);
        assert_eq!(slugs("RR123456785GB"), ["royal-mail"]);
        assert_eq!(slugs("RR123456784CN"), Vec::<&str>::new());
        assert_eq!(slugs("RR123456785XX"), Vec::<&str>::new());
    }
}
