//! Pages for participants: a trial's sign-up page, and the pages behind the links in their
//! emails (confirm, manage, unsubscribe). Following a link only shows a page; changes happen
//! on that page's POST, because mail scanners open links.
use actix_web::error::{InternalError, UrlencodedError};
use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Data, Form, Path, Query};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use chrono::{Duration, Utc};
use serde::Deserialize;

use crate::app::limits::RateLimits;
use crate::app::signups::{Admission, SignUpDesk};
use crate::app::{
    self,
    participants::{self, ParticipantError},
};
use crate::domain::{MeetingMode, MembershipState, ParticipantInput};
use crate::store::participants::Member;
use crate::store::signup::{LinkPurpose, OtherMember};
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::admin::{see_other, Errors};
use crate::web::client_address::client_address;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{message, render, render_status};

pub mod api;
pub mod events;
pub mod feedback;
pub mod skip;

/// Form bodies are small; anything bigger is refused with 413 before it is parsed.
pub const FORM_LIMIT: usize = 16 * 1024;

fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(FORM_LIMIT)
        .error_handler(|err, _req| {
            let response = match &err {
                UrlencodedError::Overflow { .. } => message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "That was too much text",
                    "The form was far longer than any answer needs. Go back, shorten it and send it again.",
                ),
                _ => message(
                    StatusCode::BAD_REQUEST,
                    "The form could not be read",
                    "Go back, reload the page and send the form again.",
                ),
            };
            InternalError::from_response(err, response).into()
        })
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Resources rather than scopes, so that these prefixes do not hide other routes.
    let resource = |path: &str| web::resource(path.to_string()).app_data(form_config());
    cfg.service(
        resource("/t/{slug}")
            .route(web::get().to(signup_page))
            .route(web::post().to(signup)),
    )
    .service(resource("/t/{slug}/check-email").route(web::get().to(check_email)))
    .service(
        resource("/c/{token}")
            .route(web::get().to(confirm_page))
            .route(web::post().to(confirm)),
    )
    .service(resource("/m/{token}").route(web::get().to(manage_page)))
    .service(resource("/m/{token}/details").route(web::post().to(edit_details)))
    .service(resource("/m/{token}/pause").route(web::post().to(pause)))
    .service(resource("/m/{token}/resume").route(web::post().to(resume)))
    .service(resource("/m/{token}/skip").route(web::post().to(skip)))
    .service(resource("/m/{token}/leave").route(web::post().to(leave)))
    .service(resource("/m/{token}/rejoin").route(web::post().to(rejoin)))
    .service(
        resource("/m/{token}/do-not-pair")
            .route(web::get().to(find_for_do_not_pair))
            .route(web::post().to(set_do_not_pair)),
    )
    .service(resource("/m/{token}/do-not-pair/add").route(web::post().to(add_do_not_pair)))
    .service(resource("/m/{token}/do-not-pair/remove").route(web::post().to(remove_do_not_pair)))
    .service(resource("/m/{token}/export").route(web::get().to(export)))
    .service(
        resource("/m/{token}/erase")
            .route(web::get().to(erase_page))
            .route(web::post().to(erase)),
    )
    .service(
        resource("/u/{token}")
            .route(web::get().to(unsubscribe_page))
            .route(web::post().to(unsubscribe)),
    )
    .service(resource("/u/{token}/one-click").route(web::post().to(one_click_unsubscribe)))
    .service(resource("/data-deleted").route(web::get().to(erased)));
    api::routes(cfg);
    skip::routes(cfg);
    feedback::routes(cfg);
    events::routes(cfg);
}

fn no_such_trial() -> PageError {
    PageError::refused(
        StatusCode::NOT_FOUND,
        "No such trial",
        "There is no coffee trial at this address. Check the link you were given.",
    )
}

fn link_gone() -> PageError {
    PageError::refused(
        StatusCode::GONE,
        "This link no longer works",
        "It has expired, has already been used, or the data behind it has been deleted. Every email from us carries a fresh link; if you signed up but cannot find the email, sign up again with the same address and we will send a new one.",
    )
}

/// The trial at `/t/{slug}`.
async fn public_trial(store: &Store, slug: &str) -> Result<Trial, PageError> {
    app::trials::find(store, slug)
        .await?
        .ok_or_else(no_such_trial)
}

/// A meeting-mode checkbox.
pub struct ModeOption {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

fn mode_options(selected: &[String]) -> Vec<ModeOption> {
    let chosen = MeetingMode::parse_list(selected).unwrap_or_default();
    MeetingMode::ALL
        .iter()
        .map(|m| ModeOption {
            value: m.as_str(),
            label: match m {
                MeetingMode::InPerson => "In person",
                MeetingMode::Video => "By video call",
                MeetingMode::Phone => "By phone",
            },
            checked: chosen.contains(m),
        })
        .collect()
}

/// Reads the participant fields of a form; checkboxes may repeat, so the body is read as pairs.
fn input_from_pairs(pairs: &[(String, String)]) -> (ParticipantInput, bool) {
    let mut input = ParticipantInput::default();
    let mut consent = false;
    for (key, value) in pairs {
        match key.as_str() {
            "name" => input.name = value.clone(),
            "email" => input.email = value.clone(),
            "attribute_value" => input.attribute_value = value.clone(),
            "role" => input.role = value.clone(),
            "site" => input.site = value.clone(),
            "meeting_modes" => input.meeting_modes.push(value.clone()),
            "introduction" => input.introduction = value.clone(),
            "consent" => consent = true,
            _ => {}
        }
    }
    (input, consent)
}

#[derive(Template)]
#[template(path = "public/signup.html")]
struct SignupPage {
    csrf: CsrfToken,
    trial: Trial,
    values: Vec<String>,
    input: ParticipantInput,
    modes: Vec<ModeOption>,
    consent: bool,
    errors: Errors,
    /// A re-rendered form keeps what was typed even when the trial has just closed.
    posted: bool,
}

async fn signup_page(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
) -> Result<HttpResponse, PageError> {
    let trial = public_trial(&store, &slug).await?;
    let errors = if trial.is_open() {
        Errors::default()
    } else {
        Errors::one("trial", "This trial is not taking sign-ups at the moment.")
    };
    Ok(render(&SignupPage {
        csrf,
        values: trial
            .attribute_value_list()
            .iter()
            .map(|v| v.to_string())
            .collect(),
        trial,
        input: ParticipantInput::default(),
        modes: mode_options(&["in_person,video,phone".to_string()]),
        consent: false,
        errors,
        posted: false,
    }))
}

#[derive(Template)]
#[template(path = "public/check_email.html")]
struct CheckEmailPage {
    trial: Trial,
}

async fn signup(
    req: HttpRequest,
    desk: Data<SignUpDesk>,
    csrf: CsrfToken,
    slug: Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let trial = desk.trial(&slug).await?.ok_or_else(no_such_trial)?;
    let (input, consent) = input_from_pairs(&form);
    let checked = participants::check_sign_up(&trial, &input, consent);
    let valid = checked.as_ref().ok().map(|details| (&trial, details));
    // Counted against the address whether or not the form was filled in right, as before
    // the form is even read: a script cannot try without counting.
    let admission = desk
        .sign_up(client_address(&req), valid, Utc::now())
        .await
        .map_err(PageError::unexpected)?;
    let page = |errors| SignupPage {
        csrf: csrf.clone(),
        values: trial
            .attribute_value_list()
            .iter()
            .map(|v| v.to_string())
            .collect(),
        trial: trial.clone(),
        input: input.clone(),
        modes: mode_options(&input.meeting_modes),
        consent,
        errors,
        posted: true,
    };
    match (admission, checked) {
        (Admission::Wait(seconds), _) => Ok(too_many(seconds)),
        (_, Err(ParticipantError::Invalid(errors))) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Errors(errors)),
        )),
        (_, Err(e)) => Err(PageError::unexpected(e)),
        // A page of its own, so that reloading it does not send the form again; it names
        // no address, so the address is not in the URL or the history either.
        (Admission::Done(None), Ok(_)) => Ok(see_other(&format!("/t/{}/check-email", trial.slug))),
        (Admission::Done(Some(event_page)), Ok(_)) => Ok(see_other(&format!("/e/{event_page}"))),
    }
}

async fn check_email(store: Data<Store>, slug: Path<String>) -> Result<HttpResponse, PageError> {
    let trial = public_trial(&store, &slug).await?;
    Ok(render(&CheckEmailPage { trial }))
}

fn too_many(retry_after_seconds: u64) -> HttpResponse {
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-ups at once",
        "We have had a lot of sign-ups from here in the last hour, so we are pausing new ones for a while to keep out spam. Please try again in an hour. If you already signed up, look for our email: it has everything you need.",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(retry_after_seconds),
    );
    response
}

#[derive(Template)]
#[template(path = "public/confirm.html")]
struct ConfirmPage {
    csrf: CsrfToken,
    token: String,
    name: String,
    trial_name: String,
}

async fn confirm_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let found = participants::linked_member(&store, LinkPurpose::Confirm, &token, Utc::now())
        .await
        .map_err(PageError::unexpected)?
        .ok_or_else(link_gone)?;
    Ok(render(&ConfirmPage {
        csrf,
        trial_name: found.trial.name,
        name: found.member.name,
        token: token.into_inner(),
    }))
}

async fn confirm(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    let (found, manage) = participants::confirm(&store, &token, Utc::now())
        .await
        .map_err(PageError::unexpected)?
        .ok_or_else(link_gone)?;
    // An old link followed after leaving proves the address but does not bring them back.
    Ok(if found.member.state == MembershipState::Left {
        see_other(&format!("/m/{manage}?done=confirmed-left"))
    } else {
        see_other(&format!("/m/{manage}?done=confirmed"))
    })
}

/// A member found by their manage link, with their trial.
struct Managed {
    token: String,
    member: Member,
    trial: Trial,
}

async fn managed(store: &Store, token: String) -> Result<Managed, PageError> {
    let found = participants::linked_member(store, LinkPurpose::Manage, &token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    Ok(Managed {
        token,
        member: found.member,
        trial: found.trial,
    })
}

/// Someone the do-not-pair chooser shows, with the button that fits: add or remove.
pub struct PersonOption {
    pub person: OtherMember,
    pub on_list: bool,
}

#[derive(Template)]
#[template(path = "public/manage.html")]
struct ManagePage {
    csrf: CsrfToken,
    token: String,
    member: Member,
    trial: Trial,
    values: Vec<String>,
    input: ParticipantInput,
    modes: Vec<ModeOption>,
    /// The people on the do-not-pair list.
    chosen: Vec<OtherMember>,
    /// People paired with before and not on the list.
    partners: Vec<PersonOption>,
    notice: Option<&'static str>,
    errors: Errors,
    /// The earliest date a pause can end, for the date picker.
    tomorrow: String,
    pause_until: String,
}

impl ManagePage {
    fn state(&self) -> &'static str {
        self.member.state.as_str()
    }

    fn paused_until(&self) -> String {
        self.member
            .paused_until
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    fn skipping(&self) -> bool {
        self.member.skip_next_round
    }
}

fn notice_for(done: &str) -> Option<&'static str> {
    Some(match done {
        "confirmed" => "Thank you: your address is confirmed and you are in. We will email you when you are paired.",
        "confirmed-left" => "Thank you: your address is confirmed. You are not taking part at the moment; rejoin below whenever you like.",
        "details" => "Your details are saved.",
        "paused" => "You are paused. We will not pair you until the date you chose.",
        "resumed" => "Welcome back: you will be included in the next round.",
        "skip" => "You will sit out the next round and be back for the one after.",
        "unskip" => "You will be included in the next round after all.",
        "left" => "You have left the trial. Your details are kept in case you want to come back; delete them below if you prefer.",
        "rejoined" => "Welcome back: you are taking part again.",
        "do-not-pair" => "Your do-not-pair list is saved. Nobody else can see it.",
        "do-not-pair-added" => "Added to your do-not-pair list. Nobody else can see it, and nobody is told.",
        "do-not-pair-removed" => "Taken off your do-not-pair list.",
        _ => return None,
    })
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn manage_view(
    store: &Store,
    csrf: CsrfToken,
    m: Managed,
    input: Option<ParticipantInput>,
    pause_until: String,
    notice: Option<&'static str>,
    errors: Errors,
) -> Result<HttpResponse, PageError> {
    let choices = participants::do_not_pair_choices(store, &m.member).await?;
    let input = input.unwrap_or_else(|| participants::input_from(&m.member));
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &ManagePage {
            csrf,
            values: m
                .trial
                .attribute_value_list()
                .iter()
                .map(|v| v.to_string())
                .collect(),
            modes: mode_options(&input.meeting_modes),
            input,
            chosen: choices.chosen,
            partners: choices
                .partners
                .into_iter()
                .map(|person| PersonOption {
                    person,
                    on_list: false,
                })
                .collect(),
            notice,
            errors,
            tomorrow: (Utc::now().date_naive() + Duration::days(1)).to_string(),
            pause_until,
            token: m.token,
            member: m.member,
            trial: m.trial,
        },
    ))
}

async fn manage_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let notice = q.done.as_deref().and_then(notice_for);
    manage_view(
        &store,
        csrf,
        m,
        None,
        String::new(),
        notice,
        Errors::default(),
    )
    .await
}

/// After a change: back to the manage page with a note, or the page again with the problem.
async fn after(
    store: &Store,
    csrf: CsrfToken,
    m: Managed,
    result: Result<(), ParticipantError>,
    done: &str,
    input: Option<ParticipantInput>,
    pause_until: String,
) -> Result<HttpResponse, PageError> {
    match result {
        Ok(()) => Ok(see_other(&format!("/m/{}?done={done}", m.token))),
        Err(ParticipantError::Invalid(errors)) => {
            manage_view(store, csrf, m, input, pause_until, None, Errors(errors)).await
        }
        Err(e) => Err(PageError::unexpected(e)),
    }
}

async fn edit_details(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let (input, _) = input_from_pairs(&form);
    let result =
        participants::update_details(&store, &m.trial, &m.member, &input, Utc::now()).await;
    after(
        &store,
        csrf,
        m,
        result,
        "details",
        Some(input),
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
struct PauseForm {
    #[serde(default)]
    until: String,
}

async fn pause(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<PauseForm>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::pause(&store, &m.member, &form.until, Utc::now())
        .await
        .map(|_| ());
    let until = form.into_inner().until;
    after(&store, csrf, m, result, "paused", None, until).await
}

async fn resume(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::resume(&store, &m.member, Utc::now()).await;
    after(&store, csrf, m, result, "resumed", None, String::new()).await
}

#[derive(Deserialize)]
struct SkipForm {
    #[serde(default)]
    skip: String,
}

async fn skip(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<SkipForm>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let on = form.skip != "no";
    let result = participants::skip_next_round(&store, &m.member, on, Utc::now()).await;
    let done = if on { "skip" } else { "unskip" };
    after(&store, csrf, m, result, done, None, String::new()).await
}

async fn leave(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::leave(&store, &m.member, Utc::now()).await;
    after(&store, csrf, m, result, "left", None, String::new()).await
}

async fn rejoin(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::rejoin(&store, &m.trial, &m.member, Utc::now()).await;
    after(&store, csrf, m, result, "rejoined", None, String::new()).await
}

async fn set_do_not_pair(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let ids: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "person")
        .map(|(_, v)| v.clone())
        .collect();
    let result = participants::set_do_not_pair(&store, &m.member, &ids, Utc::now())
        .await
        .map(|_| ());
    after(&store, csrf, m, result, "do-not-pair", None, String::new()).await
}

#[derive(Template)]
#[template(path = "public/do_not_pair_find.html")]
struct FindPage {
    csrf: CsrfToken,
    token: String,
    trial_name: String,
    query: String,
    found: Vec<PersonOption>,
    /// More people match than are shown.
    more: bool,
    errors: Errors,
}

#[derive(Deserialize)]
struct FindQuery {
    #[serde(default)]
    q: String,
}

/// The do-not-pair search: a few people whose name contains what was typed, each with a
/// button that adds them. Works without script; limited per person and per client address.
async fn find_for_do_not_pair(
    req: HttpRequest,
    store: Data<Store>,
    limits: Data<RateLimits>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<FindQuery>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let query = q.into_inner().q;
    let (found, more, errors) = if query.trim().is_empty() {
        (Vec::new(), false, Errors::default())
    } else {
        match participants::find_for_do_not_pair(
            &limits,
            &m.member,
            &query,
            client_address(&req),
            Utc::now(),
        )
        .await
        {
            Ok(found) => (found.people, found.more, Errors::default()),
            Err(ParticipantError::Invalid(errors)) => (Vec::new(), false, Errors(errors)),
            Err(e) => return Err(PageError::unexpected(e)),
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else if errors.0.iter().any(|e| e.field == "limit") {
        StatusCode::TOO_MANY_REQUESTS
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render_status(
        status,
        &FindPage {
            csrf,
            token: m.token,
            trial_name: m.trial.name,
            query,
            found: found
                .into_iter()
                .map(|(person, on_list)| PersonOption { person, on_list })
                .collect(),
            more,
            errors,
        },
    ))
}

#[derive(Deserialize)]
struct PersonForm {
    #[serde(default)]
    person: String,
}

async fn add_do_not_pair(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<PersonForm>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::add_do_not_pair(&store, &m.member, &form.person, Utc::now()).await;
    after(
        &store,
        csrf,
        m,
        result,
        "do-not-pair-added#do-not-pair",
        None,
        String::new(),
    )
    .await
}

async fn remove_do_not_pair(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    form: Form<PersonForm>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let result = participants::remove_do_not_pair(&store, &m.member, &form.person).await;
    after(
        &store,
        csrf,
        m,
        result,
        "do-not-pair-removed#do-not-pair",
        None,
        String::new(),
    )
    .await
}

async fn export(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    let data = participants::export(&store, &m.member, Utc::now())
        .await
        .map_err(PageError::unexpected)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"my-coffee-trials-data.json\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(data))
}

#[derive(Template)]
#[template(path = "public/erase.html")]
struct ErasePage {
    csrf: CsrfToken,
    token: String,
    name: String,
}

async fn erase_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    Ok(render(&ErasePage {
        csrf,
        token: m.token,
        name: m.member.name,
    }))
}

async fn erase(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    let m = managed(&store, token.into_inner()).await?;
    participants::erase(&store, &m.member, Utc::now()).await?;
    Ok(see_other("/data-deleted"))
}

/// Where erasing leads; it names nobody, since there is nobody left to name.
async fn erased() -> HttpResponse {
    message(
        StatusCode::OK,
        "Your data has been deleted",
        "Your name, email address and answers are gone from every trial here, and your links no longer work. Past pairings now show a “Former participant”, so nobody’s history is broken. Thank you for taking part.",
    )
}

#[derive(Template)]
#[template(path = "public/unsubscribe.html")]
struct UnsubscribePage {
    csrf: CsrfToken,
    token: String,
    trial_name: String,
    already_left: bool,
    /// Just left with this page's button.
    just_left: bool,
}

async fn unsubscribe_page(
    store: Data<Store>,
    csrf: CsrfToken,
    token: Path<String>,
    q: Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let found = participants::linked_member(&store, LinkPurpose::Unsubscribe, &token, Utc::now())
        .await?
        .ok_or_else(link_gone)?;
    let already_left = found.member.state == MembershipState::Left;
    Ok(render(&UnsubscribePage {
        csrf,
        trial_name: found.trial.name,
        already_left,
        just_left: already_left && q.done.as_deref() == Some("left"),
        token: token.into_inner(),
    }))
}

async fn unsubscribe(store: Data<Store>, token: Path<String>) -> Result<HttpResponse, PageError> {
    participants::unsubscribe(&store, &token, Utc::now())
        .await
        .map_err(PageError::unexpected)?
        .ok_or_else(link_gone)?;
    Ok(see_other(&format!("/u/{token}?done=left")))
}

/// RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click` (urlencoded or multipart),
/// without cookies or a form of ours, so this route alone is exempt from the CSRF check.
async fn one_click_unsubscribe(
    store: Data<Store>,
    token: Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let text = String::from_utf8_lossy(&body);
    if !(text.contains("List-Unsubscribe") && text.contains("One-Click")) {
        return Ok(HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("Expected the body List-Unsubscribe=One-Click (RFC 8058)."));
    }
    Ok(
        match participants::unsubscribe(&store, &token, Utc::now())
            .await
            .map_err(PageError::unexpected)?
        {
            Some(_) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body("Unsubscribed."),
            None => HttpResponse::Gone()
                .content_type("text/plain; charset=utf-8")
                .body("This link no longer works."),
        },
    )
}
