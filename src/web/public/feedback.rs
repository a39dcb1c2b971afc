//! The pages behind feedback and "still in?" links. Opening a link only shows the question
//! with the emailed answer picked out; the answer is recorded by the page's POST, because mail
//! scanners open links.
use actix_web::http::StatusCode;
use actix_web::web::{self, Data, Form, Path, Query};
use actix_web::HttpResponse;
use askama::Template;
use chrono::Utc;
use serde::Deserialize;

use super::{form_config, link_gone};
use crate::app::feedback::{self, DetailsInput, FeedbackError, Outcome, StillIn};
use crate::domain::MembershipState;
use crate::store::feedback::{FeedbackTarget, StillInTarget};
use crate::store::Store;
use crate::web::admin::{see_other, Errors};
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{message, render_status};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| web::resource(path.to_string()).app_data(form_config());
    cfg.service(
        resource("/f/{token}")
            .route(web::get().to(question))
            .route(web::post().to(record_answer)),
    )
    .service(
        resource("/f/{token}/more")
            .route(web::get().to(details_page))
            .route(web::post().to(save_details)),
    )
    .service(
        resource("/f/{token}/who")
            .route(web::get().to(who_met_page))
            .route(web::post().to(save_who_met)),
    )
    .service(
        resource("/still-in/{token}")
            .route(web::get().to(still_in_page))
            .route(web::post().to(still_in_answer)),
    );
}

/// One button of a question.
struct Choice {
    value: &'static str,
    label: &'static str,
    chosen: bool,
}

#[derive(Deserialize)]
struct AnswerQuery {
    answer: Option<String>,
}

#[derive(Deserialize)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
}

#[derive(Template)]
#[template(path = "public/feedback.html")]
struct QuestionPage {
    csrf: CsrfToken,
    token: String,
    partners: String,
    trial_name: String,
    round_number: i64,
    saved: Option<&'static str>,
    chosen: Option<&'static str>,
    choices: Vec<Choice>,
    errors: Errors,
}

async fn partner_names(store: &Store, t: &FeedbackTarget) -> Result<String, PageError> {
    let names = feedback::partner_names(store, t).await?;
    Ok(match names.as_slice() {
        [] => "your partner".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    })
}

/// A link that no longer works gets its page; anything else is ours.
impl From<FeedbackError> for PageError {
    fn from(e: FeedbackError) -> Self {
        match e {
            FeedbackError::Gone => link_gone(),
            e => PageError::unexpected(e),
        }
    }
}

async fn question_view(
    store: &Store,
    csrf: CsrfToken,
    token: String,
    t: FeedbackTarget,
    wanted: Option<&str>,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let partners = partner_names(store, &t).await?;
    let offered = Outcome::offered(t.group_size);
    let chosen = wanted
        .and_then(Outcome::parse)
        .filter(|o| offered.contains(o));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &QuestionPage {
            csrf,
            token,
            partners,
            trial_name: t.trial_name,
            round_number: t.round_number,
            saved: t.outcome.map(|o| o.label()),
            chosen: chosen.map(|o| o.label()),
            choices: offered
                .into_iter()
                .map(|o| Choice {
                    value: o.as_str(),
                    label: o.label(),
                    chosen: Some(o) == chosen,
                })
                .collect(),
            errors,
        },
    ))
}

async fn question(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<AnswerQuery>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let t = feedback::target(&store, &token, Utc::now()).await?;
    question_view(
        &store,
        csrf,
        token,
        t,
        q.answer.as_deref(),
        Errors::default(),
    )
    .await
}

async fn record_answer(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<AnswerForm>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    match feedback::answer(&store, &token, &form.answer, Utc::now()).await {
        // In a group of three, "some of us met" asks which of them did.
        Ok((_, Outcome::SomeMet)) => Ok(see_other(&format!("/f/{token}/who"))),
        Ok(_) => Ok(see_other(&format!("/f/{token}/more"))),
        Err(FeedbackError::Invalid(errors)) => {
            let t = feedback::target(&store, &token, Utc::now()).await?;
            question_view(&store, csrf, token, t, None, Errors(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "public/feedback_more.html")]
struct DetailsPage {
    csrf: CsrfToken,
    token: String,
    outcome: &'static str,
    /// False after "not yet" or "we couldn't meet": there was no conversation to ask about.
    met: bool,
    /// Just saved, after the redirect.
    saved: bool,
    input: DetailsInput,
    max_takeaway: usize,
    errors: Errors,
}

fn details_view(
    csrf: CsrfToken,
    token: String,
    t: &FeedbackTarget,
    input: DetailsInput,
    saved: bool,
    errors: Errors,
) -> HttpResponse {
    // The details belong to an answer; without one, the question comes first.
    let Some(outcome) = t.outcome else {
        return see_other(&format!("/f/{token}"));
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &DetailsPage {
            csrf,
            token,
            outcome: outcome.label(),
            met: outcome.is_meeting(),
            saved,
            input,
            max_takeaway: feedback::MAX_TAKEAWAY_CHARS,
            errors,
        },
    )
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn details_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let t = feedback::target(&store, &token, Utc::now()).await?;
    let input = DetailsInput::from_target(&t);
    let saved = q.saved.is_some();
    Ok(details_view(
        csrf,
        token,
        &t,
        input,
        saved,
        Errors::default(),
    ))
}

async fn save_details(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<DetailsInput>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let input = form.into_inner();
    match feedback::save_details(&store, &token, &input, Utc::now()).await {
        Ok(()) => Ok(see_other(&format!("/f/{token}/more?saved=yes"))),
        Err(FeedbackError::Invalid(errors)) => {
            let t = feedback::target(&store, &token, Utc::now()).await?;
            Ok(details_view(csrf, token, &t, input, false, Errors(errors)))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "public/feedback_who.html")]
struct WhoPage {
    csrf: CsrfToken,
    token: String,
    choices: Vec<feedback::PairChoice>,
    errors: Errors,
}

async fn who_met_view(
    store: &Store,
    csrf: CsrfToken,
    token: String,
    ticked: Option<&[String]>,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let Some(mut choices) = feedback::who_met_question(store, &token, Utc::now()).await? else {
        // Only "some of us met" asks who; any other answer goes back to the question.
        return Ok(see_other(&format!("/f/{token}")));
    };
    if let Some(ticked) = ticked {
        for c in &mut choices {
            c.met = ticked.contains(&c.value);
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &WhoPage {
            csrf,
            token,
            choices,
            errors,
        },
    ))
}

async fn who_met_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    who_met_view(&store, csrf, token.into_inner(), None, Errors::default()).await
}

async fn save_who_met(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let pairs: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "pair")
        .map(|(_, v)| v.clone())
        .collect();
    match feedback::record_who_met(&store, &token, &pairs, Utc::now()).await {
        Ok(()) => Ok(see_other(&format!("/f/{token}/more"))),
        Err(FeedbackError::Invalid(errors)) => {
            who_met_view(&store, csrf, token, Some(&pairs), Errors(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ChoiceQuery {
    choice: Option<String>,
    /// The answer just recorded, after the redirect.
    done: Option<String>,
}

/// What the page says after an answer. Shown only while the membership is in the state the
/// answer put it in, so an edited address cannot claim a change that did not happen.
fn still_in_done(t: &StillInTarget, choice: StillIn) -> Option<HttpResponse> {
    let (state, title, text) = match choice {
        StillIn::Stay => (MembershipState::Active, "Good to have you", format!("You are still in {}, and we will pair you in the next round.", t.trial_name)),
        StillIn::Pause => (MembershipState::Paused, "You are paused", format!("We will not pair you in {} until you resume, from your page (the link is in every email from us) or with the first button of this page.", t.trial_name)),
        StillIn::Leave => (MembershipState::Left, "You have left", format!("You have left {} and will not be paired or emailed about it any more. Your details are kept in case you come back; your page lets you join again or delete them.", t.trial_name)),
    };
    (t.state == state).then(|| message(StatusCode::OK, title, &text))
}

#[derive(Deserialize)]
struct ChoiceForm {
    #[serde(default)]
    choice: String,
}

#[derive(Template)]
#[template(path = "public/still_in.html")]
struct StillInPage {
    csrf: CsrfToken,
    token: String,
    name: String,
    trial_name: String,
    paused: bool,
    chosen: Option<&'static str>,
    choices: Vec<Choice>,
    errors: Errors,
}

fn still_in_view(
    csrf: CsrfToken,
    token: String,
    t: StillInTarget,
    wanted: Option<&str>,
    errors: Errors,
) -> HttpResponse {
    let chosen = wanted.and_then(StillIn::parse);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        &StillInPage {
            csrf,
            token,
            paused: t.state == MembershipState::Paused,
            name: t.name,
            trial_name: t.trial_name,
            chosen: chosen.map(|c| c.label()),
            choices: StillIn::ALL
                .into_iter()
                .map(|c| Choice {
                    value: c.as_str(),
                    label: c.label(),
                    chosen: Some(c) == chosen,
                })
                .collect(),
            errors,
        },
    )
}

async fn still_in_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<ChoiceQuery>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    let t = feedback::still_in_target(&store, &token, Utc::now()).await?;
    if let Some(done) = q.done.as_deref().and_then(StillIn::parse) {
        if let Some(page) = still_in_done(&t, done) {
            return Ok(page);
        }
    }
    Ok(still_in_view(
        csrf,
        token,
        t,
        q.choice.as_deref(),
        Errors::default(),
    ))
}

async fn still_in_answer(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<ChoiceForm>,
) -> Result<HttpResponse, PageError> {
    let token = token.into_inner();
    Ok(
        match feedback::answer_still_in(&store, &token, &form.choice, Utc::now()).await {
            Ok((_, choice)) => see_other(&format!("/still-in/{token}?done={}", choice.as_str())),
            Err(FeedbackError::Invalid(errors)) => {
                let t = feedback::still_in_target(&store, &token, Utc::now()).await?;
                still_in_view(csrf, token, t, Some(&form.choice), Errors(errors))
            }
            Err(e) => return Err(e.into()),
        },
    )
}
