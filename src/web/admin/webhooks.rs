//! A trial's webhook endpoints: the console page (register, see the last answers, switch back
//! on, delete) and the same through the JSON API. The secret is in the answer to the
//! registration only.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form, Json, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{see_other, Errors};
use crate::app::webhooks::{self, EndpointView, Registration, WebhookError, WebhookPolicy};
use crate::domain::{shown_url, EndpointKind, WebhookEvent};
use crate::store::trials::Trial;
use crate::store::webhooks::{Delivery, Endpoint};
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::{ApiError, ErrorBody, PageError};
use crate::web::pages::render_status;
use crate::web::trial_in_path::{ApiTrialInPath, TrialInPath};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page)
        .service(create)
        .service(delete)
        .service(enable);
}

pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/trials/{slug}/webhooks", web::get().to(api_list))
        .route("/trials/{slug}/webhooks", web::post().to(api_create))
        .route("/trials/{slug}/webhooks/{id}", web::delete().to(api_delete))
        .route(
            "/trials/{slug}/webhooks/{id}/enable",
            web::post().to(api_enable),
        );
}

// ---- Console ----

#[derive(Template)]
#[template(path = "admin/webhooks.html")]
struct WebhooksPage {
    csrf: CsrfToken,
    trial: Trial,
    endpoints: Vec<EndpointView>,
    /// The secret of the endpoint just registered: shown on this page once.
    new_secret: Option<String>,
    errors: Errors,
    values: Registration,
}

impl WebhooksPage {
    fn kinds(&self) -> Vec<(&'static str, &'static str, bool)> {
        let chosen = if self.values.kind.is_empty() {
            "webhook"
        } else {
            self.values.kind.as_str()
        };
        EndpointKind::ALL
            .iter()
            .map(|k| (k.as_str(), k.label(), k.as_str() == chosen))
            .collect()
    }

    fn events(&self) -> Vec<(&'static str, &'static str, bool)> {
        WebhookEvent::ALL
            .iter()
            .map(|e| {
                (
                    e.as_str(),
                    e.label(),
                    self.values.events.iter().any(|v| v == e.as_str()),
                )
            })
            .collect()
    }

    fn address(&self, e: &Endpoint) -> String {
        shown_url(e.kind, &e.url)
    }

    fn event_names(&self, e: &Endpoint) -> String {
        e.events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn when(&self, t: &DateTime<Utc>) -> String {
        crate::web::dates::when(t, self.trial.tz())
    }

    fn status(&self, d: &Delivery) -> String {
        d.last_status.map(|s| s.to_string()).unwrap_or_default()
    }
}

async fn page_view(
    store: &Store,
    csrf: CsrfToken,
    trial: Trial,
    new_secret: Option<String>,
    errors: Errors,
    values: Registration,
) -> Result<HttpResponse, PageError> {
    let endpoints = webhooks::list(store, &trial).await?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &WebhooksPage {
            csrf,
            trial,
            endpoints,
            new_secret,
            errors,
            values,
        },
    ))
}

#[get("/trials/{slug}/webhooks")]
pub async fn page(
    store: Data<Store>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    page_view(
        &store,
        csrf,
        trial,
        None,
        Errors::default(),
        Registration::default(),
    )
    .await
}

/// The form's fields; `events` is repeated, one per ticked box.
fn registration_from_form(fields: &[(String, String)]) -> Registration {
    let mut r = Registration::default();
    for (name, value) in fields {
        match name.as_str() {
            "url" => r.url = value.clone(),
            "kind" => r.kind = value.clone(),
            "events" => r.events.push(value.clone()),
            "personal_data" => r.personal_data = !value.is_empty(),
            "description" => r.description = value.clone(),
            _ => {}
        }
    }
    r
}

#[post("/trials/{slug}/webhooks")]
pub async fn create(
    store: Data<Store>,
    policy: Data<WebhookPolicy>,
    csrf: CsrfToken,
    TrialInPath(trial): TrialInPath,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let values = registration_from_form(&form);
    match webhooks::register(&store, **policy, &trial, &values, Utc::now()).await {
        // The page answers the POST itself (no redirect) so that the secret is shown once and
        // never stored anywhere a reload could find it.
        Ok(registered) => {
            page_view(
                &store,
                csrf,
                trial,
                registered.secret,
                Errors::default(),
                Registration::default(),
            )
            .await
        }
        Err(WebhookError::Invalid(error)) => {
            page_view(&store, csrf, trial, None, Errors(vec![error]), values).await
        }
        Err(WebhookError::Store(e)) => Err(e.into()),
    }
}

/// An endpoint id from the path; anything else names no endpoint.
fn endpoint_id(raw: &str) -> Option<i64> {
    raw.parse().ok()
}

fn no_such_endpoint() -> PageError {
    PageError::NotFound {
        title: "No such webhook",
        message: "This trial has no webhook endpoint at this address.",
    }
}

#[post("/trials/{slug}/webhooks/{id}/delete")]
pub async fn delete(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path.1).ok_or_else(no_such_endpoint)?;
    if !webhooks::delete(&store, &trial, id).await? {
        return Err(no_such_endpoint());
    }
    Ok(see_other(&format!("/admin/trials/{}/webhooks", trial.slug)))
}

#[post("/trials/{slug}/webhooks/{id}/enable")]
pub async fn enable(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let id = endpoint_id(&path.1).ok_or_else(no_such_endpoint)?;
    if !webhooks::enable(&store, &trial, id, Utc::now()).await? {
        return Err(no_such_endpoint());
    }
    Ok(see_other(&format!("/admin/trials/{}/webhooks", trial.slug)))
}

// ---- JSON API ----

/// `/api/v1/trials/{slug}/webhooks/{id}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EndpointPath {
    /// The trial's short address.
    pub slug: String,
    /// The endpoint's id, as listed.
    pub id: i64,
}

/// A new endpoint. `kind` is `webhook` (signed, the default), `slack`, `mattermost` or `teams`;
/// `events` are `participant.confirmed`, `participant.left`, `round.published`,
/// `feedback.recorded` and `event.checked_in`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegistrationRequest {
    pub url: String,
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub personal_data: bool,
    #[serde(default)]
    pub description: String,
}

fn default_kind() -> String {
    EndpointKind::Webhook.as_str().to_string()
}

/// One delivery to an endpoint, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryResponse {
    pub id: String,
    pub event: String,
    pub state: String,
    pub attempts: i64,
    pub created_at: String,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_answer: Option<String>,
    pub last_error: Option<String>,
}

/// A registered endpoint and how its last delivery went.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointResponse {
    pub id: i64,
    pub kind: &'static str,
    /// For a chat channel, without its path (the path is the channel's secret).
    pub url: String,
    pub description: String,
    pub events: Vec<&'static str>,
    pub personal_data: bool,
    pub enabled: bool,
    pub failing_since: Option<String>,
    pub disabled_at: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_answer: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    /// Only in the answer to the registration, for a signed webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryResponse>>,
}

fn api_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl EndpointResponse {
    fn new(e: &Endpoint) -> Self {
        Self {
            id: e.id,
            kind: e.kind.as_str(),
            url: shown_url(e.kind, &e.url),
            description: e.description.clone(),
            events: e.events.iter().map(|e| e.as_str()).collect(),
            personal_data: e.personal_data,
            enabled: e.enabled,
            failing_since: e.failing_since.as_ref().map(api_time),
            disabled_at: e.disabled_at.as_ref().map(api_time),
            last_attempt_at: e.last_attempt_at.as_ref().map(api_time),
            last_status: e.last_status,
            last_answer: e.last_answer.clone(),
            last_error: e.last_error.clone(),
            created_at: api_time(&e.created_at),
            secret: None,
            deliveries: None,
        }
    }

    fn with_deliveries(view: &EndpointView) -> Self {
        let mut r = Self::new(&view.endpoint);
        r.deliveries = Some(
            view.deliveries
                .iter()
                .map(|d| DeliveryResponse {
                    id: d.message_id.clone(),
                    event: d.event.clone(),
                    state: d.state.clone(),
                    attempts: d.attempts,
                    created_at: api_time(&d.created_at),
                    next_attempt_at: (d.state == "queued").then(|| api_time(&d.next_attempt_at)),
                    sent_at: d.sent_at.as_ref().map(api_time),
                    last_status: d.last_status,
                    last_answer: d.last_answer.clone(),
                    last_error: d.last_error.clone(),
                })
                .collect(),
        );
        r
    }
}

/// The trial's endpoints, each with its recent deliveries.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EndpointsResponse {
    pub webhooks: Vec<EndpointResponse>,
}

fn api_no_such_endpoint() -> ApiError {
    ApiError::field(
        StatusCode::NOT_FOUND,
        "id",
        "this trial has no such webhook",
    )
}

/// Lists the trial's webhook endpoints with their recent deliveries.
#[utoipa::path(get, path = "/api/v1/trials/{slug}/webhooks", tag = "webhooks",
    params(crate::web::admin::api::SlugParam),
    responses((status = 200, description = "The endpoints", body = EndpointsResponse)))]
pub async fn api_list(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
) -> Result<HttpResponse, ApiError> {
    let views = webhooks::list(&store, &trial).await?;
    Ok(HttpResponse::Ok().json(EndpointsResponse {
        webhooks: views
            .iter()
            .map(EndpointResponse::with_deliveries)
            .collect(),
    }))
}

/// Registers an endpoint. The answer carries a signed webhook's secret, once.
#[utoipa::path(post, path = "/api/v1/trials/{slug}/webhooks", tag = "webhooks",
    params(crate::web::admin::api::SlugParam), request_body = RegistrationRequest,
    responses(
        (status = 201, description = "The endpoint, with its secret", body = EndpointResponse),
        (status = 422, description = "The address, kind or events are refused (`field` names it)", body = ErrorBody),
    ))]
pub async fn api_create(
    store: Data<Store>,
    policy: Data<WebhookPolicy>,
    ApiTrialInPath(trial): ApiTrialInPath,
    body: Json<RegistrationRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let input = Registration {
        url: body.url,
        kind: body.kind,
        events: body.events,
        personal_data: body.personal_data,
        description: body.description,
    };
    match webhooks::register(&store, **policy, &trial, &input, Utc::now()).await {
        Ok(registered) => {
            let mut response = EndpointResponse::new(&registered.endpoint);
            response.secret = registered.secret;
            Ok(HttpResponse::Created()
                // The secret is in this body: no cache may keep it.
                .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                .json(response))
        }
        Err(WebhookError::Invalid(e)) => Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.field,
            e.message,
        )),
        Err(WebhookError::Store(e)) => Err(e.into()),
    }
}

/// Deletes an endpoint and its queued deliveries.
#[utoipa::path(delete, path = "/api/v1/trials/{slug}/webhooks/{id}", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such endpoint in this trial (`field` is `id`)", body = ErrorBody),
    ))]
pub async fn api_delete(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path.1).ok_or_else(api_no_such_endpoint)?;
    if !webhooks::delete(&store, &trial, id).await? {
        return Err(api_no_such_endpoint());
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Switches an endpoint back on after it was switched off for failing.
#[utoipa::path(post, path = "/api/v1/trials/{slug}/webhooks/{id}/enable", tag = "webhooks",
    params(EndpointPath),
    responses(
        (status = 200, description = "The endpoint", body = EndpointResponse),
        (status = 404, description = "No such endpoint in this trial (`field` is `id`)", body = ErrorBody),
    ))]
pub async fn api_enable(
    store: Data<Store>,
    ApiTrialInPath(trial): ApiTrialInPath,
    path: Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path.1).ok_or_else(api_no_such_endpoint)?;
    if !webhooks::enable(&store, &trial, id, Utc::now()).await? {
        return Err(api_no_such_endpoint());
    }
    let view = webhooks::find(&store, &trial, id)
        .await?
        .ok_or_else(api_no_such_endpoint)?;
    Ok(HttpResponse::Ok().json(EndpointResponse::with_deliveries(&view)))
}
