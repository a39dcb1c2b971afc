//! Layer: below `app`, beside `mail`. May import `store`, `mail` (the email about an endpoint
//! switched off), `domain`, `config` and `telemetry`; never `app`, `web` or `cli`.
//!
//! Webhook delivery: the address check against server-side request forgery ([`guard`]),
//! Standard Webhooks signatures ([`sign`]) and the worker that sends what the store queued
//! ([`worker`]). Deliveries are written by `store::webhooks::queue_event` inside the
//! transaction of the change they report; nothing here is called from a request.
pub mod guard;
pub mod sign;
pub mod worker;

pub use worker::{deliver_due, Outcome, WebhookConfig, WebhookWorker};
