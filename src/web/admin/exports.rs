//! Exports of a trial's pairings and feedback: CSV downloads in the console and the same rows
//! as JSON through the API. (The participants' export lives with the participants' pages.)
use actix_web::http::{header, StatusCode};
use actix_web::web::{self, Data, Path};
use actix_web::{get, HttpResponse};

use super::participants::spreadsheet_safe;
use crate::app;
use crate::store::insight::{FeedbackRow, PairingRow};
use crate::store::time::to_db;
use crate::store::trials::Trial;
use crate::store::Store;
use crate::web::admin::api::SlugParam;
use crate::web::errors::{ApiError, ErrorBody, PageError};
use crate::web::trial_in_path::TrialInPath;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(pairings_csv).service(feedback_csv);
}

pub fn api_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/trials/{slug}/pairings", web::get().to(pairings_json))
        .route("/trials/{slug}/feedback", web::get().to(feedback_json));
}

/// The trial's own name for its grouping attribute, as a column heading.
fn attribute_heading(trial: &Trial) -> &str {
    match trial.attribute_name.trim() {
        "" => "group",
        name => name,
    }
}

/// RFC 4180 with CRLF line ends; every cell passes the spreadsheet formula guard.
fn to_csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = out.write_record(header.iter().map(|h| spreadsheet_safe(h)));
    for row in rows {
        let _ = out.write_record(row.iter().map(|c| spreadsheet_safe(c)));
    }
    out.into_inner().unwrap_or_default()
}

pub fn pairings_csv_bytes(trial: &Trial, rows: &[PairingRow]) -> Vec<u8> {
    let header = [
        "round",
        "published_at",
        "group",
        "table",
        "id",
        "name",
        attribute_heading(trial),
    ];
    to_csv(
        &header,
        rows.iter().map(|r| {
            vec![
                r.round_number.to_string(),
                to_db(r.published_at),
                r.group_number.to_string(),
                r.table_label.clone().unwrap_or_default(),
                r.public_id.clone(),
                r.name.clone(),
                r.attribute_value.clone(),
            ]
        }),
    )
}

pub fn feedback_csv_bytes(rows: &[FeedbackRow]) -> Vec<u8> {
    let header = [
        "round",
        "group",
        "id",
        "name",
        "outcome",
        "rating",
        "takeaway",
        "answered_at",
    ];
    to_csv(
        &header,
        rows.iter().map(|r| {
            vec![
                r.round_number.to_string(),
                r.group_number.to_string(),
                r.public_id.clone(),
                r.name.clone(),
                r.outcome.as_str().to_string(),
                r.rating.map(|n| n.to_string()).unwrap_or_default(),
                r.takeaway.clone(),
                to_db(r.answered_at),
            ]
        }),
    )
}

fn download(trial: &Trial, what: &str, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-{what}.csv\"", trial.slug),
        ))
        // Personal data: not for shared caches.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(crate::web::csv_file::with_bom(body))
}

#[get("/trials/{slug}/pairings.csv")]
pub async fn pairings_csv(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    let rows = app::exports::pairings(&store, &trial).await?;
    Ok(download(
        &trial,
        "pairings",
        pairings_csv_bytes(&trial, &rows),
    ))
}

#[get("/trials/{slug}/feedback.csv")]
pub async fn feedback_csv(
    store: Data<Store>,
    TrialInPath(trial): TrialInPath,
) -> Result<HttpResponse, PageError> {
    let rows = app::exports::feedback(&store, &trial).await?;
    Ok(download(&trial, "feedback", feedback_csv_bytes(&rows)))
}

// These two answer an unknown slug without naming the field (the dashboard tests pin that
// shape), so they do not use `ApiTrialInPath`, whose 404 names `slug`.
async fn api_trial(store: &Store, slug: &str) -> Result<Trial, ApiError> {
    app::trials::find(store, slug)
        .await?
        .ok_or_else(|| ApiError::status(StatusCode::NOT_FOUND, "no such trial"))
}

/// One member of one group of a published round.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PairingJson<'a> {
    round: i64,
    published_at: String,
    /// The group's position in its round, from 1.
    group: i64,
    table: Option<&'a str>,
    /// The person's public id.
    id: &'a str,
    name: &'a str,
    attribute_value: &'a str,
}

impl<'a> From<&'a PairingRow> for PairingJson<'a> {
    fn from(r: &'a PairingRow) -> Self {
        PairingJson {
            round: r.round_number,
            published_at: to_db(r.published_at),
            group: r.group_number,
            table: r.table_label.as_deref(),
            id: &r.public_id,
            name: &r.name,
            attribute_value: &r.attribute_value,
        }
    }
}

/// One member's answer about one group.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FeedbackJson<'a> {
    round: i64,
    group: i64,
    /// The person's public id.
    id: &'a str,
    name: &'a str,
    /// `met`, `some_met`, `not_yet` or `could_not_meet`.
    outcome: &'static str,
    rating: Option<i64>,
    /// Empty unless the person agreed to share it.
    takeaway: &'a str,
    answered_at: String,
}

impl<'a> From<&'a FeedbackRow> for FeedbackJson<'a> {
    fn from(r: &'a FeedbackRow) -> Self {
        FeedbackJson {
            round: r.round_number,
            group: r.group_number,
            id: &r.public_id,
            name: &r.name,
            outcome: r.outcome.as_str(),
            rating: r.rating,
            takeaway: &r.takeaway,
            answered_at: to_db(r.answered_at),
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PairingList<'a> {
    pairings: Vec<PairingJson<'a>>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct FeedbackList<'a> {
    feedback: Vec<FeedbackJson<'a>>,
}

/// Everyone in every group of the trial's published rounds.
#[utoipa::path(get, path = "/api/v1/trials/{slug}/pairings", tag = "exports", params(SlugParam),
    responses(
        (status = 200, description = "The pairings, by round, group and name", body = PairingList),
        (status = 404, description = "No such trial (`field` is null)", body = ErrorBody),
    ))]
pub async fn pairings_json(
    store: Data<Store>,
    slug: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let trial = api_trial(&store, &slug).await?;
    let rows = app::exports::pairings(&store, &trial).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(PairingList {
            pairings: rows.iter().map(Into::into).collect(),
        }))
}

/// Every feedback answer of the trial (takeaways only where people agreed to share them).
#[utoipa::path(get, path = "/api/v1/trials/{slug}/feedback", tag = "exports", params(SlugParam),
    responses(
        (status = 200, description = "The answers", body = FeedbackList),
        (status = 404, description = "No such trial (`field` is null)", body = ErrorBody),
    ))]
pub async fn feedback_json(
    store: Data<Store>,
    slug: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let trial = api_trial(&store, &slug).await?;
    let rows = app::exports::feedback(&store, &trial).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(FeedbackList {
            feedback: rows.iter().map(Into::into).collect(),
        }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Outcome;

    fn row(name: &str, takeaway: &str) -> FeedbackRow {
        FeedbackRow {
            round_number: 1,
            group_number: 2,
            public_id: "p1".into(),
            name: name.into(),
            outcome: Outcome::Met,
            rating: None,
            takeaway: takeaway.into(),
            answered_at: "2026-01-01T00:00:00Z".parse().unwrap(),
            group_id: 7,
            membership_id: 9,
            share_consent: true,
        }
    }

    #[test]
    fn feedback_csv_guards_formulas_and_leaves_ratings_empty() {
        let csv =
            String::from_utf8(feedback_csv_bytes(&[row("@Ada", "=1+1, \"quoted\"")])).unwrap();
        assert_eq!(
            csv,
            "round,group,id,name,outcome,rating,takeaway,answered_at\r\n\
             1,2,p1,'@Ada,met,,\"'=1+1, \"\"quoted\"\"\",2026-01-01T00:00:00.000000Z\r\n"
        );
    }
}
