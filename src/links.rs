//! Every personal link and public address the service writes into emails and pages, minted
//! in one place: manage, unsubscribe (with the RFC 8058 headers), confirm, feedback, skip and
//! the event pages. A link carries a random token whose hash is stored with its purpose and
//! expiry; the services call these functions instead of one another.
use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, Transaction};

use crate::store::outbox::NewEmail;
use crate::store::participants::Member;
use crate::store::signup::{insert_link_token, LinkPurpose};
use crate::store::{Store, StoreError};
use crate::tokens;

/// Manage and unsubscribe links; every email brings fresh ones.
pub const MANAGE_LINK_DAYS: i64 = 365;
/// Feedback and "still in?" links stay usable this long.
pub const FEEDBACK_LINK_DAYS: i64 = 60;

/// An absolute address on this site.
pub fn link(base_url: &url::Url, path: &str) -> String {
    format!("{}{path}", base_url.as_str().trim_end_matches('/'))
}

/// A person's links, for any email sent to them.
#[derive(Clone, Debug)]
pub struct ParticipantLinks {
    pub manage: String,
    /// A page that asks before it stops anything.
    pub unsubscribe: String,
    /// The RFC 8058 target: a POST here stops emails at once.
    pub one_click: String,
}

impl ParticipantLinks {
    /// `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058) as an outbox `headers_json`,
    /// for every email that is not strictly transactional.
    pub fn list_unsubscribe_headers(&self) -> String {
        serde_json::json!({
            "List-Unsubscribe": format!("<{}>", self.one_click),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        })
        .to_string()
    }
}

/// Issues fresh manage and unsubscribe links for an email being written in `tx`.
pub async fn issue_links(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<ParticipantLinks, StoreError> {
    let expires = now + Duration::days(MANAGE_LINK_DAYS);
    let manage = new_link_token(tx, LinkPurpose::Manage, membership_id, now, expires).await?;
    let unsubscribe =
        new_link_token(tx, LinkPurpose::Unsubscribe, membership_id, now, expires).await?;
    Ok(participant_links(base_url, &manage, &unsubscribe))
}

/// The links made of a manage and an unsubscribe token (whose hashes the caller stores, with
/// [`MANAGE_LINK_DAYS`]): for work done before a transaction opens.
pub fn participant_links(base_url: &url::Url, manage: &str, unsubscribe: &str) -> ParticipantLinks {
    ParticipantLinks {
        manage: link(base_url, &format!("/m/{manage}")),
        unsubscribe: link(base_url, &format!("/u/{unsubscribe}")),
        one_click: link(base_url, &format!("/u/{unsubscribe}/one-click")),
    }
}

/// A fresh token for a personal link (the caller builds the address).
pub async fn new_link_token(
    tx: &mut Transaction<'_, Any>,
    purpose: LinkPurpose,
    membership_id: i64,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Result<String, StoreError> {
    let token = tokens::new_link_token(now);
    insert_link_token(
        tx,
        purpose,
        membership_id,
        &tokens::hash_token(&token),
        now,
        expires,
    )
    .await?;
    Ok(token)
}

/// A feedback link for one member of one group.
pub async fn issue_feedback_link(
    tx: &mut Transaction<'_, Any>,
    membership_id: i64,
    group_id: i64,
    base_url: &url::Url,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let token = tokens::new_link_token(now);
    crate::store::feedback::insert_group_token(
        tx,
        LinkPurpose::Feedback,
        membership_id,
        group_id,
        &tokens::hash_token(&token),
        now,
        now + Duration::days(FEEDBACK_LINK_DAYS),
    )
    .await?;
    Ok(link(base_url, &format!("/f/{token}")))
}

/// Adds the one-click unsubscribe headers to an email that is not strictly transactional.
pub fn with_list_unsubscribe(mut email: NewEmail, links: &ParticipantLinks) -> NewEmail {
    email.headers_json = links.list_unsubscribe_headers();
    email
}

/// The membership behind a link that can still be used.
pub async fn member_by_link(
    store: &Store,
    purpose: LinkPurpose,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Option<Member>, StoreError> {
    if !tokens::looks_like_token(token) {
        return Ok(None);
    }
    store
        .member_by_link(purpose, &tokens::hash_token(token), now)
        .await
}
