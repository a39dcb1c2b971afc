//! The site's own stylesheet and script, compiled into the binary. Their addresses carry a
//! hash of the content, so browsers may keep them for a year and still fetch a new version
//! the moment it changes.
use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{get, HttpResponse};
use sha2::{Digest, Sha256};

pub const STYLESHEET_ROUTE: &str = "/static/app.css";
pub const DISPLAY_SCRIPT_ROUTE: &str = "/static/display.js";

const STYLESHEET: &str = include_str!("assets/app.css");
const DISPLAY_SCRIPT: &str = include_str!("assets/display.js");

static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| versioned(STYLESHEET_ROUTE, STYLESHEET));
static DISPLAY_SCRIPT_SRC: LazyLock<String> =
    LazyLock::new(|| versioned(DISPLAY_SCRIPT_ROUTE, DISPLAY_SCRIPT));

/// The stylesheet's address for `<link href>`, with its version.
pub fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

/// The display script's address for `<script src>`, with its version.
pub fn display_script_src() -> &'static str {
    &DISPLAY_SCRIPT_SRC
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

#[get("/static/display.js")]
pub async fn display_script() -> HttpResponse {
    immutable("text/javascript; charset=utf-8", DISPLAY_SCRIPT)
}
