use chrono::Utc;

use super::time::to_db;
use super::{Store, StoreError};

impl Store {
    /// Records a fact about the running service under `name`, replacing what was there.
    pub async fn record_service_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO service_settings (name, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(to_db(Utc::now()))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The fact recorded under `name`, if any.
    pub async fn service_setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT value FROM service_settings WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|(value,)| value))
    }
}
