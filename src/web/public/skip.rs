//! The "skip this round" link from a pre-round notice: `/s/{token}`. Following the link only
//! shows a page (mail scanners open links); its button's POST sets the person's skip flag,
//! which keeps them out of the next round and is cleared when that round is published.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Path};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;

use crate::app::participants::{self, ParticipantError};
use crate::domain::{local_label, MembershipState};
use crate::store::participants::Member;
use crate::store::signup::LinkPurpose;
use crate::store::time::from_db;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::pages::{internal_error, message, render};

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

fn link_gone() -> HttpResponse {
    message(
        StatusCode::GONE,
        "This link no longer works",
        "The round it was for has started, or the link is not one of ours. The next notice will bring a fresh link; until then the manage link in any of our emails lets you skip a round.",
    )
}

/// The person behind a usable skip link, with the trial's name and when the round is.
async fn context(
    store: &Store,
    token: &str,
) -> Result<Option<(Member, String, String)>, crate::store::StoreError> {
    let Some(member) =
        participants::member_by_link(store, LinkPurpose::Skip, token, Utc::now()).await?
    else {
        return Ok(None);
    };
    let Some(trial) = store.trial_by_id(member.trial_id).await? else {
        return Ok(None);
    };
    // The link expires when its round starts, so its expiry is the round's time.
    let round_label = store
        .skip_link_expiry(&crate::tokens::hash_token(token))
        .await?
        .as_deref()
        .and_then(from_db)
        .map(|slot| local_label(trial.tz(), slot))
        .unwrap_or_else(|| "the next round".to_string());
    Ok(Some((member, trial.name, round_label)))
}

async fn skip_page(store: Data<Store>, csrf: CsrfToken, token: Path<String>) -> HttpResponse {
    match context(&store, &token).await {
        Ok(Some((member, trial_name, round_label))) => render(&SkipPage {
            csrf,
            trial_name,
            round_label,
            already_skipping: member.skip_next_round != 0,
            taking_part: matches!(
                member.state(),
                Some(MembershipState::Active | MembershipState::Paused)
            ),
            token: token.into_inner(),
        }),
        Ok(None) => link_gone(),
        Err(e) => internal_error(e),
    }
}

async fn skip(store: Data<Store>, token: Path<String>) -> HttpResponse {
    let (member, trial_name, round_label) = match context(&store, &token).await {
        Ok(Some(found)) => found,
        Ok(None) => return link_gone(),
        Err(e) => return internal_error(e),
    };
    match participants::skip_next_round(&store, &member, true, Utc::now()).await {
        Ok(()) => render(&SkipDone {
            trial_name,
            round_label,
        }),
        Err(ParticipantError::Invalid(errors)) => message(
            StatusCode::CONFLICT,
            "Nothing to skip",
            &errors
                .first()
                .map(|e| format!("We could not do that: {}.", e.message))
                .unwrap_or_default(),
        ),
        Err(e) => internal_error(e),
    }
}
