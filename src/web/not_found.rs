//! Answers for addresses that lead nowhere: JSON under /api/, a page with the site's
//! navigation elsewhere.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::web::errors::ErrorBody;
use crate::web::pages::not_found_page as page;

/// The default service: no route matches the path (or none takes this method).
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    answer(
        &request,
        StatusCode::NOT_FOUND,
        "there is nothing at this address",
        "Page not found",
        "There is nothing at this address. If you followed a link from an email, check that it \
         was copied in full.",
    )
}

/// For a known address asked with a method it does not take (actix leaves the body empty).
pub fn method_not_allowed(request: &HttpRequest) -> HttpResponse {
    answer(
        request,
        StatusCode::METHOD_NOT_ALLOWED,
        "this address does not take this method",
        "Not possible here",
        "This address exists, but not for this kind of request. Go back to the page you came \
         from and use its buttons.",
    )
}

fn answer(
    request: &HttpRequest,
    status: StatusCode,
    api_message: &str,
    title: &str,
    message: &str,
) -> HttpResponse {
    if is_api(request) {
        HttpResponse::build(status).json(ErrorBody {
            error: api_message.to_string(),
            field: None,
        })
    } else {
        page(status, title, message)
    }
}

/// Whether a path belongs to the JSON API, by its decoded form.
pub fn is_api(request: &HttpRequest) -> bool {
    let path = request.match_info().as_str();
    path == "/api" || path.starts_with("/api/")
}
