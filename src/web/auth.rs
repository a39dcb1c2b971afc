//! Who is asking: organisers by session cookie (console) or bearer token (JSON API).
//!
//! Access is denied by default: every path under `/admin` and `/api/v1/` needs an organiser
//! unless it is listed as public here, so a route added later is protected without anyone
//! having to remember it.
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
use crate::web::errors::ApiError;
use crate::web::WebSettings;

pub const SESSION_COOKIE: &str = "ct_session";
pub const SESSION_HOURS: i64 = 12;

/// Console pages anyone may open: signing in and the links that create accounts.
const PUBLIC_ADMIN: &[&str] = &["/admin/login", "/admin/setup/", "/admin/invite/"];
/// JSON routes for the public: the technique library and participants' own actions.
const PUBLIC_API: &[&str] = &["/api/v1/techniques", "/api/v1/public/"];

pub enum Access {
    Public,
    Console,
    Api,
}

/// Whether `path` is `prefix` itself or below it; a prefix ending in `/` matches only below.
fn is_under(path: &str, prefix: &str) -> bool {
    match prefix.strip_suffix('/') {
        Some(_) => path.starts_with(prefix),
        None => path == prefix || path.starts_with(&format!("{prefix}/")),
    }
}

pub fn access_for(path: &str) -> Access {
    if is_under(path, "/admin") {
        if PUBLIC_ADMIN.iter().any(|p| is_under(path, p)) {
            return Access::Public;
        }
        return Access::Console;
    }
    if is_under(path, "/api") {
        if PUBLIC_API.iter().any(|p| is_under(path, p)) {
            return Access::Public;
        }
        return Access::Api;
    }
    Access::Public
}

/// The key that signs session cookies, shared by every instance through the database.
#[derive(Clone)]
pub struct SessionKey(pub Key);

impl SessionKey {
    pub async fn load(store: &Store) -> Result<Self, crate::store::StoreError> {
        let hex = store
            .instance_secret("session_cookie_key", || {
                format!("{}{}", tokens::new_token(), tokens::new_token())
            })
            .await?;
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

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let access = access_for(req.path());
    if matches!(access, Access::Public) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let store = req
        .app_data::<Data<Store>>()
        .expect("store is registered")
        .clone();
    let found = match access {
        Access::Api => organiser_from_bearer(&req, &store).await,
        _ => organiser_from_cookie(&req, &store).await,
    };
    match found {
        Ok(Some(organiser)) => {
            req.extensions_mut().insert(CurrentOrganiser(organiser));
            Ok(next.call(req).await?.map_into_left_body())
        }
        Ok(None) => {
            let response = match access {
                Access::Api => ApiError::status(
                    StatusCode::UNAUTHORIZED,
                    "this route needs an organiser's API token: Authorization: Bearer <token>",
                )
                .error_response(),
                _ => {
                    let next_path = if req.method() == actix_web::http::Method::GET {
                        format!(
                            "?next={}",
                            url::form_urlencoded::byte_serialize(req.path().as_bytes())
                                .collect::<String>()
                        )
                    } else {
                        String::new()
                    };
                    HttpResponse::SeeOther()
                        .insert_header((header::LOCATION, format!("/admin/login{next_path}")))
                        .finish()
                }
            };
            Ok(req.into_response(response).map_into_right_body())
        }
        Err(e) => {
            let response = ApiError::Unexpected(e.into()).error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
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
    store
        .use_api_token(&tokens::hash_token(token), Utc::now())
        .await
}

async fn organiser_from_cookie(
    req: &ServiceRequest,
    store: &Store,
) -> Result<Option<Organiser>, crate::store::StoreError> {
    let Some(token) = session_token(req.request()) else {
        return Ok(None);
    };
    store
        .find_session_organiser(&tokens::hash_token(&token), Utc::now())
        .await
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

/// Passwords: argon2id with the crate's recommended parameters.
pub mod passwords {
    use argon2::password_hash::{
        rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
    };
    use argon2::Argon2;

    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    const COMMON: &str = include_str!("common_passwords.txt");

    /// Refuses short, over-long and well-known passwords with a reason to show at the field.
    pub fn check_strength(password: &str, email: &str) -> Result<(), String> {
        let n = password.chars().count();
        if n < MIN_CHARS {
            return Err(format!("use at least {MIN_CHARS} characters"));
        }
        if n > MAX_CHARS {
            return Err(format!("use at most {MAX_CHARS} characters"));
        }
        let lower = password.to_lowercase();
        if COMMON.lines().any(|p| p == lower) || lower == email.to_lowercase() {
            return Err("this password is too common; choose another".into());
        }
        if password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(' '))
        {
            return Err("this password is too easy to guess; choose another".into());
        }
        Ok(())
    }

    pub fn hash(password: &str) -> Result<String, argon2::password_hash::Error> {
        let salt = SaltString::generate(&mut OsRng);
        Ok(Argon2::default()
            .hash_password(password.as_bytes(), &salt)?
            .to_string())
    }

    pub fn verify(password: &str, stored: &str) -> bool {
        PasswordHash::new(stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }

    /// A hash to verify against when the account does not exist, so that a wrong address
    /// takes as long as a wrong password.
    pub fn decoy_hash() -> &'static str {
        static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        DECOY.get_or_init(|| hash("decoy password that matches nothing").expect("hashing works"))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn strength_rules() {
            assert!(check_strength("short", "a@b.org").is_err());
            assert!(check_strength("password123", "a@b.org").is_err());
            assert!(check_strength("aaaaaaaaaaaa", "a@b.org").is_err());
            assert!(check_strength("correct horse battery", "a@b.org").is_ok());
        }

        #[test]
        fn hashes_verify_only_their_password() {
            let h = hash("correct horse battery").unwrap();
            assert!(h.starts_with("$argon2id$"));
            assert!(verify("correct horse battery", &h));
            assert!(!verify("wrong horse battery", &h));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_protected_by_default() {
        assert!(matches!(access_for("/admin"), Access::Console));
        assert!(matches!(access_for("/admin/anything/new"), Access::Console));
        assert!(matches!(access_for("/admin/login"), Access::Public));
        assert!(matches!(access_for("/admin/setup/abc"), Access::Public));
        assert!(matches!(access_for("/administrator"), Access::Public));
        assert!(matches!(access_for("/api/v1/trials"), Access::Api));
        assert!(matches!(
            access_for("/api/v1/techniques/peer-assist"),
            Access::Public
        ));
        assert!(matches!(access_for("/api/v1/techniquesx"), Access::Api));
        assert!(matches!(access_for("/api/v2/anything"), Access::Api));
        assert!(matches!(access_for("/t/some-trial"), Access::Public));
    }
}
