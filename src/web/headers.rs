//! Security headers on every response, error pages and 404s included, and the bodies actix
//! leaves empty (an unknown method on a known address).
//!
//! Wired outermost in `startup.rs`, so it also sees what the sign-in and CSRF middleware
//! answer on their own. Whether a response may be stored is decided by the route pattern the
//! router matched, which is worked out from the decoded path: a percent-encoded spelling of an
//! address gets the same headers as the plain one, and a path that matches no route gets the
//! strictest ones.
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{HttpResponse, ResponseError};

use crate::web::WebSettings;

/// Only the site's own stylesheet, images and form targets; no script, no framing.
const POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                      form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The projector display runs its countdown, turns its pages and fetches its updates with the
/// site's own script file, and an organiser may frame it in a page of this site.
const DISPLAY_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                              style-src 'self'; img-src 'self' data:; form-action 'self'; \
                              base-uri 'none'; frame-ancestors 'self'";

/// A person's event page fetches its updates with the same script; nobody frames it.
const PHONE_POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                            style-src 'self'; img-src 'self' data:; form-action 'self'; \
                            base-uri 'none'; frame-ancestors 'none'";

pub const DISPLAY_ROUTE: &str = "/admin/trials/{slug}/display";
pub const PHONE_ROUTE: &str = "/e/{token}";

/// Routes whose answers anyone may keep: no token in the address, no sign-in, no form that
/// carries a CSRF token. Every other response, including ones no route matched and routes added
/// later, is marked `no-store`, so a page behind a token or a sign-in cannot be left in a
/// shared cache or the browser's history by omission.
const STORABLE_ROUTES: &[&str] = &[
    crate::web::assets::STYLESHEET_ROUTE,
    crate::web::assets::LIVE_SCRIPT_ROUTE,
    "/techniques",
    "/techniques/choose",
    "/techniques/{slug}",
    "/api/v1/techniques",
    "/api/v1/techniques/choose",
    "/api/v1/techniques/{slug}",
    "/api/v1/openapi.json",
    "/t/{slug}/poster",
    "/healthz",
    "/readyz",
];

/// A year: browsers then only ever reach the site over https once they have seen it so.
const HSTS: &str = "max-age=31536000";

/// Sent with a 429 whose handler did not say how long to wait.
const DEFAULT_RETRY_AFTER_SECONDS: &str = "60";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let https = req
        .app_data::<Data<WebSettings>>()
        .is_some_and(|s| s.base_url.scheme() == "https");
    // The request cannot be kept for later: routing needs it to be the only copy.
    let mut response = match next.call(req).await {
        Ok(response) => response.map_into_boxed_body(),
        // An error that escapes the inner services is rendered further out, where this layer
        // cannot reach the response; it is wrapped so that its rendering adds the headers.
        Err(error) => return Err(WithHeaders { error, https }.into()),
    };
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && body_is_empty(&response) {
        let request = response.request().clone();
        response = response.into_response(crate::web::not_found::method_not_allowed(&request));
    }
    let route = response.request().match_pattern();
    let status = response.status();
    add_headers(response.headers_mut(), route.as_deref(), https, status);
    Ok(response)
}

fn add_headers(headers: &mut HeaderMap, route: Option<&str>, https: bool, status: StatusCode) {
    let policy = match route {
        Some(DISPLAY_ROUTE) => DISPLAY_POLICY,
        Some(PHONE_ROUTE) => PHONE_POLICY,
        _ => POLICY,
    };
    set(headers, header::CONTENT_SECURITY_POLICY, policy);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    // Links carry tokens (/m/..., /e/...): no address of this site may leave in a Referer.
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !route.is_some_and(|r| STORABLE_ROUTES.contains(&r)) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if https {
        set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    if status == StatusCode::TOO_MANY_REQUESTS && !headers.contains_key(header::RETRY_AFTER) {
        set(headers, header::RETRY_AFTER, DEFAULT_RETRY_AFTER_SECONDS);
    }
}

/// An error from the inner services, rendered as before plus the headers (with no route
/// known, so the strictest ones).
#[derive(Debug)]
struct WithHeaders {
    error: actix_web::Error,
    https: bool,
}

impl std::fmt::Display for WithHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for WithHeaders {
    fn status_code(&self) -> StatusCode {
        self.error.as_response_error().status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let mut response = self.error.error_response();
        let status = response.status();
        add_headers(response.headers_mut(), None, self.https, status);
        response
    }
}

fn set(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

fn body_is_empty(response: &ServiceResponse<BoxBody>) -> bool {
    matches!(
        response.response().body().size(),
        actix_web::body::BodySize::None | actix_web::body::BodySize::Sized(0)
    )
}
