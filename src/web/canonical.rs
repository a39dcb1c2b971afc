//! Only paths in canonical form reach the router.
//!
//! The router matches the percent-decoded path, while anything that looks at the raw path (a
//! proxy rule, a log filter, a check written later) sees another spelling of it. Refusing every
//! path that has more than one spelling closes that gap for good: no percent-encoded
//! unreserved character (`%61` for `a`), no encoded `%`, `/`, `\` or control byte, no `.` or
//! `..` segment and no empty segment (`//`).
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::ResponseError;

use crate::web::errors::ApiError;

/// Why a path is not canonical, in words for the person who typed it.
pub fn check(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("the address must start with /");
    }
    if path.contains("//") {
        return Err("the address has an empty part (//)");
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err("the address has a . or .. part");
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    return Err("the address has a % that is not followed by two hex digits");
                };
                if byte.is_ascii_alphanumeric()
                    || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'%' | b'/' | b'\\')
                    || byte.is_ascii_control()
                {
                    return Err("the address spells a character in an encoded form");
                }
                i += 3;
            }
            b'\\' => return Err("the address has a backslash"),
            b if b.is_ascii_control() => return Err("the address has a control character"),
            _ => i += 1,
        }
    }
    Ok(())
}

/// Refuses non-canonical paths with 400 before routing, CSRF and access checks.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Err(reason) = check(req.uri().path()) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // Answer in the form the caller expects, judged on the decoded path.
    let decoded = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8_lossy();
    let response = if decoded.starts_with("/api/") {
        ApiError::status(StatusCode::BAD_REQUEST, reason).error_response()
    } else {
        crate::web::pages::message(
            StatusCode::BAD_REQUEST,
            "This address is not one of ours",
            &format!(
                "We could not open this page: {reason}. Check the address, or follow the link again."
            ),
        )
    };
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn plain_paths_pass() {
        for p in [
            "/",
            "/admin",
            "/admin/trials/ward-7/participants.csv",
            "/api/v1/trials",
            "/t/caf%C3%A9",
            "/techniques/",
        ] {
            assert_eq!(check(p), Ok(()), "{p}");
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for p in [
            "/%61pi/v1/trials",
            "/ap%69/v1/trials",
            "/a%64min/trials",
            "/%41dmin",
            "/%2561dmin",
            "/admin/%2e%2e/api",
            "/admin/./trials",
            "/admin/../api/v1/trials",
            "//admin",
            "/admin//trials",
            "/admin/trials%2Fx",
            "/admin/trials%2fx",
            "/t/x%00",
            "/t/x%",
            "/t/x%g1",
            "/t/x\\y",
            "/t/%7e",
        ] {
            assert!(check(p).is_err(), "{p} should be refused");
        }
    }
}
