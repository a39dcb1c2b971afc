//! What `serve` records about itself so that commands run elsewhere agree with it.
use url::Url;

use crate::config::Settings;
use crate::store::{Store, StoreError};

const BASE_URL: &str = "base_url";

/// Called by `serve` at start: the public address its links use.
pub async fn record_public_address(store: &Store, base_url: &Url) -> Result<(), StoreError> {
    store
        .record_service_setting(BASE_URL, base_url.as_str())
        .await
}

/// Why a command that writes links should not run with these settings.
#[derive(Debug, thiserror::Error)]
pub enum LinkCheckError {
    #[error(
        "BASE_URL is not set for this command, so its links would point to {derived}, but the \
         server uses {recorded}. Set BASE_URL={recorded} (or base_url in coffee-trials.toml, or \
         --base-url) and run it again"
    )]
    OtherAddress { derived: String, recorded: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses when this command would put one address in emailed or printed links while the
/// server recorded another, unless the operator chose this command's address on purpose.
pub async fn check_links_point_to_the_server(
    store: &Store,
    settings: &Settings,
) -> Result<(), LinkCheckError> {
    if settings.base_url_given {
        return Ok(());
    }
    match store.service_setting(BASE_URL).await? {
        Some(recorded) if recorded != settings.base_url.as_str() => {
            Err(LinkCheckError::OtherAddress {
                derived: settings.base_url.to_string(),
                recorded,
            })
        }
        _ => Ok(()),
    }
}
