//! Answers for addresses that lead nowhere: JSON under /api/, a page with the site's
//! navigation elsewhere.
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use crate::web::errors::ErrorBody;
use crate::web::pages::not_found_page as page;

/// The default service: no route matches the path (or none takes this method).
pub async fn not_found(request: HttpRequest) -> HttpResponse {
    nothing_here(&request)
}

/// The 404 of an address that leads nowhere, in the form the caller expects.
pub fn nothing_here(request: &HttpRequest) -> HttpResponse {
    answer(
        request,
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

/// Path segments that do not parse (a round number that is not a number) lead nowhere: the
/// same 404 as an unknown address, JSON under /api/ and a page elsewhere. Actix's own answer is
/// a bare text body.
pub fn path_config() -> actix_web::web::PathConfig {
    actix_web::web::PathConfig::default().error_handler(|err, req| {
        let response = nothing_here(req);
        actix_web::error::InternalError::from_response(err, response).into()
    })
}

/// A query string the API cannot read (`limit=many`) is invalid input: 422 in the API's
/// shape. Pages keep actix's plain 400.
pub fn query_config() -> actix_web::web::QueryConfig {
    actix_web::web::QueryConfig::default().error_handler(|err, req| {
        if !is_api(req) {
            return actix_web::error::ErrorBadRequest(err.to_string());
        }
        let message = match &err {
            actix_web::error::QueryPayloadError::Deserialize(e) => {
                format!("the query string is not valid: {e}")
            }
            other => other.to_string(),
        };
        crate::web::errors::ApiError::status(StatusCode::UNPROCESSABLE_ENTITY, message).into()
    })
}
