//! Protection against cross-site request forgery for every form, enforced in one place.
//!
//! Each browser gets a random token in a `SameSite=Strict` cookie; every form carries the same
//! value in a hidden `csrf_token` field (multipart forms in the action's query string). A POST
//! whose token does not match the cookie is refused before any handler runs, so a form added
//! later cannot forget the check. The JSON API is exempt: it authenticates with bearer tokens
//! or not at all, never with cookies.
//!
//! The cookie is set only on responses whose handler asked for the token (a page with a
//! form): `/healthz`, the JSON API, assets and pages without forms neither make a token nor
//! send a cookie.
use std::cell::RefCell;
use std::rc::Rc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::tokens;

pub const COOKIE: &str = "ct_csrf";
pub const FIELD: &str = "csrf_token";

/// The token for forms on the page being rendered.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

impl FromRequest for CsrfToken {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = req.extensions().get::<CsrfSlot>().map(CsrfSlot::token);
        std::future::ready(token.ok_or_else(|| {
            actix_web::error::ErrorInternalServerError("CSRF middleware is not installed")
        }))
    }
}

impl std::fmt::Display for CsrfToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The request's token: the browser's own when its cookie holds one, otherwise one made the
/// first time a handler asks for it (and then sent back in a cookie).
#[derive(Clone)]
struct CsrfSlot {
    existing: Option<String>,
    issued: Rc<RefCell<Option<String>>>,
}

impl CsrfSlot {
    fn token(&self) -> CsrfToken {
        if let Some(existing) = &self.existing {
            return CsrfToken(existing.clone());
        }
        let mut issued = self.issued.borrow_mut();
        CsrfToken(issued.get_or_insert_with(tokens::new_token).clone())
    }
}

/// Paths whose POSTs do not come from our forms.
pub fn is_exempt(path: &str) -> bool {
    path.starts_with("/api/") || is_one_click_unsubscribe(path)
}

/// `/u/{token}/one-click`: mail providers POST there without cookies (RFC 8058); the token in
/// the path is what authorises it, and all it can do is stop emails.
fn is_one_click_unsubscribe(path: &str) -> bool {
    path.strip_prefix("/u/")
        .and_then(|rest| rest.strip_suffix("/one-click"))
        .is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let existing = req
        .cookie(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|v| tokens::looks_like_token(v));
    let issued = Rc::new(RefCell::new(None));
    req.extensions_mut().insert(CsrfSlot {
        existing: existing.clone(),
        issued: issued.clone(),
    });

    if req.method() == Method::POST && !is_exempt(req.match_info().as_str()) {
        let submitted = submitted_token(&mut req).await?;
        let valid =
            matches!((&existing, &submitted), (Some(c), Some(s)) if tokens::constant_time_eq(c, s));
        if !valid {
            let response = crate::web::pages::message(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "For your safety the form could not be accepted. Go back, reload the page and send it again.",
            );
            return Ok(req.into_response(response).map_into_right_body());
        }
    }

    let secure = secure_cookies(req.request());
    let mut res = next.call(req).await?;
    // A token made for this response's forms; none when no handler asked for one.
    let made = issued.borrow_mut().take();
    if let Some(token) = made.filter(|_| existing.is_none()) {
        res.response_mut().add_cookie(&cookie(token, secure))?;
    }
    Ok(res.map_into_left_body())
}

fn secure_cookies(req: &HttpRequest) -> bool {
    req.app_data::<actix_web::web::Data<crate::web::WebSettings>>()
        .map(|s| s.secure_cookies)
        .unwrap_or(false)
}

fn cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish()
}

/// A cookie with a new token, for the response that signs someone in: a token planted or seen
/// before signing in is worth nothing afterwards.
pub fn fresh_cookie(req: &HttpRequest) -> Cookie<'static> {
    cookie(tokens::new_token(), secure_cookies(req))
}

/// Reads the token from a urlencoded body (and puts the body back for the handler), or from
/// the query string for multipart uploads.
async fn submitted_token(req: &mut ServiceRequest) -> Result<Option<String>, actix_web::Error> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = req.extract::<Bytes>().await?;
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        req.set_payload(Payload::from(body));
        return Ok(fields.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v));
    }
    let query: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    Ok(query.into_iter().find(|(k, _)| k == FIELD).map(|(_, v)| v))
}
