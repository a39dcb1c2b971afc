//! Importing participants from a CSV file. [`parse`] reads the bytes (no I/O): accepted rows
//! and problems out. [`preview`] says what an import would do now, and [`commit`] does it; the
//! console and the command line both call these, so the preview and the import cannot
//! disagree about a row.
use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::app::participants::{confirmation_email, ParticipantError};
use crate::domain::{MembershipState, ParticipantDetails, ParticipantInput};
use crate::links::issue_links;
use crate::mail;
use crate::store::outbox;
use crate::store::participants::{add_member, AddOutcome};
use crate::store::roster::{self, ImportCounts};
use crate::store::trials::Trial;
use crate::store::{Store, StoreError};

/// The largest file accepted, in bytes.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The most data rows in one file.
pub const MAX_ROWS: usize = 50_000;

/// A file that cannot be read at all (as opposed to a row with a problem).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is larger than {} MB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    #[error("the file is not UTF-8 (row {row}); save it as \"CSV UTF-8\" and upload it again")]
    NotUtf8 { row: usize },
    #[error("the file has no {0} column; the first row must name the columns, e.g. name,email")]
    MissingColumn(&'static str),
    #[error("the file has more than {MAX_ROWS} rows; split it into smaller files")]
    TooManyRows,
    /// The whole file is refused, not only the row: the file is kept for the preview, and
    /// PostgreSQL text cannot hold a NUL.
    #[error("row {row}, column \"{column}\" contains a NUL character; remove it and upload the file again")]
    Nul { row: usize, column: String },
    #[error("the file is not valid CSV (row {row}): {message}")]
    Malformed { row: usize, message: String },
}

/// Which field of a person a column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Name,
    Email,
    Attribute,
    Role,
    Site,
    Team,
}

/// A row that will be added. `row` counts as a spreadsheet does: the header is row 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptedRow {
    pub row: usize,
    pub details: ParticipantDetails,
}

/// A row that will not be added, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub row: usize,
    /// What the row said, so the organiser can find it.
    pub name: String,
    pub email: String,
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub accepted: Vec<AcceptedRow>,
    pub problems: Vec<Problem>,
    /// Header cells that matched no field; their values are not imported.
    pub ignored_columns: Vec<String>,
}

fn normalise(header: &str) -> String {
    header
        .trim()
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Maps a header cell to a field. Common spellings are accepted, as is the trial's own name
/// for its grouping attribute (e.g. "Discipline").
pub fn column_for(header: &str, attribute_name: &str) -> Option<Column> {
    let h = normalise(header);
    if !h.is_empty() && h == normalise(attribute_name) {
        return Some(Column::Attribute);
    }
    Some(match h.as_str() {
        "name" | "fullname" | "participant" | "person" => Column::Name,
        "email" | "emailaddress" | "mail" => Column::Email,
        "department" | "attribute" | "attributevalue" | "group" => Column::Attribute,
        "role" | "jobtitle" | "title" | "position" => Column::Role,
        "site" | "location" | "office" => Column::Site,
        "team" => Column::Team,
        _ => return None,
    })
}

/// Reads a whole file. `Err` means the file as a whole is unusable; otherwise every data row
/// ends up either accepted or in `problems`. Blank lines are skipped.
pub fn parse(
    bytes: &[u8],
    attribute_name: &str,
    allowed_values: &[&str],
) -> Result<Parsed, FileError> {
    if bytes.len() > MAX_BYTES {
        return Err(FileError::TooLarge);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(FileError::Empty);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let malformed = |row: usize, e: csv::Error| FileError::Malformed {
        row,
        message: e.to_string(),
    };
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(malformed(1, e)),
        None => return Err(FileError::Empty),
    };
    let header = utf8_cells(&header).ok_or(FileError::NotUtf8 { row: 1 })?;
    if let Some(i) = header.iter().position(|cell| cell.contains('\0')) {
        return Err(FileError::Nul {
            row: 1,
            column: format!("column {}", i + 1),
        });
    }

    let mut columns: Vec<Option<Column>> = Vec::new();
    let mut ignored_columns = Vec::new();
    for cell in &header {
        let column = column_for(cell, attribute_name);
        // A second column for the same field would silently lose data; the first one wins
        // and the other is reported as ignored.
        let column = column.filter(|c| !columns.contains(&Some(*c)));
        if column.is_none() && !cell.trim().is_empty() {
            ignored_columns.push(cell.trim().to_string());
        }
        columns.push(column);
    }
    for (required, label) in [(Column::Name, "name"), (Column::Email, "email")] {
        if !columns.contains(&Some(required)) {
            return Err(FileError::MissingColumn(label));
        }
    }

    let mut parsed = Parsed {
        ignored_columns,
        ..Default::default()
    };
    let mut first_row_of: HashMap<String, usize> = HashMap::new();
    // Rows are numbered by the line they start on, as an editor or spreadsheet shows them.
    // The reader's own line count leaves out the blank lines it skips, so count from bytes.
    let mut counted = (0usize, 1usize);
    let mut line_at = |byte: u64| {
        let mut byte = (byte as usize).min(bytes.len());
        // A record's position is where the reader started on it, before the blank lines.
        while byte < bytes.len() && matches!(bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        let (from, lines) = counted;
        let lines = lines
            + bytes[from.min(byte)..byte]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
        counted = (byte, lines);
        lines
    };
    for (index, record) in records.enumerate() {
        if index >= MAX_ROWS {
            return Err(FileError::TooManyRows);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(0, |p| line_at(p.byte()));
                return Err(malformed(row, e));
            }
        };
        let row = record.position().map_or(index + 2, |p| line_at(p.byte()));
        let cells = utf8_cells(&record).ok_or(FileError::NotUtf8 { row })?;
        if let Some(i) = cells.iter().position(|cell| cell.contains('\0')) {
            let column = header
                .get(i)
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| format!("column {}", i + 1));
            return Err(FileError::Nul { row, column });
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let mut input = ParticipantInput::default();
        let mut extra_cells = false;
        for (i, cell) in cells.iter().enumerate() {
            let target = match columns.get(i) {
                Some(Some(Column::Name)) => &mut input.name,
                Some(Some(Column::Email)) => &mut input.email,
                Some(Some(Column::Attribute)) => &mut input.attribute_value,
                Some(Some(Column::Role)) => &mut input.role,
                Some(Some(Column::Site)) => &mut input.site,
                Some(Some(Column::Team)) => &mut input.team,
                Some(None) => continue,
                None => {
                    extra_cells |= !cell.trim().is_empty();
                    continue;
                }
            };
            *target = cell.clone();
        }
        let mut reasons = Vec::new();
        if extra_cells {
            reasons.push(format!(
                "the row has more cells than the header has columns ({} > {})",
                cells.len(),
                columns.len()
            ));
        }
        let details =
            match ParticipantDetails::parse(&input, allowed_values) {
                Ok(d) => Some(d),
                Err(errors) => {
                    reasons.extend(errors.into_iter().map(|e| {
                        format!("{}: {}", field_label(e.field, attribute_name), e.message)
                    }));
                    None
                }
            };
        if let Some(d) = &details {
            if let Some(first) = first_row_of.get(d.email.as_str()) {
                reasons.push(format!("the same email address as row {first}"));
            }
        }
        match details {
            Some(details) if reasons.is_empty() => {
                first_row_of.insert(details.email.as_str().to_string(), row);
                parsed.accepted.push(AcceptedRow { row, details });
            }
            _ => parsed.problems.push(Problem {
                row,
                name: input.name.trim().to_string(),
                email: input.email.trim().to_string(),
                reasons,
            }),
        }
    }
    if parsed.accepted.is_empty() && parsed.problems.is_empty() {
        return Err(FileError::Empty);
    }
    Ok(parsed)
}

/// How a problem names its field: the trial's own word for its attribute ("Department"),
/// never the internal name.
fn field_label<'a>(field: &'a str, attribute_name: &'a str) -> &'a str {
    match field {
        "attribute_value" if !attribute_name.trim().is_empty() => attribute_name.trim(),
        "attribute_value" => "group",
        other => other,
    }
}

fn utf8_cells(record: &csv::ByteRecord) -> Option<Vec<String>> {
    record
        .iter()
        .map(|cell| std::str::from_utf8(cell).ok().map(str::to_string))
        .collect()
}

/// What importing a file would do now, against the trial as it is.
#[derive(Debug)]
pub struct Preview {
    pub to_add: Vec<AcceptedRow>,
    /// Rows whose address is already in the trial; the import leaves them as they are.
    pub already: Vec<AcceptedRow>,
    pub problems: Vec<Problem>,
    pub ignored_columns: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The file does not read, e.g. because the trial's settings changed since the upload.
    #[error(transparent)]
    File(FileError),
    #[error(transparent)]
    Store(StoreError),
}

/// Reads the file and sorts its rows into people to add, people already in the trial, and
/// problems. Saves nothing.
pub async fn preview(store: &Store, trial: &Trial, bytes: &[u8]) -> Result<Preview, PreviewError> {
    let parsed = parse(bytes, &trial.attribute_name, &trial.attribute_value_list())
        .map_err(PreviewError::File)?;
    let existing = store
        .member_emails(trial.id)
        .await
        .map_err(PreviewError::Store)?;
    let (already, to_add) = parsed
        .accepted
        .into_iter()
        .partition(|r| existing.contains(r.details.email.as_str()));
    Ok(Preview {
        to_add,
        already,
        problems: parsed.problems,
        ignored_columns: parsed.ignored_columns,
    })
}

/// People added (and their confirmation emails queued) in one transaction each. Small
/// enough that SQLite's write lock is never held for long (sign-ups and the outbox go on
/// meanwhile), large enough that a 50,000-row file takes a hundred transactions.
pub const CHUNK: usize = 500;

/// What [`commit`] did.
#[derive(Debug, Default)]
pub struct Imported {
    pub counts: ImportCounts,
    /// Confirmation emails queued: one per person added as pending, and one for every
    /// pending person of the trial who had none (e.g. left without by an interrupted import).
    pub confirmations: usize,
}

/// An import that stopped partway: what it had saved by then (which stays), and why.
#[derive(Debug, thiserror::Error)]
#[error("the import stopped after adding {} people: {source}", done.counts.added)]
pub struct ImportError {
    pub done: Imported,
    #[source]
    pub source: ParticipantError,
}

/// Imports people: the console and the command line both run this. The people are added in
/// chunks of [`CHUNK`], each in one transaction together with their confirmation emails
/// (without `consent`) and, for a console import, the batch's progress; `progress` hears the
/// number of people done after each chunk. Someone is therefore never saved without their
/// email. Interrupted (killed, restarted, a database error), the chunks committed so far
/// stay and running the same import again adds the rest: people already in the trial are
/// left as they are, and every pending person of the trial without a live confirmation
/// link is sent one (also when nobody is left to add).
#[allow(clippy::too_many_arguments)]
pub async fn commit(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    people: &[ParticipantDetails],
    consent: bool,
    batch_id: Option<i64>,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<Imported, ImportError> {
    let mut done = Imported::default();
    let mut through = 0;
    for chunk in people.chunks(CHUNK) {
        match add_chunk(store, base_url, trial, chunk, consent, batch_id, now).await {
            Ok(chunk_done) => {
                done.counts.added += chunk_done.counts.added;
                done.counts.already_members += chunk_done.counts.already_members;
                done.confirmations += chunk_done.confirmations;
            }
            Err(source) => return Err(ImportError { done, source }),
        }
        through += chunk.len();
        progress(through);
    }
    match queue_missing_confirmations(store, base_url, trial, batch_id, Utc::now()).await {
        Ok(n) => done.confirmations += n,
        Err(source) => return Err(ImportError { done, source }),
    }
    Ok(done)
}

async fn add_chunk(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    people: &[ParticipantDetails],
    consent: bool,
    batch_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Imported, ParticipantError> {
    let (state, consent_at) = if consent {
        (MembershipState::Active, Some(now))
    } else {
        (MembershipState::Pending, None)
    };
    let domain = mail::message_domain(base_url);
    let mut done = Imported::default();
    let mut tx = store.pool().begin().await?;
    for person in people {
        match add_member(&mut tx, trial.id, person, state, consent_at, now).await? {
            AddOutcome::Added { membership_id, .. } => {
                done.counts.added += 1;
                if !consent {
                    let participant_id =
                        roster::participant_of_membership(&mut tx, membership_id).await?;
                    queue_confirmation(
                        &mut tx,
                        base_url,
                        &domain,
                        trial,
                        (membership_id, participant_id),
                        person.name.as_str(),
                        person.email.as_str(),
                        now,
                    )
                    .await?;
                    done.confirmations += 1;
                }
            }
            AddOutcome::AlreadyMember { .. } => done.counts.already_members += 1,
        }
    }
    if let Some(batch_id) = batch_id {
        roster::record_import_progress(
            &mut tx,
            batch_id,
            people.len(),
            done.counts.added,
            Utc::now(),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

#[allow(clippy::too_many_arguments)]
async fn queue_confirmation(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    base_url: &url::Url,
    domain: &str,
    trial: &Trial,
    (membership_id, participant_id): (i64, i64),
    name: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), ParticipantError> {
    let links = issue_links(tx, membership_id, base_url, now).await?;
    let mut email = confirmation_email(
        tx,
        base_url,
        trial,
        membership_id,
        name.to_string(),
        address,
        links.manage,
        false,
        now,
    )
    .await?;
    email.participant_id = Some(participant_id);
    outbox::enqueue(tx, &email, domain, now).await?;
    Ok(())
}

/// Sends a confirmation email to every pending person of the trial who has no usable
/// confirmation link, [`CHUNK`] people per transaction: what an interrupted import (or one
/// from before imports queued emails with their people) left without one.
pub async fn queue_missing_confirmations(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    batch_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<usize, ParticipantError> {
    let waiting = store.pending_without_confirmation(trial.id, now).await?;
    let domain = mail::message_domain(base_url);
    for chunk in waiting.chunks(CHUNK) {
        let mut tx = store.pool().begin().await?;
        for (membership_id, participant_id, name, address) in chunk {
            queue_confirmation(
                &mut tx,
                base_url,
                &domain,
                trial,
                (*membership_id, *participant_id),
                name,
                address,
                now,
            )
            .await?;
        }
        if let Some(batch_id) = batch_id {
            roster::record_import_progress(&mut tx, batch_id, 0, 0, Utc::now()).await?;
        }
        tx.commit().await?;
    }
    Ok(waiting.len())
}

/// Keeps an uploaded file for the console's preview; returns the upload's public id. Uploads
/// never imported are forgotten after a day.
pub async fn keep_upload(
    store: &Store,
    trial: &Trial,
    file_name: &str,
    content: &str,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    store
        .create_import_batch(trial.id, file_name, content, now)
        .await
}

/// The trial's upload with this public id.
pub async fn upload(
    store: &Store,
    trial: &Trial,
    public_id: &str,
) -> Result<Option<roster::ImportBatch>, StoreError> {
    store.find_import_batch(trial.id, public_id).await
}

/// Marks the upload as being imported by this process; `false` when another is importing it
/// (and is still making progress) or it is done.
pub async fn claim_upload(
    store: &Store,
    batch_id: i64,
    remaining: usize,
    consent: bool,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    store
        .claim_import_batch(batch_id, remaining, consent, now)
        .await
}

/// Records how the import of an upload ended, in words for the console.
pub async fn finish_upload(
    store: &Store,
    batch_id: i64,
    imported: bool,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    store
        .finish_import_batch(batch_id, imported, outcome, now)
        .await
}

/// What became of a request to import a console upload.
pub enum UploadImport {
    /// The import runs in the background; its progress and outcome are in the upload's row.
    Started,
    /// Another request is importing it (and still making progress), or it is done.
    AlreadyClaimed,
    /// The file no longer reads (for example, the trial's settings changed since the upload).
    FileProblem,
}

/// Starts importing a console upload: checks it again, claims it, and imports in a task of
/// its own, so the organiser's request returns at once. If the process stops meanwhile, the
/// chunks saved so far stay and the upload's page offers to continue.
pub async fn start_upload_import(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    batch: roster::ImportBatch,
    consent: bool,
    now: DateTime<Utc>,
) -> Result<UploadImport, StoreError> {
    let preview = match preview(store, trial, batch.content.as_bytes()).await {
        Ok(p) => p,
        Err(PreviewError::File(_)) => return Ok(UploadImport::FileProblem),
        Err(PreviewError::Store(e)) => return Err(e),
    };
    let people: Vec<ParticipantDetails> = preview.to_add.into_iter().map(|r| r.details).collect();
    if !claim_upload(store, batch.id, people.len(), consent, now).await? {
        return Ok(UploadImport::AlreadyClaimed);
    }
    let (store, base_url, trial) = (store.clone(), base_url.clone(), trial.clone());
    tokio::spawn(async move {
        import_upload(&store, &base_url, &trial, &batch, &people, consent).await;
    });
    Ok(UploadImport::Started)
}

/// Runs the import of an upload and records its outcome, in words, on the upload.
async fn import_upload(
    store: &Store,
    base_url: &url::Url,
    trial: &Trial,
    batch: &roster::ImportBatch,
    people: &[ParticipantDetails],
    consent: bool,
) {
    let result = commit(
        store,
        base_url,
        trial,
        people,
        consent,
        Some(batch.id),
        Utc::now(),
        &mut |_| {},
    )
    .await;
    let describe = |imported: &Imported| {
        let counts = imported.counts;
        let mut outcome = format!("Added {} people", counts.added);
        if imported.confirmations > 0 {
            outcome.push_str(&format!(
                "; {} confirmation emails are on their way",
                imported.confirmations
            ));
        }
        if counts.already_members > 0 {
            outcome.push_str(&format!(
                "; {} were already in the trial and were left as they were",
                counts.already_members
            ));
        }
        outcome
    };
    let finished = match &result {
        Ok(imported) => {
            let outcome = format!("{}.", describe(imported));
            finish_upload(store, batch.id, true, &outcome, Utc::now()).await
        }
        Err(e) => {
            let reference = crate::telemetry::short_reference();
            tracing::error!(
                reference = %reference,
                error = %crate::telemetry::error_chain(e),
                "import failed"
            );
            let outcome = format!(
                "The import stopped (reference {reference}). {}, each with their confirmation \
                 email; the rest of the file was not added. Import it again to add the rest.",
                describe(&e.done)
            );
            finish_upload(store, batch.id, false, &outcome, Utc::now()).await
        }
    };
    if let Err(e) = finished {
        tracing::error!(error = %crate::telemetry::error_chain(&e), "import outcome not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Parsed {
        parse(s.as_bytes(), "Department", &[]).unwrap()
    }

    #[test]
    fn flexible_headers_and_a_bom_are_accepted() {
        // A header without data rows is an empty file.
        let header_only = "\u{feff}Full Name,E-mail\n".as_bytes();
        assert_eq!(parse(header_only, "Discipline", &[]), Err(FileError::Empty));
        let p = parse(
            "\u{feff}Full Name,E-mail,Discipline,Job title,Notes\nAda Lovelace,ADA@example.org,Maths,Analyst,hello\n"
                .as_bytes(),
            "Discipline",
            &[],
        )
        .unwrap();
        assert_eq!(p.ignored_columns, vec!["Notes"]);
        let d = &p.accepted[0].details;
        assert_eq!(p.accepted[0].row, 2);
        assert_eq!(d.name.as_str(), "Ada Lovelace");
        assert_eq!(d.email.as_str(), "ada@example.org");
        assert_eq!(d.attribute_value, "Maths");
        assert_eq!(d.role, "Analyst");
    }

    #[test]
    fn every_broken_row_is_reported_with_its_reason() {
        let p = parse_str(
            "name,email,department\n\
             Ada,ada@example.org,Maths\n\
             ,nobody@example.org,Maths\n\
             Bob,not-an-address,Maths\n\
             \n\
             Ada Again,Ada@Example.org,Maths\n\
             \"Quoted, Name\",q@example.org,\"Multi\"\n",
        );
        assert_eq!(p.accepted.len(), 2);
        assert_eq!(p.accepted[1].details.name.as_str(), "Quoted, Name");
        let rows: Vec<_> = p.problems.iter().map(|x| x.row).collect();
        assert_eq!(rows, vec![3, 4, 6]);
        assert!(p.problems[0].reasons[0].starts_with("name:"));
        assert!(p.problems[1].reasons[0].starts_with("email:"));
        assert_eq!(
            p.problems[2].reasons,
            vec!["the same email address as row 2"]
        );
    }

    #[test]
    fn files_that_cannot_be_read_say_why() {
        let latin1 = b"name,email\nAda,ada@example.org\nJos\xe9,jose@example.org\n";
        let e = parse(latin1, "Department", &[]).unwrap_err();
        assert_eq!(e, FileError::NotUtf8 { row: 3 });
        assert!(e.to_string().contains("not UTF-8 (row 3)"));
        assert_eq!(
            parse(b"name,department\nAda,Maths\n", "Department", &[]).unwrap_err(),
            FileError::MissingColumn("email")
        );
        assert_eq!(
            parse(b"  \n", "Department", &[]).unwrap_err(),
            FileError::Empty
        );
        let big = vec![b'a'; MAX_BYTES + 1];
        assert_eq!(
            parse(&big, "Department", &[]).unwrap_err(),
            FileError::TooLarge
        );
    }

    #[test]
    fn allowed_values_are_checked() {
        let p = parse(
            b"name,email,department\nAda,ada@example.org,maths\nBob,bob@example.org,Catering\n",
            "Department",
            &["Maths", "Physics"],
        )
        .unwrap();
        assert_eq!(p.accepted[0].details.attribute_value, "Maths");
        assert!(p.problems[0].reasons[0].starts_with("Department: choose one of"));
    }

    #[test]
    fn a_nul_anywhere_refuses_the_file_and_names_the_cell() {
        let e = parse(
            b"name,email,notes\nAda,ada@example.org,\nBob,bob@example.org,x\0y\n",
            "Department",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            e,
            FileError::Nul {
                row: 3,
                column: "notes".into()
            }
        );
        assert!(e.to_string().contains("row 3, column \"notes\""), "{e}");
        assert!(matches!(
            parse(b"name,em\0ail\nAda,ada@example.org\n", "Department", &[]),
            Err(FileError::Nul { row: 1, .. })
        ));
    }

    #[test]
    fn hostile_cells_are_row_problems_naming_the_field() {
        let p = parse_str(
            "name,email\n\
             Eve\u{202E}gnp.exe,eve@example.org\n\
             Mallory,a(b)c@example.org\n\
             ...,dots@example.org\n\
             Ada,ada@example.org\n",
        );
        assert_eq!(p.accepted.len(), 1);
        let reasons: Vec<_> = p.problems.iter().map(|x| x.reasons[0].as_str()).collect();
        assert!(reasons[0].starts_with("name:"), "{reasons:?}");
        assert!(reasons[1].starts_with("email:"), "{reasons:?}");
        assert!(reasons[2].starts_with("name:"), "{reasons:?}");
    }
}
