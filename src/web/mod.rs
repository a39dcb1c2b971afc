//! The HTTP surface: the route table, request logging and errors. Handlers parse the request,
//! call one `app::` function and render the answer (an HTML page with `PageError`, or JSON
//! with `ApiError`); no rule of the product lives here.
//!
//! May import: `app` (for every action), `links`, `config`, `tokens`, `telemetry`, `domain`
//! (to parse input) and the row *types* of `store` that `app` hands out. Never calls a
//! `Store` method nor writes SQL (tests/api/architecture.rs checks both). Nothing imports `web`
//! but `startup` and `cli`.
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{web, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

pub mod access;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod canonical;
pub mod client_address;
pub mod csrf;
pub mod csv_file;
pub mod dates;
pub mod errors;
pub mod headers;
pub mod health;
pub mod home;
pub mod input_guard;
pub mod library;
pub mod metrics;
pub mod not_found;
pub mod openapi;
pub mod pages;
pub mod public;
pub mod trial_in_path;

/// What handlers need to know about how the service is reached.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// The public address links in emails and pages point to.
    pub base_url: url::Url,
    /// Cookies are marked Secure when the public address is https.
    pub secure_cookies: bool,
    /// Whether emails really leave (otherwise they are written as files).
    pub smtp_configured: bool,
    /// The sender of every email (MAIL_FROM), the organiser of calendar invitations; None
    /// means the default derived from `base_url`.
    pub mail_from: Option<lettre::message::Mailbox>,
}

impl WebSettings {
    pub fn new(base_url: url::Url, smtp_configured: bool) -> Self {
        let secure_cookies = base_url.scheme() == "https";
        Self {
            base_url,
            secure_cookies,
            smtp_configured,
            mail_from: None,
        }
    }

    pub fn with_mail_from(mut self, mail_from: lettre::message::Mailbox) -> Self {
        self.mail_from = Some(mail_from);
        self
    }

    /// The organiser named in calendar invitations: the sender of the emails.
    pub fn organiser(&self) -> crate::mail::pairing::Organiser {
        match &self.mail_from {
            Some(m) => crate::mail::pairing::Organiser::from_mailbox(m),
            None => crate::mail::pairing::Organiser::default_for(&self.base_url),
        }
    }
}

/// Every route of the service. Tests build the app from this same function.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(errors::json_config())
        .app_data(not_found::path_config())
        .app_data(not_found::query_config())
        .service(health::healthz)
        .service(health::readyz)
        .service(home::home)
        .service(metrics::metrics)
        .service(assets::stylesheet)
        .service(assets::live_script)
        .configure(library::routes)
        // Before the organiser scope, whose guard would refuse it: the document holds no data.
        .service(openapi::openapi_json)
        // Public routes first: the organiser scopes below refuse whatever reaches them.
        .configure(public::routes)
        .configure(admin::routes)
        .default_service(web::to(not_found::not_found));
}

/// Request spans name the route pattern, never the concrete path or query string: paths
/// carry tokens from emailed links, and addresses and user agents are personal data.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "(no route)".to_string());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!("request", method = %request.method(), route = %route, request_id = %request_id)
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let _entered = span.enter();
        match outcome {
            Ok(response) => tracing::info!(status = response.status().as_u16(), "served"),
            Err(error) => tracing::info!(
                status = error.as_response_error().status_code().as_u16(),
                "served"
            ),
        }
    }
}

pub use crate::telemetry::short_reference;
