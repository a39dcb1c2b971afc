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
            let reference = log_unexpected(&anyhow::Error::new(e));
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(internal_message(&reference))
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
    let reference = log_unexpected(&cause.into());
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        INTERNAL_TITLE,
        &internal_message(&reference),
    )
}

/// The title of the one internal-error page.
pub const INTERNAL_TITLE: &str = "Something went wrong";

/// What the internal-error page says: nothing about the cause, only a reference to quote.
pub fn internal_message(reference: &str) -> String {
    format!("Something went wrong on our side. If it keeps happening, quote reference {reference}.")
}

/// Logs the whole cause chain and returns a short reference the user can quote. The log line
/// sits inside the request's span, which carries the request id.
pub fn log_unexpected(cause: &anyhow::Error) -> String {
    let reference = crate::web::short_reference();
    tracing::error!(reference = %reference, error = %crate::telemetry::error_chain(cause.as_ref()), "unexpected error");
    reference
}

#[derive(askama::Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The site's page for an address that leads nowhere, with its own title and words.
pub fn not_found_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    render_status(status, &NotFoundPage { title, message })
}
