//! Trials in the console: the list, creating one, editing one.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{see_other, Errors};
use crate::app;
use crate::domain::{RoundSettings, RoundSettingsInput, TrialInput, TrialSettings};
use crate::store::trials::{SaveTrialError, Trial, TrialSummary};
use crate::store::Store;
use crate::web::auth::CurrentOrganiser;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};
use crate::web::trial_in_path::TrialInPath;

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    csrf: CsrfToken,
    organiser: String,
    trials: Vec<TrialSummary>,
}

#[get("")]
pub async fn index(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
) -> Result<HttpResponse, PageError> {
    let trials = app::trials::visible_to(&store, &me.0).await?;
    Ok(render(&IndexPage {
        csrf,
        organiser: me.0.email,
        trials,
    }))
}

#[derive(Template)]
#[template(path = "admin/trial_form.html")]
struct TrialFormPage {
    csrf: CsrfToken,
    /// None when creating.
    existing_slug: Option<String>,
    input: TrialInput,
    /// How rounds are run and emailed (a table of their own).
    rounds: RoundSettingsInput,
    errors: Errors,
    saved: bool,
    /// The saved schedule in words, and its next three runs in the trial's zone.
    schedule_words: Option<String>,
    next_runs: Vec<String>,
}

/// What the trial page says about the saved schedule.
fn schedule_summary(trial: &Trial, now: chrono::DateTime<Utc>) -> (Option<String>, Vec<String>) {
    let Some(schedule) = trial
        .schedule
        .as_deref()
        .and_then(|s| crate::domain::Schedule::parse(s).ok())
    else {
        return (None, Vec::new());
    };
    let tz = trial.tz();
    let runs = trial
        .next_runs(now, 3)
        .into_iter()
        .map(|t| crate::domain::local_label(tz, t))
        .collect();
    (Some(schedule.describe()), runs)
}

impl TrialFormPage {
    fn is_event(&self) -> bool {
        crate::domain::TrialKind::parse(&self.input.kind) == Ok(crate::domain::TrialKind::Event)
    }

    /// The names the time-zone field suggests.
    fn zone_names(&self) -> &'static [&'static str] {
        crate::web::dates::zone_names()
    }
}

fn input_from(trial: &Trial) -> TrialInput {
    TrialInput {
        name: trial.name.clone(),
        slug: trial.slug.clone(),
        description: trial.description.clone(),
        kind: trial.kind.as_str().into(),
        attribute_name: trial.attribute_name.clone(),
        attribute_values: trial.attribute_values.clone(),
        group_size: trial.group_size.to_string(),
        open_for_signup: trial.is_open(),
        show_on_home: trial.show_on_home,
        time_zone: trial.time_zone.clone(),
        schedule: trial.schedule.clone().unwrap_or_default(),
        auto_publish: trial.auto_publish,
        notice_hours: trial.notice_hours.to_string(),
        feedback_delay_days: trial.feedback_delay_days.to_string(),
        event_date: trial.event_date.clone().unwrap_or_default(),
        event_place: trial.event_place.clone().unwrap_or_default(),
        event_planned_rounds: trial
            .event_planned_rounds
            .map(|n| n.to_string())
            .unwrap_or_default(),
        event_round_minutes: trial
            .event_round_minutes
            .map(|n| n.to_string())
            .unwrap_or_default(),
    }
}

#[get("/trials/new")]
pub async fn new_form(csrf: CsrfToken) -> HttpResponse {
    render(&TrialFormPage {
        csrf,
        existing_slug: None,
        input: TrialInput {
            attribute_name: "Department".into(),
            open_for_signup: true,
            time_zone: "UTC".into(),
            notice_hours: crate::domain::DEFAULT_NOTICE_HOURS.to_string(),
            feedback_delay_days: crate::domain::DEFAULT_FEEDBACK_DELAY_DAYS.to_string(),
            ..Default::default()
        },
        rounds: RoundSettingsInput::default(),
        errors: Errors::default(),
        saved: false,
        schedule_words: None,
        next_runs: Vec::new(),
    })
}

/// HTML checkboxes send nothing when unticked, so the form has its own shape.
#[derive(serde::Deserialize)]
pub struct TrialForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    attribute_name: String,
    #[serde(default)]
    attribute_values: String,
    #[serde(default)]
    group_size: String,
    open_for_signup: Option<String>,
    show_on_home: Option<String>,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    schedule: String,
    auto_publish: Option<String>,
    #[serde(default)]
    notice_hours: String,
    #[serde(default)]
    feedback_delay_days: String,
    #[serde(default)]
    event_date: String,
    #[serde(default)]
    event_place: String,
    #[serde(default)]
    event_planned_rounds: String,
    #[serde(default)]
    event_round_minutes: String,
    same_site_only: Option<String>,
    #[serde(default)]
    slot_days: String,
    #[serde(default)]
    slot_start: String,
    #[serde(default)]
    slot_end: String,
    #[serde(default)]
    nudge: String,
}

impl TrialForm {
    fn round_settings_input(&self) -> RoundSettingsInput {
        RoundSettingsInput {
            same_site_only: self.same_site_only.is_some(),
            slot_days: self.slot_days.clone(),
            slot_start: self.slot_start.clone(),
            slot_end: self.slot_end.clone(),
            nudge: self.nudge.clone(),
        }
    }
}

impl From<TrialForm> for TrialInput {
    fn from(f: TrialForm) -> Self {
        TrialInput {
            name: f.name,
            slug: f.slug,
            description: f.description,
            kind: f.kind,
            attribute_name: f.attribute_name,
            attribute_values: f.attribute_values,
            group_size: f.group_size,
            open_for_signup: f.open_for_signup.is_some(),
            show_on_home: f.show_on_home.is_some(),
            time_zone: f.time_zone,
            schedule: f.schedule,
            auto_publish: f.auto_publish.is_some(),
            notice_hours: f.notice_hours,
            feedback_delay_days: f.feedback_delay_days,
            event_date: f.event_date,
            event_place: f.event_place,
            event_planned_rounds: f.event_planned_rounds,
            event_round_minutes: f.event_round_minutes,
        }
    }
}

async fn save(
    store: &Store,
    csrf: CsrfToken,
    me: &CurrentOrganiser,
    existing_slug: Option<String>,
    input: TrialInput,
    rounds: RoundSettingsInput,
) -> Result<HttpResponse, PageError> {
    let page = |errors: Errors| TrialFormPage {
        csrf: csrf.clone(),
        existing_slug: existing_slug.clone(),
        input: input.clone(),
        rounds: rounds.clone(),
        errors,
        saved: false,
        schedule_words: None,
        next_runs: Vec::new(),
    };
    let (settings, round_settings) = match (
        TrialSettings::try_from(&input),
        RoundSettings::try_from(&rounds),
    ) {
        (Ok(s), Ok(r)) => (s, r),
        (a, b) => {
            let mut errors = a.err().unwrap_or_default();
            errors.extend(b.err().unwrap_or_default());
            return Ok(render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(Errors(errors)),
            ));
        }
    };
    match app::trials::save(
        store,
        &me.0,
        existing_slug.as_deref(),
        &settings,
        Utc::now(),
    )
    .await
    {
        Ok(trial) => {
            app::trials::save_round_settings(store, trial.id, &round_settings).await?;
            Ok(see_other(&format!("/admin/trials/{}?saved=1", trial.slug)))
        }
        Err(SaveTrialError::SlugTaken) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Errors::one(
                "slug",
                "another trial already uses this address; choose another",
            )),
        )),
        Err(SaveTrialError::NotFound) => Err(PageError::no_such_trial()),
        Err(SaveTrialError::Store(e)) => Err(e.into()),
    }
}

#[post("/trials")]
pub async fn create(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    form: Form<TrialForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let rounds = form.round_settings_input();
    save(&store, csrf, &me, None, form.into(), rounds).await
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[get("/trials/{slug}")]
pub async fn show(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
    csrf: CsrfToken,
    q: actix_web::web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let (schedule_words, next_runs) = schedule_summary(&trial, Utc::now());
    let rounds = app::trials::round_settings(&store, trial.id)
        .await?
        .to_input();
    Ok(render(&TrialFormPage {
        csrf,
        existing_slug: Some(trial.slug.clone()),
        input: input_from(&trial),
        rounds,
        errors: Errors::default(),
        saved: q.saved.is_some(),
        schedule_words,
        next_runs,
    }))
}

#[post("/trials/{slug}")]
pub async fn update(
    store: Data<Store>,
    csrf: CsrfToken,
    me: CurrentOrganiser,
    slug: Path<String>,
    form: Form<TrialForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let rounds = form.round_settings_input();
    save(
        &store,
        csrf,
        &me,
        Some(slug.into_inner()),
        form.into(),
        rounds,
    )
    .await
}
