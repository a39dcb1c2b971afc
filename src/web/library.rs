//! The technique library: the list of techniques, one technique's page, the chooser, and the
//! same three as JSON under `/api/v1/techniques`.
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::library::{
    self, render_markdown, suggest, ChooserQuery, FieldError, Phase, MAX_DURATION_MINUTES,
    MAX_PEOPLE,
};
use crate::store::techniques::{edits_in_this_process, OpenTrial, Technique};
use crate::store::{Store, StoreError};
use crate::web::errors::{log_unexpected, ApiError};
use crate::web::pages::{message, render, render_status};

/// The technique whose page also lists the trials taking sign-ups.
pub const RCT_SLUG: &str = "randomised-coffee-trials";

pub fn routes(cfg: &mut web::ServiceConfig) {
    // One cache per worker (this runs once per worker): no lock is shared between them.
    cfg.app_data(web::Data::new(LibraryCache::default()));
    // actix tries routes in the order they are registered, so `choose` must come before
    // `{slug}` or it would be looked up as a technique.
    cfg.service(list_page)
        .service(choose_page)
        .service(technique_page)
        .service(api_list)
        .service(api_choose)
        .service(api_technique);
}

// ---------------------------------------------------------------------------------------------
// Memory

/// How long a cached page is served before the database is asked whether any technique changed
/// (an edit through another instance); edits through this process are seen at once.
const RECHECK_AFTER: Duration = Duration::from_secs(5);

/// What the library pages are made of, kept in memory until a technique is added or edited:
/// the list without bodies, the rendered list page and each technique's rendered page (except
/// the Randomised Coffee Trials page, which also lists the open trials).
#[derive(Default)]
pub struct LibraryCache {
    techniques: Memo<(), Arc<Vec<Technique>>>,
    list_page: Memo<(), Bytes>,
    technique_pages: Memo<String, Option<Bytes>>,
}

struct Entry<T> {
    edits: u64,
    fingerprint: String,
    checked: Instant,
    value: T,
}

struct Memo<K, T> {
    entries: Mutex<HashMap<K, Entry<T>>>,
}

impl<K, T> Default for Memo<K, T> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, T: Clone> Memo<K, T> {
    /// The value for `key`, built by `build` when there is none yet or techniques changed.
    async fn get<E, F, Fut>(&self, store: &Store, key: K, build: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let edits = edits_in_this_process();
        let known = {
            let mut entries = self.lock();
            match entries.get_mut(&key) {
                Some(e) if e.edits == edits && e.checked.elapsed() < RECHECK_AFTER => {
                    return Ok(e.value.clone())
                }
                Some(e) if e.edits == edits => {
                    // This request asks the database; the others go on with what is kept
                    // meanwhile. When every request that found the check due asked at once,
                    // a database busy with other work (the outbox catching up after a burst
                    // of sign-ups) held them all: p99 637 ms for a page served from memory.
                    e.checked = Instant::now();
                    Some(e.fingerprint.clone())
                }
                _ => None,
            }
        };
        // Read before building: an edit in between leaves an old fingerprint with the entry,
        // so the next check builds again rather than keeping stale content.
        let fingerprint = crate::app::techniques::fingerprint(store).await?;
        if known.as_ref() == Some(&fingerprint) {
            let mut entries = self.lock();
            if let Some(e) = entries
                .get_mut(&key)
                .filter(|e| e.fingerprint == fingerprint)
            {
                e.checked = Instant::now();
                return Ok(e.value.clone());
            }
        }
        let value = build().await?;
        self.lock().insert(
            key,
            Entry {
                edits,
                fingerprint,
                checked: Instant::now(),
                value: value.clone(),
            },
        );
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Entry<T>>> {
        // A panic while holding the lock leaves nothing half-written worth refusing.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl LibraryCache {
    /// Every technique without its body, in list order.
    async fn techniques(&self, store: &Store) -> Result<Arc<Vec<Technique>>, StoreError> {
        self.techniques
            .get(store, (), || async {
                Ok(Arc::new(
                    crate::app::techniques::list_summaries(store).await?,
                ))
            })
            .await
    }
}

fn html(body: Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// A page rendered for keeping.
fn rendered<T: Template>(page: &T) -> Result<Bytes, anyhow::Error> {
    Ok(Bytes::from(page.render()?))
}

// ---------------------------------------------------------------------------------------------
// Pages

#[derive(askama::Template)]
#[template(path = "techniques/list.html")]
struct ListPage {
    cycle: &'static str,
    form: ChooserFormView,
    sections: Vec<PhaseSection>,
}

struct PhaseSection {
    id: &'static str,
    heading: &'static str,
    techniques: Vec<Card>,
}

struct Card {
    slug: String,
    name: String,
    summary: String,
    duration: String,
    people: String,
}

#[derive(askama::Template)]
#[template(path = "techniques/show.html")]
struct TechniquePage {
    name: String,
    summary: String,
    phase_label: &'static str,
    phase_id: &'static str,
    duration: String,
    people: String,
    /// Already sanitised by [`render_markdown`]; the only value a template prints unescaped.
    body_html: String,
    /// `Some` only on the Randomised Coffee Trials page.
    open_trials: Option<Vec<OpenTrial>>,
}

#[derive(askama::Template)]
#[template(path = "techniques/choose.html")]
struct ChoosePage {
    form: ChooserFormView,
    results: Option<Results>,
}

struct Results {
    fits: bool,
    suggestions: Vec<SuggestionView>,
}

struct SuggestionView {
    slug: String,
    name: String,
    reason: String,
}

/// The chooser form as it is drawn: what was typed, and a message per field that needs one.
struct ChooserFormView {
    phases: Vec<PhaseOption>,
    minutes: String,
    people: String,
    phase_error: Option<String>,
    minutes_error: Option<String>,
    people_error: Option<String>,
}

struct PhaseOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

impl ChooserFormView {
    fn new(form: &ChooserForm, errors: &[FieldError]) -> Self {
        let error = |field: &str| {
            errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone())
        };
        let chosen = Phase::parse(&form.phase);
        let mut phases = vec![PhaseOption {
            value: "",
            label: "Any stage",
            selected: chosen.is_none(),
        }];
        phases.extend(Phase::ALL.map(|p| PhaseOption {
            value: p.as_str(),
            label: stage_label(p),
            selected: chosen == Some(p),
        }));
        Self {
            phases,
            minutes: form.minutes.clone(),
            people: form.people.clone(),
            phase_error: error("phase"),
            minutes_error: error("minutes"),
            people_error: error("people"),
        }
    }

    fn has_errors(&self) -> bool {
        self.phase_error.is_some() || self.minutes_error.is_some() || self.people_error.is_some()
    }
}

fn stage_label(phase: Phase) -> &'static str {
    match phase {
        Phase::Before => "About to start",
        Phase::During => "Under way",
        Phase::After => "Finished or finishing",
    }
}

#[get("/techniques")]
async fn list_page(store: web::Data<Store>, cache: web::Data<LibraryCache>) -> HttpResponse {
    let page = cache
        .list_page
        .get(&store, (), || async {
            let techniques = cache.techniques(&store).await?;
            rendered(&list_page_of(&techniques))
        })
        .await;
    match page {
        Ok(body) => html(body),
        Err(e) => unexpected_page(e),
    }
}

fn list_page_of(techniques: &[Technique]) -> ListPage {
    let sections = Phase::ALL
        .into_iter()
        .map(|phase| PhaseSection {
            id: phase.as_str(),
            heading: phase.heading(),
            techniques: techniques
                .iter()
                .filter(|t| t.phase() == phase)
                .map(|t| Card {
                    slug: t.slug.clone(),
                    name: t.name.clone(),
                    summary: t.summary.clone(),
                    duration: duration_words(t),
                    people: people_words(t),
                })
                .collect(),
        })
        .collect();
    ListPage {
        cycle: library::LEARNING_CYCLE,
        form: ChooserFormView::new(&ChooserForm::default(), &[]),
        sections,
    }
}

#[get("/techniques/choose")]
async fn choose_page(
    req: HttpRequest,
    store: web::Data<Store>,
    cache: web::Data<LibraryCache>,
) -> HttpResponse {
    let form = ChooserForm::from_query(req.query_string());
    let query = match form.parse() {
        Ok(query) => query,
        Err(errors) => {
            let page = ChoosePage {
                form: ChooserFormView::new(&form, &errors),
                results: None,
            };
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
    };
    // A first visit shows the empty form rather than the whole library as "suggestions".
    let results = if form.submitted {
        let techniques = match cache.techniques(&store).await {
            Ok(t) => t,
            Err(e) => return unexpected_page(e),
        };
        let suggestions = choose(&query, &techniques);
        Some(Results {
            fits: suggestions.iter().all(|s| s.fits),
            suggestions: suggestions
                .into_iter()
                .map(|s| SuggestionView {
                    reason: sentence(&s.reason),
                    slug: s.slug,
                    name: s.name,
                })
                .collect(),
        })
    } else {
        None
    };
    render(&ChoosePage {
        form: ChooserFormView::new(&form, &[]),
        results,
    })
}

#[get("/techniques/{slug}")]
async fn technique_page(
    slug: web::Path<String>,
    store: web::Data<Store>,
    cache: web::Data<LibraryCache>,
) -> HttpResponse {
    // The Randomised Coffee Trials page lists the open trials, which change without any
    // technique changing: it is rendered every time.
    let page = if slug.as_str() == RCT_SLUG {
        technique_page_body(&store, &slug).await
    } else {
        cache
            .technique_pages
            .get(&store, slug.to_string(), || {
                technique_page_body(&store, &slug)
            })
            .await
    };
    match page {
        Ok(Some(body)) => html(body),
        Ok(None) => message(
            StatusCode::NOT_FOUND,
            "Technique not found",
            "There is no technique at this address. It may have been renamed; \
             the full list is on the techniques page.",
        ),
        Err(e) => unexpected_page(e),
    }
}

/// A technique's page, or None when no technique has this slug.
async fn technique_page_body(store: &Store, slug: &str) -> Result<Option<Bytes>, anyhow::Error> {
    let Some(technique) = crate::app::techniques::find(store, slug).await? else {
        return Ok(None);
    };
    let open_trials = if technique.slug == RCT_SLUG {
        Some(crate::app::home::open_trials(store).await?)
    } else {
        None
    };
    let phase = technique.phase();
    rendered(&TechniquePage {
        phase_label: phase.label(),
        phase_id: phase.as_str(),
        duration: duration_words(&technique),
        people: people_words(&technique),
        body_html: render_markdown(&technique.body_md),
        open_trials,
        name: technique.name,
        summary: technique.summary,
    })
    .map(Some)
}

fn unexpected_page(e: impl Into<anyhow::Error>) -> HttpResponse {
    let reference = log_unexpected(&e.into());
    message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &format!(
            "Something went wrong on our side. Please try again; if it keeps happening, \
             quote reference {reference}."
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// JSON API

#[derive(Serialize, utoipa::ToSchema)]
pub struct TechniqueList {
    techniques: Vec<TechniqueSummaryJson>,
}

/// A technique without its body, as listed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TechniqueSummaryJson {
    slug: String,
    name: String,
    phase: Phase,
    position: i64,
    summary: String,
    duration_min_minutes: i64,
    duration_max_minutes: i64,
    people_min: i64,
    people_max: Option<i64>,
    is_builtin: bool,
    created_at: String,
    updated_at: String,
}

impl From<Technique> for TechniqueSummaryJson {
    fn from(t: Technique) -> Self {
        Self {
            phase: t.phase(),
            slug: t.slug,
            name: t.name,
            position: t.position,
            summary: t.summary,
            duration_min_minutes: t.duration_min_minutes,
            duration_max_minutes: t.duration_max_minutes,
            people_min: t.people_min,
            people_max: t.people_max,
            is_builtin: t.is_builtin,
            created_at: crate::store::time::to_db(t.created_at),
            updated_at: crate::store::time::to_db(t.updated_at),
        }
    }
}

/// One technique in full: its Markdown and the same rendered safely as HTML.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TechniqueJson {
    #[serde(flatten)]
    summary: TechniqueSummaryJson,
    body_md: String,
    body_html: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SuggestionList {
    suggestions: Vec<library::Suggestion>,
}

/// Every technique, or one stage's, without the descriptions.
#[utoipa::path(get, path = "/api/v1/techniques", tag = "techniques",
    params(("phase" = Option<Phase>, Query, description = "Only this stage of the work")),
    responses(
        (status = 200, description = "The techniques", body = TechniqueList),
        (status = 422, description = "An unknown stage (`field` is `phase`)", body = crate::web::errors::ErrorBody),
    ))]
#[get("/api/v1/techniques")]
async fn api_list(
    req: HttpRequest,
    store: web::Data<Store>,
    cache: web::Data<LibraryCache>,
) -> Result<HttpResponse, ApiError> {
    let form = ChooserForm::from_query(req.query_string());
    let phase = parse_phase(&form.phase).map_err(invalid)?;
    let techniques = cache
        .techniques(&store)
        .await?
        .iter()
        .filter(|t| phase.is_none_or(|p| t.phase() == p))
        .cloned()
        .map(TechniqueSummaryJson::from)
        .collect();
    Ok(HttpResponse::Ok().json(TechniqueList { techniques }))
}

/// Suggests techniques for a moment: every field is optional.
#[utoipa::path(get, path = "/api/v1/techniques/choose", tag = "techniques",
    params(
        ("phase" = Option<Phase>, Query, description = "The stage of the work"),
        ("minutes" = Option<i64>, Query, description = "The time available, in minutes"),
        ("people" = Option<i64>, Query, description = "How many people take part"),
    ),
    responses(
        (status = 200, description = "Suggestions; `fits` is false for near misses", body = SuggestionList),
        (status = 422, description = "A value it cannot use (`field` names it)", body = crate::web::errors::ErrorBody),
    ))]
#[get("/api/v1/techniques/choose")]
async fn api_choose(
    req: HttpRequest,
    store: web::Data<Store>,
    cache: web::Data<LibraryCache>,
) -> Result<HttpResponse, ApiError> {
    let query = ChooserForm::from_query(req.query_string())
        .parse()
        .map_err(|mut errors| invalid(errors.remove(0)))?;
    let techniques = cache.techniques(&store).await?;
    Ok(HttpResponse::Ok().json(SuggestionList {
        suggestions: choose(&query, &techniques),
    }))
}

/// One technique in full.
#[utoipa::path(get, path = "/api/v1/techniques/{slug}", tag = "techniques",
    params(("slug" = String, Path, description = "The technique's short name")),
    responses(
        (status = 200, description = "The technique", body = TechniqueJson),
        (status = 404, description = "No technique has this slug", body = crate::web::errors::ErrorBody),
    ))]
#[get("/api/v1/techniques/{slug}")]
async fn api_technique(
    slug: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, ApiError> {
    let technique = crate::app::techniques::find(&store, &slug)
        .await?
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, "no technique has this slug"))?;
    let body_html = render_markdown(&technique.body_md);
    let body_md = technique.body_md.clone();
    Ok(HttpResponse::Ok().json(TechniqueJson {
        summary: technique.into(),
        body_md,
        body_html,
    }))
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, e.field, e.message)
}

// ---------------------------------------------------------------------------------------------
// The chooser's input

/// The chooser's fields exactly as typed. Read by hand from the query string rather than with
/// `web::Query`, whose failures (a repeated field, say) would be a bare 400 instead of a
/// message next to the field.
#[derive(Debug, Default, PartialEq, Eq)]
struct ChooserForm {
    phase: String,
    minutes: String,
    people: String,
    /// Whether any of the fields came with the request.
    submitted: bool,
}

impl ChooserForm {
    fn from_query(query_string: &str) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(query_string).unwrap_or_default();
        let mut form = ChooserForm::default();
        let mut seen = [false; 3];
        for (key, value) in pairs {
            let (slot, index) = match key.as_str() {
                "phase" => (&mut form.phase, 0),
                "minutes" => (&mut form.minutes, 1),
                "people" => (&mut form.people, 2),
                _ => continue,
            };
            // The first value of a repeated field wins.
            if !seen[index] {
                seen[index] = true;
                *slot = value;
            }
        }
        form.submitted = seen.contains(&true);
        form
    }

    /// Every field is optional; a blank one does not narrow the choice.
    fn parse(&self) -> Result<ChooserQuery, Vec<FieldError>> {
        let mut errors = Vec::new();
        let phase = parse_phase(&self.phase).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let minutes_available = parse_count(&self.minutes, max_u32(MAX_DURATION_MINUTES))
            .unwrap_or_else(|max| {
                errors.push(FieldError {
                    field: "minutes",
                    message: format!(
                        "Enter the time you have in minutes as a whole number from 1 to {max}, \
                     for example 45, or leave it blank."
                    ),
                });
                None
            });
        let people = parse_count(&self.people, max_u32(MAX_PEOPLE)).unwrap_or_else(|max| {
            errors.push(FieldError {
                field: "people",
                message: format!(
                    "Enter the number of people as a whole number from 1 to {max}, \
                     for example 6, or leave it blank."
                ),
            });
            None
        });
        if errors.is_empty() {
            Ok(ChooserQuery {
                phase,
                minutes_available,
                people,
            })
        } else {
            Err(errors)
        }
    }
}

fn parse_phase(value: &str) -> Result<Option<Phase>, FieldError> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("any") {
        return Ok(None);
    }
    Phase::parse(value).map(Some).ok_or_else(|| FieldError {
        field: "phase",
        message: "Choose before, during or after, or leave it blank for any stage.".to_string(),
    })
}

/// A blank field is `None`; anything but a whole number from 1 to `max` is refused with `max`.
fn parse_count(value: &str, max: u32) -> Result<Option<u32>, u32> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    // Digits only: `parse` would also take a leading `+`.
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(max);
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
        _ => Err(max),
    }
}

fn max_u32(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn choose(query: &ChooserQuery, techniques: &[Technique]) -> Vec<library::Suggestion> {
    let facts: Vec<_> = techniques.iter().map(Technique::facts).collect();
    suggest(query, &facts)
}

// ---------------------------------------------------------------------------------------------
// Words

/// The reason from the chooser with a capital letter, to stand as a sentence.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// "30 minutes", "30–60 minutes", "1–1.5 hours", "45 minutes to 1.5 hours".
fn duration_words(t: &Technique) -> String {
    let lo = t.duration_min_minutes.max(0);
    let hi = t.duration_max_minutes;
    if hi <= lo {
        minutes_words(lo)
    } else if hi <= 60 {
        format!("{lo}–{hi} minutes")
    } else if lo >= 60 && lo % 30 == 0 && hi % 30 == 0 {
        format!("{}–{} hours", hours(lo), hours(hi))
    } else {
        format!("{} to {}", minutes_words(lo), minutes_words(hi))
    }
}

fn minutes_words(m: i64) -> String {
    match m {
        1 => "1 minute".to_string(),
        m if m < 60 => format!("{m} minutes"),
        60 => "1 hour".to_string(),
        m if m % 30 == 0 => format!("{} hours", hours(m)),
        m => format!(
            "{} and {}",
            minutes_words(m - m % 60),
            minutes_words(m % 60)
        ),
    }
}

/// Whole and half hours as a number: 60 is "1", 90 is "1.5".
fn hours(m: i64) -> String {
    if m % 60 == 0 {
        (m / 60).to_string()
    } else {
        format!("{}.5", m / 60)
    }
}

/// "2 people", "2–8 people", "3+ people", "any number of people".
fn people_words(t: &Technique) -> String {
    let lo = t.people_min.max(1);
    match t.people_max {
        None if lo == 1 => "any number of people".to_string(),
        None => format!("{lo}+ people"),
        Some(hi) if hi <= lo && lo == 1 => "1 person".to_string(),
        Some(hi) if hi <= lo => format!("{lo} people"),
        Some(hi) => format!("{lo}–{hi} people"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn technique(minutes: (i64, i64), people: (i64, Option<i64>)) -> Technique {
        Technique {
            id: 1,
            slug: "t".into(),
            name: "T".into(),
            phase: Phase::During,
            position: 1,
            summary: String::new(),
            duration_min_minutes: minutes.0,
            duration_max_minutes: minutes.1,
            people_min: people.0,
            people_max: people.1,
            body_md: String::new(),
            is_builtin: false,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn durations_in_words() {
        let cases = [
            ((30, 30), "30 minutes"),
            ((30, 60), "30–60 minutes"),
            ((10, 60), "10–60 minutes"),
            ((60, 90), "1–1.5 hours"),
            ((120, 480), "2–8 hours"),
            ((45, 90), "45 minutes to 1.5 hours"),
            ((60, 75), "1 hour to 1 hour and 15 minutes"),
            ((60, 60), "1 hour"),
            ((1, 1), "1 minute"),
        ];
        for (minutes, expected) in cases {
            assert_eq!(
                duration_words(&technique(minutes, (1, None))),
                expected,
                "{minutes:?}"
            );
        }
    }

    #[test]
    fn group_sizes_in_words() {
        let cases = [
            ((2, Some(2)), "2 people"),
            ((2, Some(8)), "2–8 people"),
            ((3, None), "3+ people"),
            ((1, None), "any number of people"),
            ((1, Some(1)), "1 person"),
        ];
        for (people, expected) in cases {
            assert_eq!(
                people_words(&technique((30, 30), people)),
                expected,
                "{people:?}"
            );
        }
    }

    fn form(query: &str) -> ChooserForm {
        ChooserForm::from_query(query)
    }

    fn error_fields(query: &str) -> Vec<&'static str> {
        form(query)
            .parse()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn chooser_reads_the_query_string() {
        assert_eq!(form(""), ChooserForm::default());
        let f = form("phase=during&minutes=+45+&people=6&other=x&minutes=9");
        assert_eq!(f.phase, "during");
        assert_eq!(f.minutes, " 45 ");
        assert_eq!(f.people, "6");
        assert!(f.submitted);
        assert_eq!(
            f.parse(),
            Ok(ChooserQuery {
                phase: Some(Phase::During),
                minutes_available: Some(45),
                people: Some(6),
            })
        );
        assert_eq!(
            form("phase=&minutes=&people=").parse(),
            Ok(ChooserQuery::default())
        );
        assert!(form("phase=").submitted);
        assert!(!form("utm=1").submitted);
        // Malformed escapes are taken literally, never a failure.
        assert_eq!(error_fields("minutes=%zz"), ["minutes"]);
    }

    #[test]
    fn chooser_refuses_what_is_not_a_count() {
        for bad in [
            "abc",
            "-5",
            "0",
            "1.5",
            "%2B5",
            "10081",
            "99999999999999999999",
        ] {
            assert_eq!(
                error_fields(&format!("minutes={bad}")),
                ["minutes"],
                "{bad}"
            );
        }
        for bad in ["x", "-1", "0", "100001"] {
            assert_eq!(error_fields(&format!("people={bad}")), ["people"], "{bad}");
        }
        assert_eq!(
            error_fields("phase=later&minutes=abc&people=0"),
            ["phase", "minutes", "people"]
        );
        assert_eq!(
            error_fields("phase=ANY&minutes=10080&people=100000"),
            [] as [&str; 0]
        );
    }

    #[test]
    fn sentences_start_with_a_capital() {
        assert_eq!(sentence("for work; fits"), "For work; fits.");
        assert_eq!(sentence(""), "");
    }
}
