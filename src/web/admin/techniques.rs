//! Editing the technique library in the console: organisers correct the built-in techniques
//! and add their own. The Markdown is rendered safely on the public pages.
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpResponse};
use askama::Template;

use super::{see_other, Errors};
use crate::app;
use crate::domain::FieldError;
use crate::library::{validate_technique_input, TechniqueInput};
use crate::store::techniques::{Technique, TechniqueWriteError};
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};

#[derive(Template)]
#[template(path = "admin/techniques.html")]
struct ListPage {
    csrf: CsrfToken,
    techniques: Vec<Technique>,
}

/// The form's raw values, kept as typed so they can be shown again.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct TechniqueForm {
    slug: String,
    name: String,
    phase: String,
    summary: String,
    duration_min_minutes: String,
    duration_max_minutes: String,
    people_min: String,
    people_max: String,
    body_md: String,
}

#[derive(Template)]
#[template(path = "admin/technique_form.html")]
struct FormPage {
    csrf: CsrfToken,
    existing_slug: Option<String>,
    form: TechniqueForm,
    errors: Errors,
}

#[get("/techniques")]
pub async fn list(store: Data<Store>, csrf: CsrfToken) -> Result<HttpResponse, PageError> {
    let techniques = app::techniques::list(&store).await?;
    Ok(render(&ListPage { csrf, techniques }))
}

fn no_such_technique() -> PageError {
    PageError::NotFound {
        title: "No such technique",
        message: "There is no technique at this address.",
    }
}

#[get("/techniques/new")]
pub async fn new_form(csrf: CsrfToken) -> HttpResponse {
    let form = TechniqueForm {
        phase: "during".into(),
        body_md: "## What it is for\n\n\n## How to run it\n\n1. \n\n## When to use it\n\n\n## Example\n\n".into(),
        ..Default::default()
    };
    render(&FormPage {
        csrf,
        existing_slug: None,
        form,
        errors: Errors::default(),
    })
}

#[get("/techniques/{slug}")]
pub async fn edit_form(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
) -> Result<HttpResponse, PageError> {
    let t = app::techniques::find(&store, &slug)
        .await?
        .ok_or_else(no_such_technique)?;
    Ok(render(&FormPage {
        csrf,
        existing_slug: Some(t.slug.clone()),
        form: TechniqueForm {
            slug: t.slug,
            name: t.name,
            phase: t.phase.as_str().to_string(),
            summary: t.summary,
            duration_min_minutes: t.duration_min_minutes.to_string(),
            duration_max_minutes: t.duration_max_minutes.to_string(),
            people_min: t.people_min.to_string(),
            people_max: t.people_max.map(|n| n.to_string()).unwrap_or_default(),
            body_md: t.body_md,
        },
        errors: Errors::default(),
    }))
}

fn number(errors: &mut Vec<FieldError>, field: &'static str, raw: &str) -> i64 {
    match raw.trim().parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            errors.push(FieldError::new(field, "enter a whole number"));
            0
        }
    }
}

async fn save(
    store: &Store,
    csrf: CsrfToken,
    existing_slug: Option<String>,
    form: TechniqueForm,
) -> Result<HttpResponse, PageError> {
    let mut errors = Vec::new();
    let duration_min_minutes = number(
        &mut errors,
        "duration_min_minutes",
        &form.duration_min_minutes,
    );
    let duration_max_minutes = number(
        &mut errors,
        "duration_max_minutes",
        &form.duration_max_minutes,
    );
    let people_min = number(&mut errors, "people_min", &form.people_min);
    let people_max = match form.people_max.trim() {
        "" => None,
        raw => Some(number(&mut errors, "people_max", raw)),
    };
    let input = TechniqueInput {
        slug: form.slug.trim(),
        name: form.name.trim(),
        phase: form.phase.trim(),
        summary: form.summary.trim(),
        duration_min_minutes,
        duration_max_minutes,
        people_min,
        people_max,
        body_md: &form.body_md,
    };
    if let Err(found) = validate_technique_input(&input) {
        for e in found {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(FieldError::new(e.field, e.message));
            }
        }
    }
    if input.slug == "choose" || input.slug == "new" {
        errors.push(FieldError::new(
            "slug",
            "this address is taken by a page of the library; choose another",
        ));
    }
    let page = |errors: Vec<FieldError>| FormPage {
        csrf: csrf.clone(),
        existing_slug: existing_slug.clone(),
        form: form.clone(),
        errors: Errors(errors),
    };
    if !errors.is_empty() {
        return Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(errors),
        ));
    }
    match app::techniques::save(store, existing_slug.as_deref(), &input).await {
        Ok(t) => Ok(see_other(&format!("/techniques/{}", t.slug))),
        Err(TechniqueWriteError::SlugTaken) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(vec![FieldError::new(
                "slug",
                "another technique already uses this address",
            )]),
        )),
        Err(TechniqueWriteError::NotFound) => Err(no_such_technique()),
        Err(TechniqueWriteError::Store(e)) => Err(e.into()),
    }
}

#[post("/techniques")]
pub async fn create(
    store: Data<Store>,
    csrf: CsrfToken,
    form: Form<TechniqueForm>,
) -> Result<HttpResponse, PageError> {
    save(&store, csrf, None, form.into_inner()).await
}

#[post("/techniques/{slug}")]
pub async fn update(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    form: Form<TechniqueForm>,
) -> Result<HttpResponse, PageError> {
    save(&store, csrf, Some(slug.into_inner()), form.into_inner()).await
}
