//! The "skip this round" link from a pre-round notice: `/s/{token}`. Following the link only
//! shows a page (mail scanners open links); its button's POST sets the person's skip flag,
//! which keeps them out of the next round and is cleared when that round is published.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path, Query};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;

use crate::app::participants::{self, ParticipantError};
use crate::domain::MembershipState;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{message, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/s/{token}")
            .app_data(super::form_config())
            .route(web::get().to(skip_page))
            .route(web::post().to(skip)),
    );
}

#[derive(Template)]
#[template(path = "public/skip.html")]
struct SkipPage {
    csrf: CsrfToken,
    token: String,
    trial_name: String,
    round_label: String,
    already_skipping: bool,
    taking_part: bool,
}

#[derive(Template)]
#[template(path = "public/skip_done.html")]
struct SkipDone {
    trial_name: String,
    round_label: String,
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "This link no longer works",
        "The round it was for has started, or the link is not one of ours. The next notice will bring a fresh link; until then the manage link in any of our emails lets you skip a round.",
    )
}

#[derive(serde::Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn skip_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let found = participants::skip_link(&store, &token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    // After the button's redirect, and only while the skip stands.
    if q.done.as_deref() == Some("skipped") && found.member.skip_next_round {
        return Ok(render(&SkipDone {
            trial_name: found.trial_name,
            round_label: found.round_label,
        }));
    }
    Ok(render(&SkipPage {
        csrf,
        trial_name: found.trial_name,
        round_label: found.round_label,
        already_skipping: found.member.skip_next_round,
        taking_part: matches!(
            found.member.state,
            MembershipState::Active | MembershipState::Paused
        ),
        token: token.into_inner(),
    }))
}

async fn skip(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    let found = participants::skip_link(&store, &token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    match participants::skip_next_round(&store, &found.member, true, Utc::now()).await {
        Ok(()) => Ok(crate::web::admin::see_other(&format!(
            "/s/{token}?done=skipped"
        ))),
        Err(ParticipantError::Invalid(errors)) => Ok(message(
            StatusCode::CONFLICT,
            "Nothing to skip",
            &errors
                .first()
                .map(|e| format!("We could not do that: {}.", e.message))
                .unwrap_or_default(),
        )),
        Err(e) => Err(PageError::unexpected(e)),
    }
}
