//! Organiser accounts: the set-up link on first start, invitations, signing in.
use chrono::{Duration, Utc};

use crate::domain::{Email, FieldError};
use crate::links::link;
use crate::mail::{self, organiser_invite, password_reset};
use crate::store::organisers::{CreateOrganiserError, OneTimeToken, Organiser, TokenPurpose};
use crate::store::{Store, StoreError};
use crate::tokens;

pub mod passwords;

pub const SETUP_LINK_HOURS: i64 = 1;
pub const INVITE_DAYS: i64 = 7;
pub const RESET_LINK_MINUTES: i64 = 60;
pub const RESET_EMAIL_INTERVAL_MINUTES: i64 = 5;

/// With no organiser yet, makes a one-hour set-up link; otherwise nothing.
pub async fn issue_setup_link(
    store: &Store,
    base_url: &url::Url,
) -> Result<Option<String>, StoreError> {
    if store.count_organisers().await? > 0 {
        return Ok(None);
    }
    let token = tokens::new_link_token(Utc::now());
    let expires_at = Utc::now() + Duration::hours(SETUP_LINK_HOURS);
    store
        .insert_one_time_token(
            TokenPurpose::Setup,
            &tokens::hash_token(&token),
            None,
            expires_at,
        )
        .await?;
    Ok(Some(link(base_url, &format!("/admin/setup/{token}"))))
}

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("{0}")]
    InvalidEmail(String),
    #[error("an organiser with this email address already exists")]
    AlreadyOrganiser,
    #[error(transparent)]
    Render(#[from] mail::RenderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Queues an invitation email and returns the link in it (for printing when no mail server is
/// configured).
pub async fn invite_organiser(
    store: &Store,
    base_url: &url::Url,
    email: &str,
    as_admin: bool,
) -> Result<String, InviteError> {
    invite_organiser_from(store, base_url, email, as_admin, None).await
}

/// [`invite_organiser`], saying in the email who invited them (an organiser's address; None
/// from the command line, where it is whoever runs the site).
pub async fn invite_organiser_from(
    store: &Store,
    base_url: &url::Url,
    email: &str,
    as_admin: bool,
    invited_by: Option<&str>,
) -> Result<String, InviteError> {
    let email = crate::domain::Email::parse(email).map_err(InviteError::InvalidEmail)?;
    if store
        .find_organiser_by_email(email.as_str())
        .await?
        .is_some()
    {
        return Err(InviteError::AlreadyOrganiser);
    }
    let token = tokens::new_link_token(Utc::now());
    let link = link(base_url, &format!("/admin/invite/{token}"));
    let message = mail::render(
        &organiser_invite::Context {
            link: link.clone(),
            expires_in_days: INVITE_DAYS,
            invited_by: invited_by.unwrap_or_default().to_string(),
            site: base_url.host_str().unwrap_or_default().to_string(),
        },
        email.as_str(),
    )?;
    store
        .invite_organiser(
            &tokens::hash_token(&token),
            email.as_str(),
            Utc::now() + Duration::days(INVITE_DAYS),
            as_admin,
            &message,
            &mail::message_domain(base_url),
        )
        .await?;
    Ok(link)
}

/// Makes a one-hour password-reset link for the enabled account with this address, if there
/// is one, and queues its email when `send_email`; returns the link (None for an unknown
/// address, or when an emailed link was sent a few minutes ago; callers facing the public
/// must not reveal which).
pub async fn request_password_reset(
    store: &Store,
    base_url: &url::Url,
    email: &str,
    send_email: bool,
) -> Result<Option<String>, InviteError> {
    let Some(organiser) = store
        .find_organiser_by_email(&email.trim().to_lowercase())
        .await?
    else {
        return Ok(None);
    };
    // The public form would otherwise let anyone fill an organiser's inbox; one unused link
    // every few minutes is plenty for someone who has forgotten their password.
    if send_email
        && store
            .has_recent_reset(
                organiser.id,
                Utc::now() - Duration::minutes(RESET_EMAIL_INTERVAL_MINUTES),
            )
            .await?
    {
        return Ok(None);
    }
    let token = tokens::new_link_token(Utc::now());
    let link = link(base_url, &format!("/admin/reset/{token}"));
    let message = if send_email {
        Some(mail::render(
            &password_reset::Context {
                link: link.clone(),
                expires_in_minutes: RESET_LINK_MINUTES,
            },
            &organiser.email,
        )?)
    } else {
        None
    };
    let domain = mail::message_domain(base_url);
    store
        .queue_password_reset(
            organiser.id,
            &tokens::hash_token(&token),
            Utc::now() + Duration::minutes(RESET_LINK_MINUTES),
            message.as_ref().map(|m| (m, domain.as_str())),
        )
        .await?;
    Ok(Some(link))
}

/// Checks an email and password; a missing account costs the same time as a wrong password.
pub async fn verify_login(
    store: &Store,
    email: &str,
    password: &str,
) -> Result<Option<Organiser>, StoreError> {
    let organiser = store
        .find_organiser_by_email(&email.trim().to_lowercase())
        .await?;
    let stored = organiser
        .as_ref()
        .map(|o| o.password_hash.clone())
        .unwrap_or_else(|| passwords::decoy_hash().to_string());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
        .await
        .unwrap_or(false);
    Ok(organiser.filter(|_| ok))
}

/// The set-up or invitation link behind `token`, while it can still be used.
pub async fn usable_account_link(
    store: &Store,
    purpose: TokenPurpose,
    token: &str,
    now: chrono::DateTime<Utc>,
) -> Result<Option<OneTimeToken>, StoreError> {
    store
        .find_usable_token(purpose, &tokens::hash_token(token), now)
        .await
}

/// What someone typed to create their organiser account from a link.
pub struct NewAccount<'a> {
    /// Ignored for an invitation, which is for the address it was sent to.
    pub email: &'a str,
    pub password: &'a str,
    pub password_again: &'a str,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("this link has already been used or has expired")]
    LinkUnusable,
    /// Input to correct. `invited_email` is the address an invitation was for, which the form
    /// shows instead of a field to type in.
    #[error("{}", .errors.first().map(|e| e.message.as_str()).unwrap_or("invalid input"))]
    Invalid {
        errors: Vec<FieldError>,
        invited_email: Option<String>,
    },
    #[error("hashing the password failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates an organiser account from a set-up or invitation link: checks the link, the
/// address and the password, then creates the organiser and uses up the link together, so a
/// link makes one account at most.
pub async fn create_account_from_link(
    store: &Store,
    purpose: TokenPurpose,
    token: &str,
    input: &NewAccount<'_>,
    now: chrono::DateTime<Utc>,
) -> Result<Organiser, AccountError> {
    let hash = tokens::hash_token(token);
    let Some(found) = store.find_usable_token(purpose, &hash, now).await? else {
        return Err(AccountError::LinkUnusable);
    };
    let raw_email = found.email.clone().unwrap_or(input.email.to_string());
    let invalid = |errors| AccountError::Invalid {
        errors,
        invited_email: found.email.clone(),
    };
    let mut errors = Vec::new();
    let email = crate::domain::check(&mut errors, "email", Email::parse(&raw_email));
    crate::domain::check(
        &mut errors,
        "password",
        passwords::check_strength(input.password, &raw_email),
    );
    if input.password != input.password_again {
        errors.push(FieldError::new(
            "password_again",
            "the two passwords are not the same",
        ));
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(invalid(errors));
    };
    let password = input.password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?
        .map_err(|e| AccountError::Hashing(e.to_string()))?;
    match store
        .create_organiser_from_token(purpose, &hash, email.as_str(), &password_hash, now)
        .await
    {
        Ok(organiser) => Ok(organiser),
        Err(CreateOrganiserError::LinkUnusable) => Err(AccountError::LinkUnusable),
        Err(CreateOrganiserError::EmailTaken) => Err(invalid(vec![FieldError::new(
            "email",
            "an organiser with this email address already exists",
        )])),
        Err(CreateOrganiserError::Store(e)) => Err(e.into()),
    }
}
