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
