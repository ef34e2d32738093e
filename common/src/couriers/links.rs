//! Carriers' own public tracking pages for one number: AfterShip's `courier_tracking_link`.
//!
//! Each entry is the address pattern under which a carrier's public website shows one number,
//! as its tracking form submits it. They were written from the carriers' sites as known, not
//! checked live from here (no network beyond package registries): a carrier that changes its
//! address breaks only the link. Carriers missing here get no link rather than a guess.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::domain::TrackingNumber;

/// (slug, URL with `{number}`), sorted by slug.
const LINKS: &[(&str, &str)] = &[
    ("4px", "https://track.4px.com/#/result/0/{number}"),
    ("australia-post", "https://auspost.com.au/mypost/track/details/{number}"),
    ("cainiao", "https://global.cainiao.com/newDetail.htm?mailNoList={number}"),
    ("canada-post", "https://www.canadapost-postescanada.ca/track-reperage/en#/details/{number}"),
    ("colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={number}"),
    ("dhl", "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}"),
    ("dhl-germany", "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?piececode={number}"),
    ("fedex", "https://www.fedex.com/fedextrack/?trknbr={number}"),
    ("japan-post", "https://trackings.post.japanpost.jp/services/srv/search/direct?reqCodeNo1={number}&locale=en"),
    ("la-poste-colissimo", "https://www.laposte.fr/outils/suivre-vos-envois?code={number}"),
    ("postnl-international", "https://postnl.post/tracktrace?barcodes={number}"),
    ("royal-mail", "https://www.royalmail.com/track-your-item#/tracking-results/{number}"),
    ("ups", "https://www.ups.com/track?tracknum={number}"),
    ("usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}"),
    ("yunexpress", "https://www.yuntrack.com/parcelTracking?id={number}"),
];

/// The carrier's own page for `number`, where the carrier has one.
pub fn tracking_link(slug: &str, number: &TrackingNumber) -> Option<String> {
    let (_, template) = LINKS.iter().find(|(s, _)| *s == slug)?;
    let escaped = utf8_percent_encode(number.compact(), NON_ALPHANUMERIC).to_string();
    Some(template.replace("{number}", &escaped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_https_escaped_and_only_for_known_carriers() {
        assert!(LINKS.windows(2).all(|pair| pair[0].0 < pair[1].0), "sorted");
        assert!(LINKS.iter().all(|(slug, url)| super::super::find(slug).is_some() && url.starts_with("https://")));
        let number = TrackingNumber::parse("1Z999AA10123456784").expect("number");
        assert_eq!(
            tracking_link("ups", &number).as_deref(),
            Some("https://www.ups.com/track?tracknum=1Z999AA10123456784")
        );
        assert_eq!(tracking_link("testing-courier", &number), None);
    }
}
