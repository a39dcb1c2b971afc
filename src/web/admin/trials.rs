//! Trials in the console: the list, creating one, editing one.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::{see_other, Errors};
use crate::domain::{TrialInput, TrialSettings};
use crate::store::trials::{SaveTrialError, Trial, TrialSummary};
use crate::store::Store;
use crate::web::auth::CurrentOrganiser;
use crate::web::csrf::CsrfToken;
use crate::web::pages::internal_error as internal;
use crate::web::pages::{message, render, render_status};

#[derive(Template)]
#[template(path = "admin/index.html")]
struct IndexPage {
    csrf: CsrfToken,
    organiser: String,
    trials: Vec<TrialSummary>,
}

#[get("/admin")]
pub async fn index(store: Data<Store>, csrf: CsrfToken, me: CurrentOrganiser) -> HttpResponse {
    match store.list_trials().await {
        Ok(trials) => render(&IndexPage {
            csrf,
            organiser: me.0.email,
            trials,
        }),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/trial_form.html")]
struct TrialFormPage {
    csrf: CsrfToken,
    /// None when creating.
    existing_slug: Option<String>,
    input: TrialInput,
    errors: Errors,
    saved: bool,
}

impl TrialFormPage {
    fn is_event(&self) -> bool {
        self.input.kind == "event"
    }
}

fn input_from(trial: &Trial) -> TrialInput {
    TrialInput {
        name: trial.name.clone(),
        slug: trial.slug.clone(),
        description: trial.description.clone(),
        kind: trial.kind.clone(),
        attribute_name: trial.attribute_name.clone(),
        attribute_values: trial.attribute_values.clone(),
        group_size: trial.group_size.to_string(),
        open_for_signup: trial.is_open(),
    }
}

#[get("/admin/trials/new")]
pub async fn new_form(csrf: CsrfToken) -> HttpResponse {
    render(&TrialFormPage {
        csrf,
        existing_slug: None,
        input: TrialInput {
            attribute_name: "Department".into(),
            open_for_signup: true,
            ..Default::default()
        },
        errors: Errors::default(),
        saved: false,
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
        }
    }
}

async fn save(
    store: &Store,
    csrf: CsrfToken,
    existing_slug: Option<String>,
    input: TrialInput,
) -> HttpResponse {
    let page = |errors: Errors| TrialFormPage {
        csrf: csrf.clone(),
        existing_slug: existing_slug.clone(),
        input: input.clone(),
        errors,
        saved: false,
    };
    let settings = match TrialSettings::try_from(&input) {
        Ok(s) => s,
        Err(errors) => {
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page(Errors(errors)))
        }
    };
    let result = match &existing_slug {
        None => store.create_trial(&settings, Utc::now()).await,
        Some(slug) => store.update_trial(slug, &settings, Utc::now()).await,
    };
    match result {
        Ok(trial) => see_other(&format!("/admin/trials/{}?saved=1", trial.slug)),
        Err(SaveTrialError::SlugTaken) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(Errors::one(
                "slug",
                "another trial already uses this address; choose another",
            )),
        ),
        Err(SaveTrialError::NotFound) => not_found(),
        Err(SaveTrialError::Store(e)) => internal(e),
    }
}

fn not_found() -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        "No such trial",
        "There is no trial at this address.",
    )
}

#[post("/admin/trials")]
pub async fn create(store: Data<Store>, csrf: CsrfToken, form: Form<TrialForm>) -> HttpResponse {
    save(&store, csrf, None, form.into_inner().into()).await
}

#[derive(serde::Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

#[get("/admin/trials/{slug}")]
pub async fn show(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    q: actix_web::web::Query<SavedQuery>,
) -> HttpResponse {
    match store.find_trial(&slug).await {
        Ok(Some(trial)) => render(&TrialFormPage {
            csrf,
            existing_slug: Some(trial.slug.clone()),
            input: input_from(&trial),
            errors: Errors::default(),
            saved: q.saved.is_some(),
        }),
        Ok(None) => not_found(),
        Err(e) => internal(e),
    }
}

#[post("/admin/trials/{slug}")]
pub async fn update(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    form: Form<TrialForm>,
) -> HttpResponse {
    save(
        &store,
        csrf,
        Some(slug.into_inner()),
        form.into_inner().into(),
    )
    .await
}
