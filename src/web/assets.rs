//! The site's own stylesheet and script, compiled into the binary. Their addresses carry a
//! hash of the content, so browsers may keep them for a year and still fetch a new version
//! the moment it changes.
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{get, HttpResponse};
use sha2::{Digest, Sha256};

pub const STYLESHEET_ROUTE: &str = "/static/app.css";
pub const LIVE_SCRIPT_ROUTE: &str = "/static/live.js";

const STYLESHEET: &str = include_str!("assets/app.css");
const LIVE_SCRIPT: &str = include_str!("assets/live.js");

static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| versioned(STYLESHEET_ROUTE, STYLESHEET));
static LIVE_SCRIPT_SRC: LazyLock<String> =
    LazyLock::new(|| versioned(LIVE_SCRIPT_ROUTE, LIVE_SCRIPT));

/// The stylesheet's address for `<link href>`, with its version.
pub fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

/// The address for `<script src>` of the script that keeps the projector display and the
/// event phone page current, with its version.
pub fn live_script_src() -> &'static str {
    &LIVE_SCRIPT_SRC
}

fn versioned(route: &str, content: &str) -> String {
    let digest = Sha256::digest(content.as_bytes());
    let version: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{route}?v={version}")
}

fn immutable(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

#[get("/static/app.css")]
pub async fn stylesheet() -> HttpResponse {
    immutable("text/css; charset=utf-8", STYLESHEET)
}

#[get("/static/live.js")]
pub async fn live_script() -> HttpResponse {
    immutable("text/javascript; charset=utf-8", LIVE_SCRIPT)
}
