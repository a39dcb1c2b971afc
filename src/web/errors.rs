//! Errors as users see them: a named field and a plain message for what they can fix, an
//! opaque message with a request id for what they cannot (the cause chain goes to the log).
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The JSON body of every API error.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong, in words for people.
    #[schema(example = "enter a name")]
    pub error: String,
    /// The input at fault (a body field, `slug`, `token`), or null when it is not one field.
    #[schema(example = "name")]
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

/// An error for an HTML page, so that page handlers can use `?` as the API's do. What the user
/// can act on (an unknown address, a refusal) gets its own page; anything else is ours and gets
/// the one internal-error page, with the cause chain in the log.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found: {title}")]
    NotFound {
        title: &'static str,
        message: &'static str,
    },
    #[error("forbidden: {title}")]
    Forbidden {
        title: &'static str,
        message: &'static str,
    },
    /// Something the user asked for that cannot be done, in words they can act on.
    #[error("refused: {title}")]
    Refused {
        status: StatusCode,
        title: &'static str,
        message: String,
    },
    #[error("unexpected error")]
    Unexpected(#[source] anyhow::Error),
}

impl PageError {
    /// The trial in the path does not exist (or is not this organiser's: the same answer).
    pub fn no_such_trial() -> Self {
        PageError::NotFound {
            title: "No such trial",
            message: "There is no trial at this address.",
        }
    }

    pub fn admins_only() -> Self {
        PageError::Forbidden {
            title: "For admins only",
            message: "Only an admin can do this. Ask one of your admins if you need it done.",
        }
    }

    /// A refusal with its own status, title and words, on the short message page.
    pub fn refused(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError::Refused {
            status,
            title,
            message: message.into(),
        }
    }

    pub fn unexpected(cause: impl Into<anyhow::Error>) -> Self {
        PageError::Unexpected(cause.into())
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::Unexpected(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Unexpected(e.into())
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::Unexpected(e)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound { .. } => StatusCode::NOT_FOUND,
            PageError::Forbidden { .. } => StatusCode::FORBIDDEN,
            PageError::Refused { status, .. } => *status,
            PageError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::NotFound { title, message } => {
                crate::web::pages::not_found_page(StatusCode::NOT_FOUND, title, message)
            }
            PageError::Forbidden { title, message } => {
                crate::web::pages::message(StatusCode::FORBIDDEN, title, message)
            }
            PageError::Refused {
                status,
                title,
                message,
            } => crate::web::pages::message(*status, title, message),
            PageError::Unexpected(cause) => {
                let reference = log_unexpected(cause);
                crate::web::pages::message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    INTERNAL_TITLE,
                    &internal_message(&reference),
                )
            }
        }
    }
}

pub use crate::web::pages::{internal_message, log_unexpected, INTERNAL_TITLE};

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
