//! Rendering askama pages into responses.
use actix_web::http::StatusCode;
use actix_web::HttpResponse;

/// Renders a page with status 200.
pub fn render<T: askama::Template>(page: &T) -> HttpResponse {
    render_status(StatusCode::OK, page)
}

/// Renders a page with the given status; a template failure becomes an opaque 500.
pub fn render_status<T: askama::Template>(status: StatusCode, page: &T) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(e) => {
            let reference = crate::web::errors::log_unexpected(&anyhow::Error::new(e));
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(format!(
                    "Something went wrong on our side (reference {reference})."
                ))
        }
    }
}

#[derive(askama::Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// A short page for outcomes such as "forbidden" or "not found".
pub fn message(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    render_status(status, &MessagePage { title, message })
}

/// The page for a failure that is ours, not the user's: the cause chain goes to the log with a
/// short reference, and the page shows only the reference.
pub fn internal_error(cause: impl Into<anyhow::Error>) -> HttpResponse {
    let reference = crate::web::errors::log_unexpected(&cause.into());
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!(
            "Something went wrong on our side. If it keeps happening, quote reference {reference}."
        ),
    )
}
