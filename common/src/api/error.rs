//! AfterShip's error envelope: `{"meta": {"code", "message", "type"}, "data": {}}`.
//!
//! Codes are AfterShip's meta codes (the SDK's `error/meta_code.ts`): 4001 invalid JSON, 4003
//! tracking already exists, 4004 tracking does not exist, 4005 tracking number invalid, 4007
//! tracking number required, 4008 value invalid, 4009 value required, 4010 slug invalid, 4012
//! courier not detected, 4013 retrack not allowed, 4015 id invalid, 401, 404, 429, 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::AppError;
use crate::domain::Violation;

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
    data: serde_json::Value,
    /// Field errors, as the Returns API lists them in `meta.errors`.
    errors: Vec<Violation>,
    /// Shaped as the Returns API answers (`data: null`, `meta.errors`).
    returns: bool,
}

impl ApiError {
    /// A 400 with `code` and `message`.
    pub fn bad_request(code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// A 404 for a path that does not exist.
    pub fn no_route() -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: 404,
            message: "the requested resource does not exist".into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// A 405 for a path that exists without this method.
    pub fn method_not_allowed() -> Self {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: 405,
            message: "method not allowed".into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// A 413 for a body over the limit.
    pub fn too_large() -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: 413,
            message: "request body is too large".into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// A 408 for a body that did not arrive in time.
    pub fn body_timeout() -> Self {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: 408,
            message: "the request body did not arrive in time".into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// A 429 for a key over its rate (meta code 429, `TooManyRequests`).
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: 429,
            message: message.into(),
            data: json!({}),
            errors: Vec::new(),
            returns: false,
        }
    }

    /// The same error in the Returns API's shape.
    pub fn in_returns_shape(self) -> Self {
        ApiError { returns: true, data: serde_json::Value::Null, code: self.code * 100, ..self }
    }

    /// The meta code, for tests and logs.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// The message, for tests and logs.
    pub fn message(&self) -> &str {
        &self.message
    }

    fn meta_type(&self) -> &'static str {
        match self.status.as_u16() {
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "NotFound",
            408 => "RequestTimeout",
            409 => "Conflict",
            422 => "UnprocessableEntity",
            429 => "TooManyRequests",
            500.. => "InternalError",
            _ => "BadRequest",
        }
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        let (status, code) = match &error {
            AppError::Invalid(invalid) => (
                StatusCode::BAD_REQUEST,
                match invalid.field.as_str() {
                    "tracking_number" => 4005,
                    "slug" => 4010,
                    "id" => 4015,
                    _ => 4008,
                },
            ),
            AppError::Required("tracking_number") => (StatusCode::BAD_REQUEST, 4007),
            AppError::Required(_) => (StatusCode::BAD_REQUEST, 4009),
            AppError::UnknownCourier(_) => (StatusCode::BAD_REQUEST, 4010),
            AppError::CourierNotDetected => (StatusCode::BAD_REQUEST, 4012),
            AppError::Duplicate(_) => (StatusCode::BAD_REQUEST, 4003),
            AppError::NotFound => (StatusCode::NOT_FOUND, 4004),
            AppError::ConnectionNotFound | AppError::Missing(_) => (StatusCode::NOT_FOUND, 404),
            AppError::RetrackNotAllowed => (StatusCode::BAD_REQUEST, 4013),
            AppError::Unauthorized => (StatusCode::UNAUTHORIZED, 401),
            AppError::Forbidden => (StatusCode::FORBIDDEN, 403),
            AppError::Busy => (StatusCode::SERVICE_UNAVAILABLE, 503),
            AppError::ReturnRefused(_) | AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, 42200),
            AppError::NotReceivable(refused) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                match refused {
                    crate::domain::ReceiveRefused::TooMany => 42213,
                    crate::domain::ReceiveRefused::GradingTooMany => 42247,
                    crate::domain::ReceiveRefused::NotInReturn => 42225,
                },
            ),
            AppError::ReturnNotAllowed(_) => (StatusCode::CONFLICT, 40900),
            AppError::ReturnInProgress => (StatusCode::TOO_MANY_REQUESTS, 42900),
            AppError::Unavailable(source) => {
                tracing::error!(error = %source, "dependency unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, 503)
            }
            AppError::Corrupt(what) => {
                tracing::error!(error = %what, "stored data unreadable");
                (StatusCode::INTERNAL_SERVER_ERROR, 500)
            }
            AppError::Internal(what) => {
                tracing::error!(error = %what, "internal error");
                (StatusCode::INTERNAL_SERVER_ERROR, 500)
            }
        };
        let message = if status.is_server_error() && code == 500 { "internal error".to_owned() } else { message };
        let data = match &error {
            AppError::Duplicate(id) => json!({ "id": id.as_str() }),
            _ => json!({}),
        };
        let errors = match error {
            AppError::ReturnRefused(violations) => violations,
            _ => Vec::new(),
        };
        ApiError { status, code, message, data, errors, returns: false }
    }
}

impl ApiError {
    /// The error as the Returns API answers it: AfterShip Returns' codes (`40400` "Return not
    /// found", `42200` with every field error in `meta.errors`, `40900`, `42900`), `data: null`.
    pub fn returns(error: AppError) -> Self {
        let field = |path: &str, info: String| vec![Violation { path: path.to_owned(), info }];
        let mut answer = match error {
            AppError::Missing("return") => ApiError {
                status: StatusCode::NOT_FOUND,
                code: 40400,
                message: "Return not found".into(),
                data: json!(null),
                errors: Vec::new(),
                returns: true,
            },
            AppError::Invalid(invalid) => ApiError::unprocessable(field(&invalid.field, invalid.reason)),
            AppError::Required(name) => ApiError::unprocessable(field(name, format!("{name} is a required field"))),
            AppError::ReturnRefused(violations) => ApiError::unprocessable(violations),
            other => {
                let mut answer = ApiError::from(other);
                // The Returns API writes HTTP statuses as five digits (401 is 40100).
                if answer.code < 1000 {
                    answer.code *= 100;
                }
                answer
            }
        };
        answer.returns = true;
        answer
    }

    /// A body the Returns API cannot read: `42200` naming the body.
    pub fn into_returns(self) -> Self {
        if self.returns || self.status != StatusCode::BAD_REQUEST {
            return ApiError { returns: true, ..self };
        }
        ApiError::unprocessable(vec![Violation { path: "body".into(), info: self.message }])
    }

    fn unprocessable(errors: Vec<Violation>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: 42200,
            message: "Unprocessable entity".into(),
            data: json!(null),
            errors,
            returns: true,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(serde::Serialize)]
        struct Meta<'a> {
            code: u32,
            message: &'a str,
            r#type: &'static str,
            #[serde(skip_serializing_if = "<[Violation]>::is_empty")]
            errors: &'a [Violation],
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            meta: Meta<'a>,
            data: &'a serde_json::Value,
        }
        let data = if self.returns { &serde_json::Value::Null } else { &self.data };
        let meta = Meta { code: self.code, message: &self.message, r#type: self.meta_type(), errors: &self.errors };
        let body = Body { meta, data };
        (self.status, axum::Json(body)).into_response()
    }
}
