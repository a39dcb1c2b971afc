//! One check in front of every handler: the text a request carries in its query string, its
//! urlencoded form or its JSON body is valid UTF-8 without NUL. Otherwise it is answered 422
//! with the field named, before any handler runs.
//!
//! Why here and not only in each handler: PostgreSQL text cannot hold NUL, so a NUL that
//! reaches any query (a search box, a sign-in address, a token) is a 500 there and is silently
//! stored on SQLite; and the usual form decoding turns bytes that are not UTF-8 into "\u{fffd}"
//! without telling anyone. One check covers every form and query a later change adds. Other
//! control characters are harmless to the databases and are left to the domain types, which
//! refuse them (and NUL again, and invisible formatting) at the field, so that a form comes
//! back with the person's values and a message next to the field.
//!
//! Multipart uploads (CSV imports) are left to the importer, which checks every cell. Paths are
//! checked where non-canonical paths are refused.
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use percent_encoding::percent_decode;

use crate::web::errors::ErrorBody;

/// A field whose value (or name) cannot be taken as text.
#[derive(Debug, PartialEq, Eq)]
pub struct BadField {
    /// The field's name as sent, made printable, for the message.
    pub field: String,
    pub problem: Problem,
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Problem {
    NotUtf8,
    Nul,
}

impl BadField {
    fn message(&self) -> String {
        match self.problem {
            Problem::NotUtf8 => format!(
                "the field \"{}\" is not valid text (its bytes are not UTF-8)",
                self.field
            ),
            Problem::Nul => format!(
                "the field \"{}\" contains a NUL character, which is not text; remove it",
                self.field
            ),
        }
    }
}

fn has_nul(s: &str) -> bool {
    s.contains('\0')
}

/// A field name fit to show back: lossy, without control characters, not too long.
fn printable_name(raw: &[u8]) -> String {
    let name: String = String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    if name.is_empty() {
        "(unnamed)".to_string()
    } else {
        name
    }
}

/// Decodes one `application/x-www-form-urlencoded` component strictly.
fn decode_component(raw: &[u8]) -> Vec<u8> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&spaced).collect()
}

/// The first field of a urlencoded text (a query string or a form body) that is not clean
/// text. The name is checked as well as the value.
pub fn check_urlencoded(encoded: &[u8]) -> Option<BadField> {
    for pair in encoded.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = decode_component(raw_name);
        let field = printable_name(&name);
        for part in [name, decode_component(raw_value)] {
            let problem = match std::str::from_utf8(&part) {
                Err(_) => Some(Problem::NotUtf8),
                Ok(text) if has_nul(text) => Some(Problem::Nul),
                Ok(_) => None,
            };
            if let Some(problem) = problem {
                return Some(BadField { field, problem });
            }
        }
    }
    None
}

/// The first string (or key) in a JSON document that holds a NUL, named by its
/// path such as `name` or `participants.2.email`. JSON text is UTF-8 by definition, so that
/// is left to the parser.
pub fn check_json(value: &serde_json::Value) -> Option<BadField> {
    fn walk(value: &serde_json::Value, path: &str) -> Option<String> {
        let join = |key: &str| {
            if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            }
        };
        match value {
            serde_json::Value::String(s) if has_nul(s) => Some(path.to_string()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, item)| walk(item, &join(&i.to_string()))),
            serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
                if has_nul(key) {
                    Some(join(key))
                } else {
                    walk(item, &join(key))
                }
            }),
            _ => None,
        }
    }
    walk(value, "").map(|path| BadField {
        field: printable_name(path.as_bytes()),
        problem: Problem::Nul,
    })
}

fn refuse(path: &str, bad: &BadField) -> HttpResponse {
    if path.starts_with("/api/") {
        HttpResponse::UnprocessableEntity().json(ErrorBody {
            error: bad.message(),
            field: Some(bad.field.clone()),
        })
    } else {
        crate::web::pages::message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Some of what you sent could not be read",
            &format!(
                "{}. Go back, correct it and try again.",
                capitalised(&bad.message())
            ),
        )
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Larger than every form and JSON limit of the handlers (16 and 64 KiB), and within the
/// body extractor's own default limit (256 KiB).
const MAX_CHECKED_BODY: usize = 128 * 1024;

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let mut bad = check_urlencoded(req.query_string().as_bytes());
    if bad.is_none() {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_form = content_type.starts_with("application/x-www-form-urlencoded");
        let is_json = content_type.starts_with("application/json");
        // A body larger than any handler takes is left to the handler, which refuses it with
        // its own 413 page or JSON error.
        let oversized = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > MAX_CHECKED_BODY);
        if (is_form || is_json) && !oversized {
            let body = req.extract::<Bytes>().await?;
            bad = if is_form {
                check_urlencoded(&body)
            } else {
                // Malformed JSON is the handler's to report, with its own message.
                serde_json::from_slice(&body)
                    .ok()
                    .and_then(|value| check_json(&value))
            };
            req.set_payload(Payload::from(body));
        }
    }
    if let Some(bad) = bad {
        let response = refuse(req.path(), &bad);
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_forms_pass() {
        assert_eq!(
            check_urlencoded(b"name=Ada+Lovelace&intro=line%0D%0Anext%09tab&empty=&flag"),
            None
        );
        assert_eq!(check_urlencoded("name=Zo%C3%AB".as_bytes()), None);
    }

    #[test]
    fn nul_and_bad_utf8_are_named() {
        assert_eq!(
            check_urlencoded(b"a=1&name=Ada%00"),
            Some(BadField {
                field: "name".into(),
                problem: Problem::Nul
            })
        );
        assert_eq!(
            check_urlencoded(b"a=1&name=%C3%28"),
            Some(BadField {
                field: "name".into(),
                problem: Problem::NotUtf8
            })
        );
        assert_eq!(
            check_urlencoded(b"na%00me=x").map(|b| b.problem),
            Some(Problem::Nul)
        );
        assert_eq!(
            check_urlencoded(b"q=%1B%5B31m"),
            None,
            "other control characters are the domain's to refuse, at the field"
        );
    }

    #[test]
    fn json_strings_are_named_by_their_path() {
        let value = serde_json::json!({
            "name": "Ada",
            "intro": "two\nlines",
            "people": [{"email": "a@example.org"}, {"email": "b\u{0}@example.org"}],
        });
        assert_eq!(check_json(&value).unwrap().field, "people.1.email");
        assert_eq!(
            check_json(&serde_json::json!({"name": "Ada", "n": 2})),
            None
        );
        assert_eq!(
            check_json(&serde_json::json!({"na\u{0}me": "Ada"}))
                .unwrap()
                .problem,
            Problem::Nul
        );
    }
}
