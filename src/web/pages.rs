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
            // The page itself failed, so the internal-error page's words go out as plain text.
            let reference = crate::web::errors::log_unexpected(&anyhow::Error::new(e));
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(crate::web::errors::internal_message(&reference))
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

/// The page for a failure that is ours, not the user's, for handlers that do not return
/// [`PageError`](crate::web::errors::PageError) yet.
pub fn internal_error(cause: impl Into<anyhow::Error>) -> HttpResponse {
    use actix_web::ResponseError;
    crate::web::errors::PageError::unexpected(cause).error_response()
}
