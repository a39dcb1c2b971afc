//! The OpenAPI 3.1 document of everything under `/api/v1/`, served at
//! `GET /api/v1/openapi.json`. It is derived from the handlers' own `#[utoipa::path]`
//! attributes and the types they read and write, so it cannot drift from a hand-kept copy.
//!
//! Adding an API route: put `#[utoipa::path(...)]` on its handler, with the statuses only it
//! gives, and name the handler in `paths(...)` below. The answers every route shares (the
//! guard's 401 and 403, a body that cannot be read, 500) are added by [`SharedAnswers`].
//! tests/api/openapi.rs fails for a route of the router that the document leaves out.
use actix_web::{get, HttpResponse};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::OpenApi;

use crate::web::errors::ErrorBody;

/// The name of the bearer scheme in the document.
pub const BEARER: &str = "organiser_token";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "coffee-trials",
        description = "The JSON API of a coffee-trials service. Organiser routes (under \
            /api/v1/trials) need an organiser's API token as `Authorization: Bearer <token>`; \
            participant routes (under /api/v1/public) take the token from an emailed link in the \
            path; the technique library is open to anyone. Every error answers \
            `{\"error\": ..., \"field\": ...}`."
    ),
    paths(
        // Organisers: trials.
        crate::web::admin::api::list,
        crate::web::admin::api::create,
        crate::web::admin::api::show,
        crate::web::admin::api::update,
        // Organisers: rounds.
        crate::web::admin::api::rounds_api::list,
        crate::web::admin::api::rounds_api::start,
        crate::web::admin::api::rounds_api::show,
        crate::web::admin::api::rounds_api::reshuffle,
        crate::web::admin::api::rounds_api::swap,
        crate::web::admin::api::rounds_api::publish,
        // Organisers: participants.
        crate::web::admin::participants::api::list,
        crate::web::admin::participants::api::add,
        crate::web::admin::participants::api::show,
        crate::web::admin::participants::api::pause,
        crate::web::admin::participants::api::resume,
        crate::web::admin::participants::api::remove,
        // Organisers: exports and who may manage a trial.
        crate::web::admin::exports::pairings_json,
        crate::web::admin::exports::feedback_json,
        crate::web::admin::organisers::api_list,
        crate::web::admin::organisers::api_replace,
        // Organisers: webhooks and chat channels.
        crate::web::admin::webhooks::api_list,
        crate::web::admin::webhooks::api_create,
        crate::web::admin::webhooks::api_delete,
        crate::web::admin::webhooks::api_enable,
        // Participants, with the token from their link.
        crate::web::public::api::signup,
        crate::web::public::api::confirm,
        crate::web::public::api::show,
        crate::web::public::api::edit,
        crate::web::public::api::erase,
        crate::web::public::api::pause,
        crate::web::public::api::resume,
        crate::web::public::api::skip,
        crate::web::public::api::leave,
        crate::web::public::api::rejoin,
        crate::web::public::api::do_not_pair,
        crate::web::public::api::set_do_not_pair,
        crate::web::public::api::export,
        // The technique library, open to anyone.
        crate::web::library::api_list,
        crate::web::library::api_choose,
        crate::web::library::api_technique,
        // This document.
        openapi_json,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SharedAnswers),
    tags(
        (name = "trials", description = "Organisers: trials and their settings"),
        (name = "rounds", description = "Organisers: proposing, changing and publishing rounds"),
        (name = "participants", description = "Organisers: the people of a trial"),
        (name = "webhooks", description = "Organisers: signed webhooks and chat channels"),
        (name = "exports", description = "Organisers: pairings and feedback as JSON"),
        (name = "public", description = "Participants: sign-up and the manage link"),
        (name = "techniques", description = "The technique library"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

/// The document as served, built once per request (it is small and the route is rarely used).
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// This document. It describes the API and holds no data, so it needs no token.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// `post_trials_slug_webhooks` for `POST /api/v1/trials/{slug}/webhooks`.
pub fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<&str> = path
        .trim_start_matches("/api/v1/")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    format!("{method}_{}", words.join("_"))
}

/// Whether a documented path belongs to the organisers' scope, behind the bearer token.
fn is_organiser_path(path: &str) -> bool {
    path.starts_with("/api/v1/trials")
}

/// Adds what every route shares, so each handler's attribute lists only its own answers:
/// the bearer scheme and its 401/403 on organiser routes, the refusals of a body or query
/// that cannot be read, and the opaque 500.
struct SharedAnswers;

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

fn add_if_missing(operation: &mut Operation, status: &str, description: &str) {
    operation
        .responses
        .responses
        .entry(status.to_string())
        .or_insert_with(|| error_response(description));
}

impl utoipa::Modify for SharedAnswers {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An organiser's API token, created in the console (API tokens) or with \
                         `coffee-trials organiser token EMAIL`",
                    ))
                    .build(),
            ),
        );
        for (path, item) in openapi.paths.paths.iter_mut() {
            let organiser = is_organiser_path(path);
            let has_path_parameters = path.contains('{');
            for (method, operation) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ]
            .into_iter()
            .filter_map(|(m, o)| o.as_mut().map(|o| (m, o)))
            {
                // Handlers in different modules share names (`list`, `show`), and operation
                // ids must be unique: name each by its method and path instead.
                operation.operation_id = Some(operation_id(method, path));
                if organiser {
                    operation.security =
                        Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
                    add_if_missing(
                        operation,
                        "401",
                        "No valid organiser token (`field` is null)",
                    );
                    add_if_missing(
                        operation,
                        "403",
                        "The token's organiser may not do this (admins only)",
                    );
                }
                if organiser && has_path_parameters {
                    add_if_missing(
                        operation,
                        "404",
                        "No such trial for this organiser (`field` is `slug`)",
                    );
                }
                if has_path_parameters {
                    // A segment that does not parse (a round number that is not a number).
                    add_if_missing(operation, "404", "Nothing at this address");
                }
                if operation.request_body.is_some() {
                    add_if_missing(operation, "413", "The body is over 64 KiB");
                    add_if_missing(operation, "415", "The body is not sent as application/json");
                    add_if_missing(
                        operation,
                        "422",
                        "The body is not valid JSON of this shape, or a value is refused (`field` names it)",
                    );
                }
                if operation.parameters.as_ref().is_some_and(|p| {
                    p.iter()
                        .any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query)
                }) {
                    add_if_missing(
                        operation,
                        "422",
                        "A query parameter is refused (`field` names it when it is one)",
                    );
                }
                // Refused before routing: an address spelt in a non-canonical way.
                add_if_missing(operation, "400", "The address or the body cannot be read");
                add_if_missing(
                    operation,
                    "500",
                    "Something went wrong on our side; the message carries a reference that is also in the log",
                );
            }
        }
    }
}
