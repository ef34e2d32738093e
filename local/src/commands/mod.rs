//! The command line's verbs, one file each.

pub mod analytics;
pub mod backup;
pub mod connectors;
pub mod couriers;
pub mod edd;
pub mod export;
pub mod generate;
pub mod import;
pub mod notification_rules;
pub mod notifications;
pub mod orders;
pub mod privacy;
pub mod quarantine;
pub mod reports;
pub mod returns;
pub mod secrets;
pub mod serve;
pub mod tenants;
pub mod tracking_page;
pub mod users;

/// A JSON value of type `T` from `file`, or standard input for `-`; errors name the file and
/// the field.
pub fn read_json<T: serde::de::DeserializeOwned>(file: &std::path::Path) -> anyhow::Result<T> {
    use std::io::Read;
    let mut text = String::new();
    if file.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(|e| anyhow::anyhow!("reading standard input: {e}"))?;
    } else {
        text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    }
    let mut json = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        anyhow::anyhow!("{}: {path}: {}", file.display(), error.into_inner())
    })
}

/// `value` as pretty JSON on standard output.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
