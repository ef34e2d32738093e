//! How a tracking came to Porchlight: its channel, which the console filters by.

use serde::{Deserialize, Serialize};

/// How a tracking came to Porchlight. Stored as one string ([`TrackingSource::key`]) so that
/// stores can filter by it; trackings stored before it was kept read as [`TrackingSource::Api`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum TrackingSource {
    /// The tracking API (and anything unrecognised).
    #[default]
    Api,
    /// Added by hand in the console.
    Console,
    /// A CSV or JSON-lines import.
    Import,
    /// A return's parcel back to the merchant.
    Returns,
    /// A storefront connector's order sync: the connector's id.
    Connector(String),
}

impl TrackingSource {
    /// Whether it is [`TrackingSource::Api`].
    pub fn is_api(&self) -> bool {
        *self == TrackingSource::Api
    }

    /// The stored spelling: `api`, `console`, `import`, `returns` or `connector:<id>`.
    pub fn key(&self) -> String {
        match self {
            TrackingSource::Api => "api".to_owned(),
            TrackingSource::Console => "console".to_owned(),
            TrackingSource::Import => "import".to_owned(),
            TrackingSource::Returns => "returns".to_owned(),
            TrackingSource::Connector(id) => format!("connector:{id}"),
        }
    }

    /// Reads [`TrackingSource::key`]'s spelling; anything else is [`TrackingSource::Api`].
    pub fn parse(key: &str) -> TrackingSource {
        match key {
            "console" => TrackingSource::Console,
            "import" => TrackingSource::Import,
            "returns" => TrackingSource::Returns,
            other => match other.strip_prefix("connector:") {
                Some(id) if !id.is_empty() => TrackingSource::Connector(id.to_owned()),
                _ => TrackingSource::Api,
            },
        }
    }
}

impl From<TrackingSource> for String {
    fn from(source: TrackingSource) -> String {
        source.key()
    }
}

impl From<String> for TrackingSource {
    fn from(key: String) -> TrackingSource {
        TrackingSource::parse(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_round_trip_through_their_keys() {
        for source in [
            TrackingSource::Api,
            TrackingSource::Console,
            TrackingSource::Import,
            TrackingSource::Returns,
            TrackingSource::Connector("c_1".into()),
        ] {
            assert_eq!(TrackingSource::parse(&source.key()), source);
            let json = serde_json::to_string(&source).expect("json");
            assert_eq!(serde_json::from_str::<TrackingSource>(&json).expect("back"), source);
        }
        assert_eq!(TrackingSource::parse("connector:"), TrackingSource::Api);
        assert_eq!(TrackingSource::parse("fax"), TrackingSource::Api);
    }
}
