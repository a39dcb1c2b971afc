//! Importing participants from a CSV file: upload, a preview that saves nobody, then the
//! import of the accepted rows (see `app::import::commit`), with its progress on a page that
//! refreshes itself (no JavaScript needed). The progress is kept in the batch's row, written
//! with each chunk of people, so any instance can show it, and an import cut short by a
//! restart is seen as interrupted and can be continued.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web::{Data, Form, Path};
use actix_web::{get, post, HttpRequest, HttpResponse};
use askama::Template;
use chrono::Utc;
use futures_util::StreamExt;

use super::see_other;
use crate::app::import::{self, FileError, Preview, PreviewError, MAX_BYTES};
use crate::domain::ImportState;
use crate::store::roster::ImportBatch;
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};
use crate::web::csrf::CsrfToken;
use crate::web::pages::internal_error as internal;
use crate::web::pages::{message, render, render_status};

pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.service(upload_form)
        .service(upload)
        .service(show)
        .service(confirm);
}

/// Rows listed on the preview page; the counts always cover the whole file.
const SHOWN_ROWS: usize = 200;

fn no_trial() -> HttpResponse {
    message(
        StatusCode::NOT_FOUND,
        "No such trial",
        "There is no trial at this address.",
    )
}

#[derive(Template)]
#[template(path = "admin/import.html")]
struct UploadPage {
    csrf: CsrfToken,
    trial: Trial,
    error: Option<String>,
    max_mb: usize,
}

fn upload_page(
    csrf: CsrfToken,
    trial: Trial,
    status: StatusCode,
    error: Option<String>,
) -> HttpResponse {
    render_status(
        status,
        &UploadPage {
            csrf,
            trial,
            error,
            max_mb: MAX_BYTES / 1024 / 1024,
        },
    )
}

#[get("/trials/{slug}/import")]
pub async fn upload_form(store: Data<Store>, csrf: CsrfToken, slug: Path<String>) -> HttpResponse {
    match crate::app::trials::find(&store, &slug).await {
        Ok(Some(trial)) => upload_page(csrf, trial, StatusCode::OK, None),
        Ok(None) => no_trial(),
        Err(e) => internal(e),
    }
}

/// Why an upload could not be read.
enum UploadError {
    TooLarge,
    NoFile,
    Broken(String),
}

/// The bytes of the form's `file` field, stopping as soon as it passes the size limit.
async fn read_file(mut form: Multipart) -> Result<(String, Vec<u8>), UploadError> {
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| UploadError::Broken(e.to_string()))?;
        if field.name() != Some("file") {
            continue;
        }
        let name = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            // The name is only shown back; one with control characters (a NUL would not fit
            // in PostgreSQL text) is replaced rather than refused.
            .filter(|n| !n.is_empty() && !n.chars().any(char::is_control))
            .unwrap_or("upload.csv")
            .to_string();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| UploadError::Broken(e.to_string()))?;
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(UploadError::TooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        if bytes.is_empty() {
            return Err(UploadError::NoFile);
        }
        return Ok((name, bytes));
    }
    Err(UploadError::NoFile)
}

#[post("/trials/{slug}/import")]
pub async fn upload(
    req: HttpRequest,
    store: Data<Store>,
    csrf: CsrfToken,
    slug: Path<String>,
    form: Multipart,
) -> HttpResponse {
    let trial = match crate::app::trials::find(&store, &slug).await {
        Ok(Some(t)) => t,
        Ok(None) => return no_trial(),
        Err(e) => return internal(e),
    };
    let too_large = || {
        upload_page(
            csrf.clone(),
            trial.clone(),
            StatusCode::PAYLOAD_TOO_LARGE,
            Some(FileError::TooLarge.to_string()),
        )
    };
    // Refuse an announced oversized body before reading any of it.
    let announced = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_BYTES + 64 * 1024) {
        return too_large();
    }
    let (file_name, bytes) = match read_file(form).await {
        Ok(f) => f,
        Err(UploadError::TooLarge) => return too_large(),
        Err(UploadError::NoFile) => {
            return upload_page(
                csrf,
                trial,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("choose a CSV file to upload".into()),
            )
        }
        Err(UploadError::Broken(e)) => {
            return upload_page(
                csrf,
                trial,
                StatusCode::BAD_REQUEST,
                Some(format!(
                    "the upload did not arrive complete ({e}); try again"
                )),
            )
        }
    };
    if let Err(e) = import::parse(&bytes, &trial.attribute_name, &trial.attribute_value_list()) {
        let status = match e {
            FileError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        return upload_page(csrf, trial, status, Some(e.to_string()));
    }
    // parse() succeeded, so the file is UTF-8 (after an optional BOM, which is dropped).
    let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes));
    match crate::app::import::keep_upload(&store, &trial, &file_name, &text, Utc::now()).await {
        Ok(id) => see_other(&format!("/admin/trials/{}/import/{id}", trial.slug)),
        Err(e) => internal(e),
    }
}

#[derive(Template)]
#[template(path = "admin/import_preview.html")]
struct BatchPage {
    csrf: CsrfToken,
    trial: Trial,
    batch: ImportBatch,
    /// Set while the import runs: (done, total).
    progress: Option<(usize, usize)>,
    preview: Option<Preview>,
    file_error: Option<String>,
    notice: Option<String>,
}

impl BatchPage {
    fn shown(&self) -> usize {
        SHOWN_ROWS
    }

    fn percent(&self) -> usize {
        match self.progress {
            Some((done, total)) if total > 0 => done * 100 / total,
            _ => 0,
        }
    }
}

async fn batch_and_trial(
    store: &Store,
    slug: &str,
    batch_id: &str,
) -> Result<Option<(Trial, ImportBatch)>, StoreError> {
    let Some(trial) = crate::app::trials::find(store, slug).await? else {
        return Ok(None);
    };
    Ok(crate::app::import::upload(store, &trial, batch_id)
        .await?
        .map(|b| (trial, b)))
}

#[get("/trials/{slug}/import/{batch}")]
pub async fn show(
    store: Data<Store>,
    csrf: CsrfToken,
    path: Path<(String, String)>,
) -> HttpResponse {
    let (slug, batch_id) = path.into_inner();
    let (trial, mut batch) = match batch_and_trial(&store, &slug, &batch_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "No such upload",
                "This upload does not exist, or was forgotten a day after it was made. Upload the file again.",
            )
        }
        Err(e) => return internal(e),
    };
    let now = Utc::now();
    let interrupted = batch.interrupted(now);
    let progress = (batch.state == ImportState::Importing && !interrupted)
        .then(|| (batch.done.max(0) as usize, batch.total.max(0) as usize));
    let notice = interrupted.then(|| {
        format!(
            "The import was interrupted after {} of {} people. Those are in the trial with their confirmation emails queued; continue the import to add the rest.",
            batch.done, batch.total
        )
    });
    if interrupted {
        // Shown as its preview again: the rows still to add, and the button to add them.
        batch.state = ImportState::Previewed;
    }
    let mut page = BatchPage {
        csrf,
        trial,
        batch,
        progress,
        preview: None,
        file_error: None,
        notice,
    };
    if matches!(
        page.batch.state,
        ImportState::Previewed | ImportState::Failed
    ) {
        match import::preview(&store, &page.trial, page.batch.content.as_bytes()).await {
            Ok(p) => page.preview = Some(p),
            Err(PreviewError::File(e)) => page.file_error = Some(e.to_string()),
            Err(PreviewError::Store(e)) => return internal(e),
        }
    }
    let mut response = render(&page);
    if page.progress.is_some() {
        // Browsers reload a page sent with `Refresh`, which shows progress without scripts.
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("refresh"),
            actix_web::http::header::HeaderValue::from_static("1"),
        );
    }
    response
}

#[derive(serde::Deserialize)]
pub struct ConfirmForm {
    consent: Option<String>,
}

#[post("/trials/{slug}/import/{batch}")]
pub async fn confirm(
    web_settings: Data<crate::web::WebSettings>,
    store: Data<Store>,
    path: Path<(String, String)>,
    form: Form<ConfirmForm>,
) -> HttpResponse {
    let (slug, batch_id) = path.into_inner();
    let (trial, batch) = match batch_and_trial(&store, &slug, &batch_id).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return message(
                StatusCode::NOT_FOUND,
                "No such upload",
                "This upload does not exist any more. Upload the file again.",
            )
        }
        Err(e) => return internal(e),
    };
    let page = format!("/admin/trials/{}/import/{}", trial.slug, batch.public_id);
    // Whatever happened (started, already running or done, a file that no longer reads), the
    // upload's page says so.
    match import::start_upload_import(
        &store,
        &web_settings.base_url,
        &trial,
        batch,
        form.consent.is_some(),
        Utc::now(),
    )
    .await
    {
        Ok(_) => see_other(&page),
        Err(e) => internal(e),
    }
}
