//! What every carrier API answers alike: the shared reading of 401/403, 429 and 5xx, and of a
//! tracking request's answer. The HTTP port itself is [`crate::ports::HttpClient`].

use crate::ports::{HttpError, HttpResponse};

/// Maps the statuses every carrier API shares onto [`super::CarrierError`]: 401/403
/// unauthorized, 429 rate limited (with Retry-After seconds), 5xx unavailable. Other statuses
/// are the adapter's to read.
pub fn common_failure(response: &HttpResponse) -> Option<super::CarrierError> {
    use super::CarrierError;
    match response.status {
        401 | 403 => Some(CarrierError::Unauthorized),
        429 => Some(CarrierError::RateLimited {
            retry_after_seconds: response.header("retry-after").and_then(|v| v.trim().parse().ok()),
        }),
        500..=599 => Some(CarrierError::Unavailable(format!("status {}", response.status))),
        _ => None,
    }
}

/// Reads the answer to a tracking request: the body on 200, `None` when the carrier does not
/// know the number yet (404), a [`common_failure`] or `Malformed` naming `what` otherwise.
pub fn tracking_body<'a>(response: &'a HttpResponse, what: &str) -> Result<Option<&'a [u8]>, super::CarrierError> {
    if let Some(failure) = common_failure(response) {
        return Err(failure);
    }
    match response.status {
        200 => Ok(Some(&response.body)),
        404 => Ok(None),
        other => Err(super::CarrierError::Malformed(format!("{what}: status {other}"))),
    }
}

impl From<HttpError> for super::CarrierError {
    fn from(error: HttpError) -> Self {
        super::CarrierError::Unavailable(error.to_string())
    }
}
