use super::*;

fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn refused(pairs: &[(&str, &str)]) -> String {
    Settings::from_vars(vars(pairs)).expect_err("refused").to_string()
}

const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[test]
fn unset_settings_take_the_documented_defaults() {
    let settings = Settings::from_vars(vars(&[])).expect("valid");
    assert!(settings.secret_key.is_none() && settings.admin_token.is_none() && settings.retention.is_none());
    assert_eq!(settings.carrier_timeout, std::time::Duration::from_secs(20));
    assert_eq!(settings.poll_every, Duration::seconds(60));
    assert_eq!(settings.poll_batch, 500);
    assert_eq!(settings.poll_policy, PollPolicy::default());
    let empty = Settings::from_vars(vars(&[(var::POLL_BATCH, ""), (var::ADMIN_TOKEN, "")])).expect("valid");
    assert_eq!((empty.poll_batch, empty.admin_token), (500, None), "empty is unset");
}

#[test]
fn settings_are_read_with_their_units() {
    let settings = Settings::from_vars(vars(&[
        (var::SECRET_KEY, KEY),
        (var::WEBHOOK_SECRETS, "UPS=wh-one, fedex=two"),
        (var::ADMIN_TOKEN, "op"),
        (var::CARRIER_TIMEOUT, "5"),
        (var::POLL_EVERY, "300"),
        (var::POLL_BATCH, "50"),
        (var::RETENTION_DAYS, "90"),
        (var::CARRIER_ACCOUNTS, r#"{"fedex": {"client_id": "id", "client_secret": "s3cret-value"}}"#),
    ]))
    .expect("valid");
    assert!(settings.secret_key.is_some());
    assert_eq!(settings.webhook_secrets.0.get("ups").map(String::as_str), Some("wh-one"));
    assert_eq!(settings.webhook_secrets.0.get("fedex").map(String::as_str), Some("two"));
    assert_eq!(settings.admin_token, Some(AdminToken::of("op")));
    assert_eq!(settings.carrier_timeout, std::time::Duration::from_secs(5));
    assert_eq!(settings.poll_every, Duration::seconds(300));
    assert_eq!(settings.poll_batch, 50);
    assert_eq!(settings.retention, Some(Duration::days(90)));
    assert_eq!(settings.carrier_accounts["fedex"].0["client_id"], "id");
    assert!(!format!("{settings:?}").contains("s3cret-value") && !format!("{settings:?}").contains("wh-one"));
}

#[test]
fn poll_intervals_override_carriers_and_tenants() {
    let tenant = TenantId::random();
    let raw = format!("testing-courier=10,{tenant}:*=30,{tenant}:UPS=20");
    let settings = Settings::from_vars(vars(&[(var::POLL_INTERVALS, &raw)])).expect("valid");
    let policy = &settings.poll_policy;
    assert_eq!(policy.carrier_overrides["testing-courier"][&Tag::InTransit], Duration::seconds(10));
    assert_eq!(policy.tenant_overrides[&(tenant.clone(), None)][&Tag::Pending], Duration::seconds(30));
    assert_eq!(policy.tenant_overrides[&(tenant, Some("ups".into()))][&Tag::OutForDelivery], Duration::seconds(20));
}

#[test]
fn bad_settings_are_named_without_their_values() {
    assert_eq!(refused(&[(var::POLL_BATCH, "0")]), "PORCHLIGHT_POLL_BATCH is invalid: must be a whole number above 0");
    let bad_key = refused(&[(var::SECRET_KEY, "not-hex-secret")]);
    assert!(bad_key.starts_with("PORCHLIGHT_SECRET_KEY is invalid") && !bad_key.contains("not-hex-secret"));
    let misspelt = refused(&[(var::POLL_INTERVALS, "testing_courier=10")]);
    assert!(misspelt.contains("\"testing_courier\" is not a courier slug"), "{misspelt}");
    assert!(refused(&[(var::POLL_INTERVALS, "*=10")]).contains("needs a slug"));
    assert!(refused(&[(var::POLL_INTERVALS, "ups=soon")]).contains("\"soon\" is not a whole number of seconds"));
    let no_push = refused(&[(var::WEBHOOK_SECRETS, "dhl=abc")]);
    assert!(no_push.contains("no carrier takes webhooks as \"dhl\"") && !no_push.contains("abc"), "{no_push}");
    let partial = refused(&[(var::CARRIER_ACCOUNTS, r#"{"fedex": {"client_secret": "s3cret-value"}}"#)]);
    assert!(partial.starts_with("PORCHLIGHT_CARRIER_ACCOUNTS is invalid") && partial.contains("client_id"));
    assert!(!partial.contains("s3cret-value"));
}

#[test]
fn the_rate_limit_is_off_unless_set_and_at_least_one() {
    assert_eq!(Settings::from_vars(vars(&[])).expect("valid").rate_limit, None, "off by default");
    assert_eq!(Settings::from_vars(vars(&[(var::RATE_LIMIT, "")])).expect("valid").rate_limit, None);
    assert_eq!(Settings::from_vars(vars(&[(var::RATE_LIMIT, " 20 ")])).expect("valid").rate_limit, Some(20));
    assert!(refused(&[(var::RATE_LIMIT, "0")]).contains("PORCHLIGHT_RATE_LIMIT"));
    assert!(refused(&[(var::RATE_LIMIT, "fast")]).contains("PORCHLIGHT_RATE_LIMIT"));
}
