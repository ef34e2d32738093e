//! Request bodies: JSON read strictly (one value, nothing after it, nested at most
//! [`MAX_DEPTH`] deep), with errors that name the field and the shape wanted in the API's own
//! words, never echoing what was sent; and query strings.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

/// The deepest nesting of arrays and objects a body may have. Shipments store what merchants
/// send; anything near serde_json's own limit (128) could be stored and never read back.
pub(crate) const MAX_DEPTH: usize = 32;

/// A query string as its handler's type, or AfterShip's 4008 naming what is wrong.
pub(crate) fn query_params<T>(
    query: Result<axum::extract::Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    query
        .map(|axum::extract::Query(params)| params)
        .map_err(|e| ApiError::bad_request(4008, format!("query is invalid: {e}")))
}

/// A whole-number query value: `default` when absent or empty (as every query value of the
/// APIs reads), else a number in `range`; anything else is refused naming `name`.
pub(crate) fn whole_number<T>(
    name: &str,
    raw: Option<&str>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, crate::domain::DomainError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match raw.filter(|raw| !raw.is_empty()) {
        None => Ok(default),
        Some(raw) => raw.parse::<T>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
            crate::domain::DomainError::invalid(
                name,
                format!("must be a whole number from {} to {}", range.start(), range.end()),
            )
        }),
    }
}

/// Parses a JSON body, naming the offending field on a type error.
pub(crate) fn parse_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(ApiError::too_large()),
        Err(rejection) => {
            return Err(ApiError::bad_request(4001, format!("request body could not be read: {rejection}")));
        }
    };
    // Only an object: serde would also fill a struct from an array, field by field.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request(4001, "request body must be a JSON object"));
    }
    if depth(&body) > MAX_DEPTH {
        return Err(ApiError::bad_request(4001, format!("invalid JSON: nested deeper than {MAX_DEPTH} levels")));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&body);
    let value = match serde_path_to_error::deserialize(&mut deserializer) {
        Ok(value) => value,
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            return Err(if inner.is_syntax() || inner.is_eof() {
                ApiError::bad_request(4001, format!("invalid JSON: {}", syntax(&inner)))
            } else if path == "." {
                ApiError::bad_request(4001, "request body must be a JSON object")
            } else {
                ApiError::bad_request(4008, format!("{path} {}", wanted(&inner)))
            });
        }
    };
    deserializer
        .end()
        .map_err(|_| ApiError::bad_request(4001, "invalid JSON: the body goes on after its JSON value"))?;
    Ok(value)
}

/// How deep arrays and objects nest in `json` (strings skipped), without parsing it.
fn depth(json: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in json {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Where a syntax error is, in words: serde_json's category and position, no content.
fn syntax(error: &serde_json::Error) -> String {
    let what = if error.is_eof() { "the body ends too early" } else { "not valid JSON" };
    format!("{what} (line {}, column {})", error.line(), error.column())
}

/// What a field should have been, from serde_json's `invalid type: ..., expected ...` or
/// `unknown variant ..., expected one of ...`, in the API's words; never the value sent.
fn wanted(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or_default();
    let Some((_, expected)) = message.split_once(", expected ") else {
        return "is invalid".to_owned();
    };
    if message.starts_with("unknown variant") {
        let values = expected.trim_start_matches("one of ").replace(" or ", ", ").replace('`', "");
        return format!("must be one of {values}");
    }
    let shape = match expected {
        e if e.starts_with("struct ") || e.starts_with("a map") || e == "map" => "an object",
        e if e.starts_with("a sequence") || e.starts_with("a tuple") || e.starts_with("tuple") => "an array",
        e if e.contains("string") || e.starts_with("a borrowed") => "a string",
        e if e.contains("bool") => "true or false",
        e if e.starts_with("u") || e.starts_with("i") && e.len() <= 5 => "a whole number",
        e if e.starts_with("f") && e.len() <= 3 || e.contains("number") || e.contains("integer") => "a number",
        e if e.starts_with("unit variant") || e.starts_with("variant") => "one of the documented values",
        _ => return "is invalid".to_owned(),
    };
    format!("must be {shape}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // read for their types only
    struct Sample {
        name: Option<String>,
        count: Option<u32>,
        tags: Option<Vec<String>>,
        nested: Option<Inner>,
        flag: Option<bool>,
        kind: Option<Kind>,
        any: Option<serde_json::Value>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        field: Option<String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        One,
        Two,
    }

    fn refused(body: &str) -> (u32, String) {
        let error = parse_body::<Sample>(Ok(Bytes::from(body.to_owned()))).expect_err("refused");
        (error.code(), error.message().to_owned())
    }

    #[test]
    fn wrong_types_name_the_field_and_the_shape_without_echoing_the_value() {
        let long = "x".repeat(100_000);
        let cases = [
            (format!(r#"{{"count": "{long}"}}"#), "count must be a whole number"),
            (r#"{"name": 5}"#.to_owned(), "name must be a string"),
            (r#"{"tags": "a"}"#.to_owned(), "tags must be an array"),
            (r#"{"nested": 1}"#.to_owned(), "nested must be an object"),
            (r#"{"nested": {"field": []}}"#.to_owned(), "nested.field must be a string"),
            (r#"{"flag": "yes"}"#.to_owned(), "flag must be true or false"),
            (format!(r#"{{"kind": "{long}"}}"#), "kind must be one of one, two"),
        ];
        for (body, expected) in cases {
            assert_eq!(refused(&body), (4008, expected.to_owned()));
        }
    }

    #[test]
    fn bodies_must_be_one_json_object_nested_within_the_limit() {
        assert_eq!(refused(r#"{"name": "a"} trailing"#).0, 4001);
        assert_eq!(refused(r#"{"name": "a"}{}"#).0, 4001);
        assert_eq!(refused("[1, 2]"), (4001, "request body must be a JSON object".to_owned()));
        assert!(refused(r#"{"name": "#).1.starts_with("invalid JSON: the body ends too early"));
        let deep = |levels: usize| format!(r#"{{"any": {}1{}}}"#, "[".repeat(levels), "]".repeat(levels));
        assert!(parse_body::<Sample>(Ok(Bytes::from(deep(MAX_DEPTH - 1)))).is_ok());
        assert_eq!(refused(&deep(MAX_DEPTH)).1, format!("invalid JSON: nested deeper than {MAX_DEPTH} levels"));
        assert_eq!(refused(&deep(126)).0, 4001, "the depth that once stored an unreadable shipment");
        let brackets_in_strings = format!(r#"{{"name": "{}"}}"#, "[{".repeat(100));
        assert!(parse_body::<Sample>(Ok(Bytes::from(brackets_in_strings))).is_ok());
    }
}
