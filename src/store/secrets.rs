use chrono::Utc;

use super::time::to_db;
use super::{Store, StoreError};

impl Store {
    /// Returns the named secret, creating it from `generate` on first use. When several
    /// instances start at once, the first insert wins and all of them read it back.
    pub async fn instance_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> String,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO instance_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(generate())
        .bind(to_db(Utc::now()))
        .execute(self.pool())
        .await?;
        let (value,): (String,) =
            sqlx::query_as("SELECT value FROM instance_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(self.pool())
                .await?;
        Ok(value)
    }
}
