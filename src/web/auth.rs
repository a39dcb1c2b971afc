//! Who is asking: organisers by session cookie (console) or bearer token (JSON API).
//!
//! The two guards here are mounted on the scopes that hold every organiser route (see
//! `web::admin::routes`), so they run on exactly the path the router matched and a handler
//! in those scopes cannot be reached without an organiser. `CurrentOrganiser` fails closed as
//! a second line: a handler that asks for it never runs without one.
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, CookieJar, Key, SameSite};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;

use crate::store::organisers::Organiser;
use crate::store::Store;
use crate::tokens;
use crate::web::access;
use crate::web::errors::ApiError;
use crate::web::WebSettings;

pub const SESSION_COOKIE: &str = "ct_session";
pub const SESSION_HOURS: i64 = 12;

/// The key that signs session cookies, shared by every instance through the database.
#[derive(Clone)]
pub struct SessionKey(pub Key);

impl SessionKey {
    pub async fn load(store: &Store) -> Result<Self, crate::store::StoreError> {
        let hex = crate::app::sessions::cookie_key(store).await?;
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        Ok(Self(Key::from(&bytes)))
    }
}

/// The signed-in organiser, put in the request by the middleware.
#[derive(Clone, Debug)]
pub struct CurrentOrganiser(pub Organiser);

impl FromRequest for CurrentOrganiser {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = req.extensions().get::<CurrentOrganiser>().cloned();
        std::future::ready(
            found.ok_or_else(|| ApiError::status(StatusCode::UNAUTHORIZED, "sign in first").into()),
        )
    }
}

/// Guard of the console scope: a signed-in organiser, or a redirect to the sign-in page.
pub async fn require_console(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let store = store_of(&req);
    match organiser_from_cookie(&req, &store).await {
        Ok(Some(organiser)) => {
            let path = req.match_info().unprocessed().to_string();
            match access::check(&store, &organiser, req.method(), &path).await {
                Ok(None) => {}
                Ok(Some(denied)) => {
                    return Ok(req.into_response(denied.page()).map_into_right_body())
                }
                Err(e) => {
                    let response = crate::web::pages::internal_error(e);
                    return Ok(req.into_response(response).map_into_right_body());
                }
            }
            req.extensions_mut().insert(CurrentOrganiser(organiser));
            Ok(next.call(req).await?.map_into_left_body())
        }
        Ok(None) => {
            // Only a GET comes back after signing in; the path has passed the canonical-path
            // check, so it is one of ours.
            let next_path = if req.method() == actix_web::http::Method::GET {
                format!(
                    "?next={}",
                    url::form_urlencoded::byte_serialize(req.path().as_bytes()).collect::<String>()
                )
            } else {
                String::new()
            };
            let response = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/admin/login{next_path}")))
                .finish();
            Ok(req.into_response(response).map_into_right_body())
        }
        Err(e) => {
            let response = crate::web::pages::internal_error(e);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// Guard of the organisers' JSON API scope: a valid bearer token, or 401.
pub async fn require_api(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let store = store_of(&req);
    let response = match organiser_from_bearer(&req, &store).await {
        Ok(Some(organiser)) => {
            let path = req.match_info().unprocessed().to_string();
            match access::check(&store, &organiser, req.method(), &path).await {
                Ok(None) => {
                    req.extensions_mut().insert(CurrentOrganiser(organiser));
                    return Ok(next.call(req).await?.map_into_left_body());
                }
                Ok(Some(denied)) => denied.json(),
                Err(e) => ApiError::Unexpected(e.into()).error_response(),
            }
        }
        Ok(None) => ApiError::status(
            StatusCode::UNAUTHORIZED,
            "this route needs an organiser's API token: Authorization: Bearer <token>",
        )
        .error_response(),
        Err(e) => ApiError::Unexpected(e.into()).error_response(),
    };
    Ok(req.into_response(response).map_into_right_body())
}

fn store_of(req: &ServiceRequest) -> Store {
    req.app_data::<Data<Store>>()
        .expect("store is registered")
        .get_ref()
        .clone()
}

async fn organiser_from_bearer(
    req: &ServiceRequest,
    store: &Store,
) -> Result<Option<Organiser>, crate::store::StoreError> {
    let Some(token) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| tokens::looks_like_token(t))
    else {
        return Ok(None);
    };
    crate::app::sessions::organiser_by_api_token(store, token, Utc::now()).await
}

async fn organiser_from_cookie(
    req: &ServiceRequest,
    store: &Store,
) -> Result<Option<Organiser>, crate::store::StoreError> {
    let Some(token) = session_token(req.request()) else {
        return Ok(None);
    };
    crate::app::sessions::organiser_by_session(store, &token, Utc::now()).await
}

/// The session token from the signed cookie, if the signature holds.
pub fn session_token(req: &HttpRequest) -> Option<String> {
    let key = req.app_data::<Data<SessionKey>>()?;
    let raw = req.cookie(SESSION_COOKIE)?;
    let mut jar = CookieJar::new();
    jar.add_original(raw);
    let verified = jar.signed(&key.0).get(SESSION_COOKIE)?;
    Some(verified.value().to_string()).filter(|t| tokens::looks_like_token(t))
}

/// A signed session cookie (or, with `None`, one that removes it).
pub fn session_cookie(req: &HttpRequest, token: Option<&str>) -> Cookie<'static> {
    let secure = req
        .app_data::<Data<WebSettings>>()
        .map(|s| s.secure_cookies)
        .unwrap_or(false);
    let key = req
        .app_data::<Data<SessionKey>>()
        .expect("session key is registered");
    let mut cookie = Cookie::build(SESSION_COOKIE, token.unwrap_or("").to_string())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    if token.is_none() {
        cookie.make_removal();
        return cookie;
    }
    cookie.set_max_age(actix_web::cookie::time::Duration::hours(SESSION_HOURS));
    let mut jar = CookieJar::new();
    jar.signed_mut(&key.0).add(cookie);
    jar.get(SESSION_COOKIE).expect("just added").clone()
}

pub use crate::app::accounts::passwords;
