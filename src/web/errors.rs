//! Errors as users see them: a named field and a plain message for what they can fix, an
//! opaque message with a request id for what they cannot (the cause chain goes to the log).
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The JSON body of every API error.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub field: Option<String>,
}

/// An error for the JSON API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Invalid {
        status: StatusCode,
        field: Option<&'static str>,
        message: String,
    },
    #[error("unexpected error")]
    Unexpected(#[source] anyhow::Error),
}

impl ApiError {
    pub fn field(status: StatusCode, field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status,
            field: Some(field),
            message: message.into(),
        }
    }

    pub fn status(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            status,
            field: None,
            message: message.into(),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        ApiError::Unexpected(e.into())
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid { status, .. } => *status,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            ApiError::Invalid { field, message, .. } => ErrorBody {
                error: message.clone(),
                field: field.map(str::to_string),
            },
            ApiError::Unexpected(cause) => {
                let reference = log_unexpected(cause);
                ErrorBody {
                    error: format!("something went wrong on our side (reference {reference})"),
                    field: None,
                }
            }
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}

/// Logs the whole cause chain and returns a short reference the user can quote. The log line
/// sits inside the request's span, which carries the request id.
pub fn log_unexpected(cause: &anyhow::Error) -> String {
    let reference = crate::web::short_reference();
    tracing::error!(reference = %reference, error = %crate::telemetry::error_chain(cause.as_ref()), "unexpected error");
    reference
}

/// Turns actix's own extractor failures (bad JSON, bad query, oversized body) into our shape.
pub fn json_config() -> actix_web::web::JsonConfig {
    actix_web::web::JsonConfig::default()
        .limit(64 * 1024)
        .error_handler(|err, _req| {
            use actix_web::error::JsonPayloadError;
            let (status, message) = match &err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the request body is too large".to_string(),
                ),
                JsonPayloadError::ContentType => (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the body as application/json".to_string(),
                ),
                JsonPayloadError::Deserialize(e) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("the JSON body is not valid: {e}"),
                ),
                other => (StatusCode::BAD_REQUEST, other.to_string()),
            };
            ApiError::status(status, message).into()
        })
}
