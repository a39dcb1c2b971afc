//! A trial's participants in the console: search, look at one person, pause, resume, remove,
//! and export as CSV. The organiser actions are shared with the JSON API.
use actix_web::http::{header, StatusCode};
use actix_web::web::{Data, Form, Path, Query};
use actix_web::{get, post, HttpResponse};
use askama::Template;
use chrono::Utc;

use super::see_other;
use crate::app;
use crate::app::participants::{self as rules, ParticipantError, PersonHistory};
use crate::domain::{FieldError, MembershipState};
use crate::store::history::HistoryFilter;
use crate::store::participants::{Member, MemberQuery};
use crate::store::time::to_db;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::csrf::CsrfToken;
use crate::web::dates::filters;
use crate::web::errors::PageError;
use crate::web::pages::{render, render_status};

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(list)
        .service(export)
        .service(show)
        .service(pause_post)
        .service(resume_post)
        .service(remove_post);
}

const PAGE_SIZE: i64 = 50;
/// The trial's people as CSV (RFC 4180: header row, quotes where needed, CRLF).
pub fn export_csv(trial: &Trial, members: &[Member]) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let attribute = if trial.attribute_name.trim().is_empty() {
        "group"
    } else {
        trial.attribute_name.as_str()
    };
    let header = [
        "id",
        "name",
        "email",
        "state",
        attribute,
        "role",
        "site",
        "team",
        "meeting_modes",
        "paused_until",
        "joined_at",
        "confirmed_at",
        "needs_attention",
    ];
    // Writing to a Vec cannot fail.
    let _ = out.write_record(header.map(spreadsheet_safe));
    for m in members {
        let _ = out.write_record([
            spreadsheet_safe(&m.public_id),
            spreadsheet_safe(&m.name),
            spreadsheet_safe(m.email.as_deref().unwrap_or("")),
            spreadsheet_safe(m.state.as_str()),
            spreadsheet_safe(&m.attribute_value),
            spreadsheet_safe(&m.role),
            spreadsheet_safe(&m.site),
            spreadsheet_safe(&m.team),
            spreadsheet_safe(&m.meeting_modes),
            spreadsheet_safe(&m.paused_until.map(to_db).unwrap_or_default()),
            spreadsheet_safe(&to_db(m.created_at)),
            spreadsheet_safe(&m.confirmed_at.map(to_db).unwrap_or_default()),
            spreadsheet_safe(m.needs_attention.as_deref().unwrap_or("")),
        ]);
    }
    out.into_inner().unwrap_or_default()
}

/// Spreadsheets run a cell that starts with = + - @ (or a tab or carriage return, which some
/// of them skip first) as a formula; a leading apostrophe makes it plain text.
pub fn spreadsheet_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

fn no_such_trial() -> PageError {
    PageError::refused(
        StatusCode::NOT_FOUND,
        "No such trial",
        "There is no trial at this address.",
    )
}

fn no_such_participant() -> PageError {
    PageError::refused(
        StatusCode::NOT_FOUND,
        "No such participant",
        "There is no participant at this address.",
    )
}

/// The trial in the path, with this page's own 404.
async fn trial(store: &Store, slug: &str) -> Result<Trial, PageError> {
    app::trials::find(store, slug)
        .await?
        .ok_or_else(no_such_trial)
}

#[derive(serde::Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Part of a name or email address.
    search: String,
    /// `pending`, `active`, `paused`, `left` or `erased`; empty for all.
    state: String,
    /// "1": only people whose email needs attention.
    attention: String,
    /// One of [`HistoryFilter`]'s words: never paired, gave feedback, email problems...
    history: String,
    /// The console's page number (the API pages with `limit` and `offset`).
    #[param(ignore)]
    page: Option<i64>,
}

impl ListQuery {
    fn member_query(&self) -> MemberQuery {
        MemberQuery {
            search: Some(self.search.trim().to_string()).filter(|s| !s.is_empty()),
            state: MembershipState::parse(self.state.trim()),
            needs_attention: self.attention.trim() == "1",
            history: HistoryFilter::parse(self.history.trim()),
            ..Default::default()
        }
    }

    /// The filters as a query string, for links that keep them.
    fn filters(&self) -> String {
        let mut filters = vec![("search", self.search.trim()), ("state", self.state.trim())];
        if self.attention.trim() == "1" {
            filters.push(("attention", "1"));
        }
        if let Some(h) = HistoryFilter::parse(self.history.trim()) {
            filters.push(("history", h.as_str()));
        }
        serde_urlencoded::to_string(filters).unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "admin/participants.html")]
struct ListPage {
    csrf: CsrfToken,
    trial: Trial,
    members: Vec<Member>,
    counts: Vec<(MembershipState, i64)>,
    search: String,
    state: String,
    attention: bool,
    history: Option<HistoryFilter>,
    filters: String,
    matching: i64,
    page: i64,
    pages: i64,
}

const STATES: [&str; 5] = ["pending", "active", "paused", "left", "erased"];

impl ListPage {
    fn states(&self) -> &'static [&'static str] {
        &STATES
    }

    fn histories(&self) -> &'static [HistoryFilter] {
        &HistoryFilter::ALL
    }

    fn history_is(&self, word: &str) -> bool {
        self.history.is_some_and(|h| h.as_str() == word)
    }
}

#[get("/trials/{slug}/participants")]
pub async fn list(
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    q: Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let trial = trial(&store, &slug).await?;
    let query = q.member_query();
    let attention = query.needs_attention;
    let history = query.history;
    let found = rules::roster_page(&store, &trial, query, q.page, PAGE_SIZE).await?;
    Ok(render(&ListPage {
        csrf,
        trial,
        members: found.members,
        counts: found.counts,
        search: q.search.trim().to_string(),
        state: q.state.trim().to_string(),
        attention,
        history,
        filters: q.filters(),
        matching: found.matching,
        page: found.page,
        pages: found.pages,
    }))
}

#[get("/trials/{slug}/participants.csv")]
pub async fn export(
    store: Data<Store>,
    slug: Path<String>,
    q: Query<ListQuery>,
) -> Result<HttpResponse, PageError> {
    let trial = trial(&store, &slug).await?;
    let members = rules::list_members(&store, &trial, &q.member_query()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-participants.csv\"", trial.slug),
        ))
        // Personal data: not for shared caches.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::web::csv_file::with_bom(export_csv(&trial, &members))))
}

#[derive(Template)]
#[template(path = "admin/participant.html")]
struct PersonPage {
    csrf: CsrfToken,
    trial: Trial,
    member: Member,
    history: PersonHistory,
    until: String,
    error: Option<FieldError>,
    done: Option<String>,
}

impl PersonPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.error
            .as_ref()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

async fn trial_and_member(
    store: &Store,
    slug: &str,
    public_id: &str,
) -> Result<(Trial, Member), PageError> {
    let trial = trial(store, slug).await?;
    let member = rules::find_member(store, &trial, public_id)
        .await?
        .ok_or_else(no_such_participant)?;
    Ok((trial, member))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct DoneQuery {
    done: String,
}

#[get("/trials/{slug}/participants/{public_id}")]
pub async fn show(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, String)>,
    q: Query<DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let (slug, public_id) = path.into_inner();
    let trial = trial(&store, &slug).await?;
    let (member, history) = rules::person_with_history(&store, &trial, &public_id)
        .await?
        .ok_or_else(no_such_participant)?;
    let done = match q.done.as_str() {
        "paused" => Some("Paused.".to_string()),
        "resumed" => Some("Active again.".to_string()),
        "removed" => Some("Removed from the trial.".to_string()),
        _ => None,
    };
    Ok(render(&PersonPage {
        csrf,
        trial,
        member,
        history,
        until: String::new(),
        error: None,
        done,
    }))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PauseForm {
    until: String,
}

/// Runs an action, then shows the person again: after a redirect when it worked, or with the
/// reason at the field when it did not.
async fn act(
    store: &Store,
    csrf: CsrfToken,
    path: (String, String),
    until: String,
    done: &str,
    action: impl AsyncFnOnce(&Store, &Member) -> Result<(), ParticipantError>,
) -> Result<HttpResponse, PageError> {
    let (slug, public_id) = path;
    let (trial, member) = trial_and_member(store, &slug, &public_id).await?;
    match action(store, &member).await {
        Ok(()) => Ok(see_other(&format!(
            "/admin/trials/{}/participants/{}?done={done}",
            trial.slug, member.public_id
        ))),
        Err(ParticipantError::Invalid(errors)) => Ok(render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PersonPage {
                csrf,
                history: rules::person_history(store, &trial, &member).await?,
                trial,
                member,
                until,
                error: errors.into_iter().next(),
                done: None,
            },
        )),
        Err(e) => Err(PageError::unexpected(e)),
    }
}

#[post("/trials/{slug}/participants/{public_id}/pause")]
pub async fn pause_post(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, String)>,
    form: Form<PauseForm>,
) -> Result<HttpResponse, PageError> {
    let until = form.into_inner().until;
    let given = until.clone();
    act(
        &store,
        csrf,
        path.into_inner(),
        until,
        "paused",
        async move |s, m| rules::pause_by_organiser(s, m, &given, Utc::now()).await,
    )
    .await
}

#[post("/trials/{slug}/participants/{public_id}/resume")]
pub async fn resume_post(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    act(
        &store,
        csrf,
        path.into_inner(),
        String::new(),
        "resumed",
        async |s, m| rules::resume_by_organiser(s, m, Utc::now()).await,
    )
    .await
}

#[post("/trials/{slug}/participants/{public_id}/remove")]
pub async fn remove_post(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    act(
        &store,
        csrf,
        path.into_inner(),
        String::new(),
        "removed",
        async |s, m| rules::remove_by_organiser(s, m, Utc::now()).await,
    )
    .await
}

/// The same through the JSON API (bearer token; see web::auth).
pub mod api {
    use actix_web::http::StatusCode;
    use actix_web::web::{self, Data, Json, Path, Query};
    use actix_web::HttpResponse;
    use chrono::Utc;
    use serde::Serialize;

    use super::ListQuery;
    use crate::app::participants::{self as rules, ParticipantError};
    use crate::domain::{MembershipState, ParticipantDetails, ParticipantInput};
    use crate::store::history::HistoryFilter;
    use crate::store::participants::{AddOutcome, Member};
    use crate::store::time::to_db;
    use crate::store::trials::Trial;
    use crate::store::Store;
    use crate::web::admin::api::SlugParam;
    use crate::web::errors::{ApiError, ErrorBody};

    /// `/api/v1/trials/{slug}/participants/{public_id}`.
    #[derive(serde::Deserialize, utoipa::IntoParams)]
    #[into_params(parameter_in = Path)]
    pub struct PersonParams {
        /// The trial's short address.
        pub slug: String,
        /// The person's `id` in the list.
        pub public_id: String,
    }

    pub fn routes(cfg: &mut web::ServiceConfig) {
        cfg.service(
            web::resource("/trials/{slug}/participants")
                .route(web::get().to(list))
                .route(web::post().to(add)),
        )
        .route(
            "/trials/{slug}/participants/{public_id}",
            web::get().to(show),
        )
        .route(
            "/trials/{slug}/participants/{public_id}/pause",
            web::post().to(pause),
        )
        .route(
            "/trials/{slug}/participants/{public_id}/resume",
            web::post().to(resume),
        )
        .route(
            "/trials/{slug}/participants/{public_id}/remove",
            web::post().to(remove),
        );
    }

    /// A person as the API shows them: no internal row ids.
    #[derive(Serialize, utoipa::ToSchema)]
    pub struct MemberView<'a> {
        /// The person's public id in this trial.
        id: &'a str,
        name: &'a str,
        email: Option<&'a str>,
        /// `pending`, `active`, `paused`, `left` or `erased`.
        state: &'a str,
        attribute_value: &'a str,
        role: &'a str,
        site: &'a str,
        team: &'a str,
        /// Comma-separated: `in_person`, `video`, `phone`.
        meeting_modes: &'a str,
        paused_until: Option<String>,
        joined_at: String,
        confirmed_at: Option<String>,
        /// Why email to this person needs attention (it bounced or failed), if it does.
        needs_attention: Option<&'a str>,
    }

    /// A page of the trial's people, and how many match in all.
    #[derive(Serialize, utoipa::ToSchema)]
    pub struct MemberList<'a> {
        participants: Vec<MemberView<'a>>,
        total: i64,
    }

    fn view(m: &Member) -> MemberView<'_> {
        MemberView {
            id: &m.public_id,
            name: &m.name,
            email: m.email.as_deref(),
            state: m.state.as_str(),
            attribute_value: &m.attribute_value,
            role: &m.role,
            site: &m.site,
            team: &m.team,
            meeting_modes: &m.meeting_modes,
            paused_until: m.paused_until.map(to_db),
            joined_at: to_db(m.created_at),
            confirmed_at: m.confirmed_at.map(to_db),
            needs_attention: m.needs_attention.as_deref(),
        }
    }

    /// A refused action: about the person's state it conflicts (409), about input it is 422.
    fn refused(e: ParticipantError) -> ApiError {
        match e {
            ParticipantError::Invalid(errors) => match errors.into_iter().next() {
                Some(f) => {
                    let status = if f.field == "state" {
                        StatusCode::CONFLICT
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    ApiError::field(status, f.field, f.message)
                }
                None => ApiError::status(StatusCode::UNPROCESSABLE_ENTITY, "invalid input"),
            },
            other => ApiError::Unexpected(other.into()),
        }
    }

    async fn trial(store: &Store, slug: &str) -> Result<Trial, ApiError> {
        crate::app::trials::find(store, slug)
            .await?
            .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, "no such trial"))
    }

    async fn member(store: &Store, slug: &str, public_id: &str) -> Result<Member, ApiError> {
        let trial = trial(store, slug).await?;
        rules::find_member(store, &trial, public_id)
            .await?
            .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, "no such participant"))
    }

    #[derive(serde::Deserialize, Default, utoipa::IntoParams)]
    #[into_params(parameter_in = Query)]
    #[serde(default)]
    pub struct Paging {
        /// How many to answer: 100 when left out, at most 1000.
        limit: Option<i64>,
        /// How many to skip.
        offset: i64,
    }

    /// The trial's people, filtered and paged.
    #[utoipa::path(get, path = "/api/v1/trials/{slug}/participants", tag = "participants",
        params(SlugParam, ListQuery, Paging),
        responses(
            (status = 200, description = "A page of people", body = MemberList),
            (status = 422, description = "An unknown `state`", body = ErrorBody),
        ))]
    pub async fn list(
        store: Data<Store>,
        slug: Path<String>,
        filters: Query<ListQuery>,
        paging: Query<Paging>,
    ) -> Result<HttpResponse, ApiError> {
        let trial = trial(&store, &slug).await?;
        if !filters.state.trim().is_empty()
            && MembershipState::parse(filters.state.trim()).is_none()
        {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "state",
                "state is one of pending, active, paused, left, erased",
            ));
        }
        if !filters.history.trim().is_empty()
            && HistoryFilter::parse(filters.history.trim()).is_none()
        {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "history",
                "history is one of never-paired, paired, gave-feedback, no-feedback, \
                 email-problems",
            ));
        }
        let mut q = filters.member_query();
        q.limit = paging.limit.unwrap_or(100).clamp(1, 1000);
        q.offset = paging.offset.max(0);
        let (members, total) = rules::member_page(&store, &trial, &q).await?;
        let participants = members.iter().map(view).collect();
        Ok(HttpResponse::Ok().json(MemberList {
            participants,
            total,
        }))
    }

    /// One person of the trial.
    #[utoipa::path(get, path = "/api/v1/trials/{slug}/participants/{public_id}",
        tag = "participants", params(PersonParams),
        responses(
            (status = 200, description = "The person", body = MemberView),
            (status = 404, description = "No such trial or person", body = ErrorBody),
        ))]
    pub async fn show(
        store: Data<Store>,
        path: Path<(String, String)>,
    ) -> Result<HttpResponse, ApiError> {
        let m = member(&store, &path.0, &path.1).await?;
        Ok(HttpResponse::Ok().json(view(&m)))
    }

    #[derive(serde::Deserialize, Default, utoipa::ToSchema)]
    #[serde(default)]
    pub struct AddBody {
        #[serde(flatten)]
        person: ParticipantInput,
        /// The organiser has the person's consent: active at once rather than pending.
        consent: bool,
    }

    /// Adds one person: pending until they confirm by email, or active with `consent`.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/participants", tag = "participants",
        params(SlugParam), request_body = AddBody,
        responses(
            (status = 201, description = "The person as added", body = MemberView),
            (status = 409, description = "The address is already in the trial (`field` is `email`)", body = ErrorBody),
            (status = 422, description = "A value is refused (`field` names it)", body = ErrorBody),
        ))]
    pub async fn add(
        store: Data<Store>,
        slug: Path<String>,
        body: Json<AddBody>,
    ) -> Result<HttpResponse, ApiError> {
        let trial = trial(&store, &slug).await?;
        let details = ParticipantDetails::parse(&body.person, &trial.attribute_value_list())
            .map_err(|errors| {
                let first = errors.into_iter().next().expect("at least one error");
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, first.field, first.message)
            })?;
        match rules::add_by_organiser(&store, &trial, &details, body.consent, Utc::now()).await? {
            AddOutcome::Added { public_id, .. } => {
                let m = member(&store, &trial.slug, &public_id).await?;
                Ok(HttpResponse::Created().json(view(&m)))
            }
            AddOutcome::AlreadyMember { .. } => Err(ApiError::field(
                StatusCode::CONFLICT,
                "email",
                "this address is already in the trial",
            )),
        }
    }

    #[derive(serde::Deserialize, Default, utoipa::ToSchema)]
    #[serde(default)]
    pub struct PauseBody {
        /// YYYY-MM-DD; empty or absent: until resumed.
        until: String,
    }

    /// Pauses an active person, until a date or until resumed.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/participants/{public_id}/pause",
        tag = "participants", params(PersonParams),
        request_body(content = Option<PauseBody>, description = "Optional: without it, until resumed"),
        responses(
            (status = 200, description = "The person now", body = MemberView),
            (status = 404, description = "No such trial or person", body = ErrorBody),
            (status = 409, description = "They are not active or paused (`field` is `state`)", body = ErrorBody),
            (status = 422, description = "A bad date (`field` is `until`)", body = ErrorBody),
        ))]
    pub async fn pause(
        store: Data<Store>,
        path: Path<(String, String)>,
        body: Option<Json<PauseBody>>,
    ) -> Result<HttpResponse, ApiError> {
        let m = member(&store, &path.0, &path.1).await?;
        let until = body.map(|b| b.into_inner().until).unwrap_or_default();
        rules::pause_by_organiser(&store, &m, &until, Utc::now())
            .await
            .map_err(refused)?;
        show(store, path).await
    }

    /// Makes a paused person active again.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/participants/{public_id}/resume",
        tag = "participants", params(PersonParams),
        responses(
            (status = 200, description = "The person now", body = MemberView),
            (status = 404, description = "No such trial or person", body = ErrorBody),
            (status = 409, description = "They are not paused (`field` is `state`)", body = ErrorBody),
        ))]
    pub async fn resume(
        store: Data<Store>,
        path: Path<(String, String)>,
    ) -> Result<HttpResponse, ApiError> {
        let m = member(&store, &path.0, &path.1).await?;
        rules::resume_by_organiser(&store, &m, Utc::now())
            .await
            .map_err(refused)?;
        show(store, path).await
    }

    /// Takes the person out of the trial (`left`); their history stays.
    #[utoipa::path(post, path = "/api/v1/trials/{slug}/participants/{public_id}/remove",
        tag = "participants", params(PersonParams),
        responses(
            (status = 200, description = "The person now", body = MemberView),
            (status = 404, description = "No such trial or person", body = ErrorBody),
            (status = 409, description = "They cannot be removed now (`field` is `state`)", body = ErrorBody),
        ))]
    pub async fn remove(
        store: Data<Store>,
        path: Path<(String, String)>,
    ) -> Result<HttpResponse, ApiError> {
        let m = member(&store, &path.0, &path.1).await?;
        rules::remove_by_organiser(&store, &m, Utc::now())
            .await
            .map_err(refused)?;
        show(store, path).await
    }
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formulas_become_text() {
        assert_eq!(spreadsheet_safe("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(spreadsheet_safe("+1"), "'+1");
        assert_eq!(spreadsheet_safe("-2"), "'-2");
        assert_eq!(spreadsheet_safe("@cmd"), "'@cmd");
        assert_eq!(spreadsheet_safe("Ada = 1"), "Ada = 1");
    }
}
