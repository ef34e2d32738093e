//! The courier catalog (AfterShip's slugs) and detection of the courier from a tracking number.

mod detect;
mod links;
mod names;

use serde::Serialize;

pub use detect::{Checksum, Detection, detect, postal_slugs};
pub use links::tracking_link;
pub use names::slug_for_name;

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
        /// Every courier in the catalog, sorted by slug. Slugs are AfterShip's, checked against
        /// AfterShip's published courier list, except where the entry says otherwise.
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
    "4-72", "4-72 Entregando", Some("https://www.4-72.com.co"), "es", ["COL"];
    "4px", "4PX", Some("https://www.4px.com"), "en", ["CHN"];
    "amazon", "Amazon Shipping", Some("https://ship.amazon.com"), "en", ["USA", "GBR"];
    "an-post", "An Post", Some("https://www.anpost.com"), "en", ["IRL"];
    "australia-post", "Australia Post", Some("https://auspost.com.au"), "en", ["AUS"];
    "austrian-post-registered", "Austrian Post (Registered)", Some("https://www.post.at"), "de", ["AUT"];
    "belpost", "Belpost", Some("https://www.belpost.by"), "ru", ["BLR"];
    "bgpost", "Bulgarian Posts", Some("https://www.bgpost.bg"), "bg", ["BGR"];
    "bh-posta", "JP BH Pošta", Some("https://www.posta.ba"), "bs", ["BIH"];
    "bpost", "Belgium Post", Some("https://www.bpost.be"), "en", ["BEL"];
    "brazil-correios", "Brazil Correios", Some("https://www.correios.com.br"), "pt", ["BRA"];
    "cainiao", "Cainiao", Some("https://global.cainiao.com"), "en", ["CHN"];
    "cambodia-post", "Cambodia Post", Some("https://www.cambodiapost.post"), "en", ["KHM"];
    "canada-post", "Canada Post", Some("https://www.canadapost-postescanada.ca"), "en", ["CAN"];
    "canpar", "Canpar Courier", Some("https://www.canpar.com"), "en", ["CAN"];
    "ceska-posta", "Česká Pošta", Some("https://www.postaonline.cz"), "cs", ["CZE"];
    "china-ems", "China EMS", Some("https://www.ems.com.cn"), "zh", ["CHN"];
    "china-post", "China Post", Some("https://www.chinapost.com.cn"), "zh", ["CHN"];
    "chronopost-france", "Chronopost France", Some("https://www.chronopost.fr"), "fr", ["FRA"];
    "colissimo", "Colissimo", Some("https://www.laposte.fr/outils/suivre-vos-envois"), "fr", ["FRA"];
    "correo-argentino", "Correo Argentino", Some("https://www.correoargentino.com.ar"), "es", ["ARG"];
    "correos-chile", "Correos Chile", Some("https://www.correos.cl"), "es", ["CHL"];
    "correos-de-mexico", "Correos de Mexico", Some("https://www.correosdemexico.gob.mx"), "es", ["MEX"];
    "cyprus-post", "Cyprus Post", Some("https://www.cypruspost.post"), "el", ["CYP"];
    "danmark-post", "Post Danmark", Some("https://www.postnord.dk"), "da", ["DNK"];
    "deutsch-post", "Deutsche Post Mail", Some("https://www.deutschepost.de"), "de", ["DEU"];
    "dhl", "DHL Express", Some("https://www.dhl.com"), "en", ["DEU", "USA", "GBR", "CHN", "HKG"];
    "dhl-germany", "Deutsche Post DHL", Some("https://www.dhl.de"), "de", ["DEU"];
    "dhl-global-mail", "DHL eCommerce", Some("https://www.dhl.com/us-en/home/ecommerce.html"), "en", ["USA"];
    "dpd", "DPD", Some("https://www.dpd.com"), "en", ["DEU", "FRA", "POL"];
    "dpd-uk", "DPD UK", Some("https://www.dpd.co.uk"), "en", ["GBR"];
    "elta-courier", "ELTA Hellenic Post", Some("https://www.elta.gr"), "el", ["GRC"];
    "emirates-post", "Emirates Post", Some("https://www.emiratespost.ae"), "en", ["ARE"];
    "fedex", "FedEx", Some("https://www.fedex.com"), "en", ["USA", "CAN", "MEX", "GBR", "CHN"];
    "gls", "GLS", Some("https://gls-group.com"), "en", ["DEU", "ITA", "FRA"];
    "gofo-express", "GOFO Express", Some("https://www.gofoexpress.com"), "en", ["USA"];
    "hong-kong-post", "Hong Kong Post", Some("https://www.hongkongpost.hk"), "en", ["HKG"];
    "hrvatska-posta", "Hrvatska Pošta", Some("https://www.posta.hr"), "hr", ["HRV"];
    "india-post-int", "India Post International", Some("https://www.indiapost.gov.in"), "en", ["IND"];
    "israel-post", "Israel Post", Some("https://www.israelpost.co.il"), "he", ["ISR"];
    "japan-post", "Japan Post", Some("https://www.post.japanpost.jp"), "ja", ["JPN"];
    "korea-post", "Korea Post", Some("https://www.epost.go.kr"), "ko", ["KOR"];
    "la-poste-colissimo", "La Poste", Some("https://www.laposte.fr"), "fr", ["FRA"];
    "landmark-global", "Landmark Global", Some("https://landmarkglobal.com"), "en", ["BEL", "GBR", "USA"];
    "lao-post", "Lao Post", None, "lo", ["LAO"];
    "lasership", "LaserShip", Some("https://www.lasership.com"), "en", ["USA"];
    "lietuvos-pastas", "Lietuvos Paštas", Some("https://www.post.lt"), "lt", ["LTU"];
    "magyar-posta", "Magyar Posta", Some("https://www.posta.hu"), "hu", ["HUN"];
    "malaysia-post-posdaftar", "Malaysia Post - Registered", Some("https://www.pos.com.my"), "en", ["MYS"];
    "new-zealand-post", "New Zealand Post", Some("https://www.nzpost.co.nz"), "en", ["NZL"];
    "nipost", "NiPost", Some("https://www.nipost.gov.ng"), "en", ["NGA"];
    "old-dominion", "Old Dominion Freight Line", Some("https://www.odfl.com"), "en", ["USA"];
    "ontrac", "OnTrac", Some("https://www.ontrac.com"), "en", ["USA"];
    "poczta-polska", "Poczta Polska", Some("https://www.poczta-polska.pl"), "pl", ["POL"];
    "portugal-ctt", "Portugal CTT", Some("https://www.ctt.pt"), "pt", ["PRT"];
    "pos-indonesia-int", "Pos Indonesia International", Some("https://www.posindonesia.co.id"), "id", ["IDN"];
    "post-serbia", "Post Serbia", Some("https://www.posta.rs"), "sr", ["SRB"];
    "posta-romana", "Poșta Română", Some("https://www.posta-romana.ro"), "ro", ["ROU"];
    "poste-italiane", "Poste Italiane", Some("https://www.poste.it"), "it", ["ITA"];
    "posten-norge", "Posten Norge / Bring", Some("https://www.posten.no"), "no", ["NOR"];
    "posti", "Itella Posti", Some("https://www.posti.fi"), "fi", ["FIN"];
    "postnl", "PostNL Domestic", Some("https://www.postnl.nl"), "nl", ["NLD"];
    "postnl-international", "PostNL International", Some("https://www.postnl.nl"), "en", ["NLD"];
    "postur-is", "Iceland Post", Some("https://www.posturinn.is"), "is", ["ISL"];
    "ptt-posta", "PTT Posta", Some("https://www.ptt.gov.tr"), "tr", ["TUR"];
    "purolator", "Purolator", Some("https://www.purolator.com"), "en", ["CAN"];
    "royal-mail", "Royal Mail", Some("https://www.royalmail.com"), "en", ["GBR"];
    "russian-post", "Russian Post", Some("https://www.pochta.ru"), "ru", ["RUS"];
    "sapo", "South African Post Office", Some("https://www.postoffice.co.za"), "en", ["ZAF"];
    "saudi-post", "Saudi Post", Some("https://splonline.com.sa"), "ar", ["SAU"];
    "singapore-post", "Singapore Post", Some("https://www.singpost.com"), "en", ["SGP"];
    "singapore-speedpost", "Singapore Speedpost", Some("https://www.speedpost.com.sg"), "en", ["SGP"];
    "spain-correos-es", "Correos de España", Some("https://www.correos.es"), "es", ["ESP"];
    "speedee", "Spee-Dee Delivery", Some("https://www.speedeedelivery.com"), "en", ["USA"];
    "sweden-posten", "Sweden Posten", Some("https://www.postnord.se"), "sv", ["SWE"];
    "swiss-post", "Swiss Post", Some("https://www.post.ch"), "de", ["CHE"];
    "taiwan-post", "Taiwan Post", Some("https://www.post.gov.tw"), "zh", ["TWN"];
    "testing-courier", "Testing Courier", None, "en", [];
    "thailand-post", "Thailand Thai Post", Some("https://www.thailandpost.co.th"), "th", ["THA"];
    "ukrposhta", "UkrPoshta", Some("https://www.ukrposhta.ua"), "uk", ["UKR"];
    "ups", "UPS", Some("https://www.ups.com"), "en", ["USA", "CAN", "GBR", "DEU", "CHN"];
    "upu", "UPU S10 postal item (Porchlight extension)", None, "en", [];
    "usps", "USPS", Some("https://www.usps.com"), "en", ["USA"];
    "vnpost", "Vietnam Post", Some("https://www.vnpost.vn"), "vi", ["VNM"];
    "vnpost-ems", "Vietnam Post EMS", Some("https://www.ems.com.vn"), "vi", ["VNM"];
    "yanwen", "Yanwen", Some("https://www.yw56.com.cn"), "zh", ["CHN"];
    "yodel", "Yodel Domestic", Some("https://www.yodel.co.uk"), "en", ["GBR"];
    "yunexpress", "YunExpress", Some("https://www.yunexpress.com"), "en", ["CHN"];
}

/// The courier with `slug`, if the catalog has it.
pub fn find(slug: &str) -> Option<&'static Courier> {
    COURIERS.binary_search_by(|courier| courier.slug.cmp(slug)).ok().map(|i| &COURIERS[i])
}

/// Couriers whose every number format detection knows: a number given with one of these slugs
/// must fit one of its formats (these are also the carriers whose APIs Porchlight calls with
/// the number). Other couriers' numbers are taken as given.
const KNOWN_FORMATS: [&str; 5] = ["dhl", "fedex", "testing-courier", "ups", "usps"];

/// Whether `number` can be a `slug` number: it fits one of the courier's formats (a wrong check
/// digit aside: that may be the carrier's own mistake), or Porchlight does not know them all.
pub fn fits(slug: &str, number: &str) -> bool {
    !KNOWN_FORMATS.contains(&slug) || detect(number).iter().any(|detection| detection.courier.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_sorted_by_slug_for_lookup() {
        assert!(COURIERS.windows(2).all(|pair| pair[0].slug < pair[1].slug));
        assert_eq!(find("ups").map(|c| c.name), Some("UPS"));
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn numbers_given_with_a_slug_must_fit_its_formats_when_all_are_known() {
        assert!(fits("ups", "1Z999AA10123456784"));
        assert!(fits("ups", "1Z999AA10123456785"), "a wrong check digit is the carrier's to judge");
        assert!(!fits("ups", "RR123456785CN"));
        assert!(!fits("usps", "ESC/INJECTED?INJECTED=1"));
        assert!(fits("testing-courier", "TC-DELIVERED-5-DEMO1"));
        assert!(fits("yunexpress", "anything at all"), "formats not all known: taken as given");
    }
}
