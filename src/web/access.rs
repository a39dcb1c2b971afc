//! Who may do what, decided in one place for every organiser route.
//!
//! The console and API guards (`web::auth`) call [`check`] with the path the router is about to
//! match inside their scope, once the organiser is known. Trial-scoped routes all live under
//! `/trials/{slug}`, so the trial in the path is found here and an organiser without a grant
//! gets the same 404 as for a trial that does not exist: a handler added under `/trials/{slug}`
//! is covered without doing anything. Admin-only areas are listed here too.
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::app;
use crate::store::organisers::Organiser;
use crate::store::{Store, StoreError};
use crate::web::errors::{ApiError, PageError};

/// First path segments (inside `/admin` or `/api/v1`) that only admins may use: managing
/// organisers, editing the technique library, the outbox.
const ADMIN_ONLY: &[&str] = &["organisers", "techniques", "outbox"];

/// What a trial-scoped path segment after the slug reserves for admins: granting access.
const ADMIN_ONLY_IN_TRIAL: &[&str] = &["organisers"];

#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    /// Unknown trial, or one this organiser has no grant for: the same answer for both.
    NoSuchTrial,
    /// An admin-only area.
    AdminsOnly,
}

/// Whether `organiser` may use `path` (relative to the guard's scope, as the router sees it).
pub async fn check(
    store: &Store,
    organiser: &Organiser,
    method: &Method,
    path: &str,
) -> Result<Option<Denied>, StoreError> {
    if organiser.is_admin() {
        return Ok(None);
    }
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if ADMIN_ONLY.contains(&segments[0]) {
        return Ok(Some(Denied::AdminsOnly));
    }
    let (Some(&"trials"), Some(&slug)) = (segments.first(), segments.get(1)) else {
        return Ok(None);
    };
    // The form for a new trial shares the pattern's shape but names no trial.
    if segments.len() == 2 && slug == "new" && method == Method::GET {
        return Ok(None);
    }
    let Some(trial) = app::trials::find(store, slug).await? else {
        return Ok(Some(Denied::NoSuchTrial));
    };
    if !app::trials::may_manage(store, organiser, &trial).await? {
        return Ok(Some(Denied::NoSuchTrial));
    }
    if segments
        .get(2)
        .is_some_and(|s| ADMIN_ONLY_IN_TRIAL.contains(s))
    {
        return Ok(Some(Denied::AdminsOnly));
    }
    Ok(None)
}

impl Denied {
    /// The console's page for a refusal.
    pub fn page(&self) -> HttpResponse {
        match self {
            Denied::NoSuchTrial => PageError::no_such_trial(),
            Denied::AdminsOnly => PageError::admins_only(),
        }
        .error_response()
    }

    /// The JSON API's answer for a refusal.
    pub fn json(&self) -> HttpResponse {
        match self {
            Denied::NoSuchTrial => ApiError::field(StatusCode::NOT_FOUND, "slug", "no such trial"),
            Denied::AdminsOnly => {
                ApiError::status(StatusCode::FORBIDDEN, "only an admin can do this")
            }
        }
        .error_response()
    }
}
