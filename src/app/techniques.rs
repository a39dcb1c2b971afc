//! The technique library as organisers edit it.
use crate::library::TechniqueInput;
use crate::store::techniques::{Technique, TechniqueWriteError};
use crate::store::{Store, StoreError};

pub async fn list(store: &Store) -> Result<Vec<Technique>, StoreError> {
    store.list_techniques().await
}

pub async fn find(store: &Store, slug: &str) -> Result<Option<Technique>, StoreError> {
    store.find_technique_by_slug(slug).await
}

/// Adds a technique (`existing_slug` is `None`) or changes the one at `existing_slug`.
pub async fn save(
    store: &Store,
    existing_slug: Option<&str>,
    input: &TechniqueInput<'_>,
) -> Result<Technique, TechniqueWriteError> {
    match existing_slug {
        None => store.create_technique(input).await,
        Some(slug) => store.update_technique(slug, input).await,
    }
}

/// Every technique without its Markdown body, in list order (for lists and the chooser).
pub async fn list_summaries(store: &Store) -> Result<Vec<Technique>, StoreError> {
    store.list_techniques_without_bodies().await
}

/// Changes whenever a technique is added or edited, by any instance: the library's pages
/// kept in memory are built again when it differs.
pub async fn fingerprint(store: &Store) -> Result<String, StoreError> {
    store.techniques_fingerprint().await
}
