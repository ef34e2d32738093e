//! What the command-line tests share: a fresh database path, running the binary, reading
//! its output.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn temp_db() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("porchlight-cli-{}-{}", std::process::id(), unique()));
    dir.join("nested").join("porchlight.db")
}

pub fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

pub fn porchlight(db: &PathBuf, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_porchlight"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PORCHLIGHT_DB")
        .env_remove("PORCHLIGHT_LISTEN")
        .output()
        .expect("porchlight runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn last_line(output: &Output) -> String {
    stdout(output).lines().last().unwrap_or_default().to_owned()
}

/// Creates a tenant named `name`; its id.
pub fn new_tenant(db: &PathBuf, name: &str) -> String {
    let created = porchlight(db, &["tenants", "create", name, "--json"]);
    let tenant: serde_json::Value = serde_json::from_str(stdout(&created).trim()).expect("json");
    tenant["tenant_id"].as_str().expect("id").to_owned()
}
