//! Webhook endpoints as organisers manage them: register (the address checked against
//! server-side request forgery, the secret made and handed out once), list with their recent
//! deliveries, switch back on, delete. Deliveries themselves are queued by the store inside
//! each change and sent by `crate::webhooks`.
use chrono::{DateTime, Utc};

use crate::domain::{EndpointChoice, FieldError};
use crate::store::trials::Trial;
use crate::store::webhooks::{Delivery, Endpoint, NewEndpoint};
use crate::store::{Store, StoreError};
use crate::webhooks::{guard, sign};

/// How registrations are checked; set once from `WEBHOOKS_ALLOW_HTTP_LOOPBACK`.
#[derive(Clone, Copy, Debug, Default)]
pub struct WebhookPolicy {
    pub allow_http_loopback: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("{}", .0.message)]
    Invalid(FieldError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an organiser typed or sent.
#[derive(Clone, Debug, Default)]
pub struct Registration {
    pub url: String,
    pub kind: String,
    pub events: Vec<String>,
    pub personal_data: bool,
    pub description: String,
}

/// A new endpoint and its secret, which exists in readable form only in this answer (and in
/// the row the worker signs with).
#[derive(Clone, Debug)]
pub struct Registered {
    pub endpoint: Endpoint,
    /// None for a chat channel, which is not signed.
    pub secret: Option<String>,
}

/// The most endpoints one trial may have: each one multiplies every change's work.
pub const MAX_ENDPOINTS_PER_TRIAL: usize = 10;

pub async fn register(
    store: &Store,
    policy: WebhookPolicy,
    trial: &Trial,
    input: &Registration,
    now: DateTime<Utc>,
) -> Result<Registered, WebhookError> {
    let choice = EndpointChoice::parse(
        &input.kind,
        &input.events,
        input.personal_data,
        &input.description,
    )
    .map_err(WebhookError::Invalid)?;
    let target = guard::check(&input.url, policy.allow_http_loopback)
        .await
        .map_err(|refused| WebhookError::Invalid(FieldError::new("url", refused.0)))?;
    if store.list_webhook_endpoints(trial.id).await?.len() >= MAX_ENDPOINTS_PER_TRIAL {
        return Err(WebhookError::Invalid(FieldError::new(
            "url",
            format!(
                "a trial can have at most {MAX_ENDPOINTS_PER_TRIAL} endpoints; delete one first"
            ),
        )));
    }
    let secret = (!choice.kind.is_chat()).then(sign::new_secret);
    let endpoint = store
        .insert_webhook_endpoint(
            &NewEndpoint {
                trial_id: trial.id,
                kind: choice.kind,
                url: target.url.as_str(),
                description: &choice.description,
                events: &choice.events,
                personal_data: choice.personal_data,
                secret: secret.as_deref().unwrap_or(""),
            },
            now,
        )
        .await?;
    Ok(Registered { endpoint, secret })
}

/// An endpoint with its latest deliveries, for the console and the API.
#[derive(Clone, Debug)]
pub struct EndpointView {
    pub endpoint: Endpoint,
    pub deliveries: Vec<Delivery>,
}

/// How many of an endpoint's deliveries the console shows.
pub const RECENT_DELIVERIES: i64 = 10;

pub async fn list(store: &Store, trial: &Trial) -> Result<Vec<EndpointView>, StoreError> {
    let mut views = Vec::new();
    for endpoint in store.list_webhook_endpoints(trial.id).await? {
        let deliveries = store
            .recent_webhook_deliveries(endpoint.id, RECENT_DELIVERIES)
            .await?;
        views.push(EndpointView {
            endpoint,
            deliveries,
        });
    }
    Ok(views)
}

pub async fn find(
    store: &Store,
    trial: &Trial,
    id: i64,
) -> Result<Option<EndpointView>, StoreError> {
    let Some(endpoint) = store.find_webhook_endpoint(trial.id, id).await? else {
        return Ok(None);
    };
    let deliveries = store
        .recent_webhook_deliveries(endpoint.id, RECENT_DELIVERIES)
        .await?;
    Ok(Some(EndpointView {
        endpoint,
        deliveries,
    }))
}

/// False when the trial has no such endpoint.
pub async fn delete(store: &Store, trial: &Trial, id: i64) -> Result<bool, StoreError> {
    store.delete_webhook_endpoint(trial.id, id).await
}

/// Switches an endpoint back on (after it was switched off for failing); false when the
/// trial has no such endpoint.
pub async fn enable(
    store: &Store,
    trial: &Trial,
    id: i64,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    store.enable_webhook_endpoint(trial.id, id, now).await
}
