//! Layer: the database. May import `domain`, `config`, `tokens`, `library` and `insight` (for
//! types); never `app`, `mail`, `web` or `cli`. Its rows are handed up through `app`; `web`
//! and `cli` may name the row types but not call the store.
//!
//! Every SQL statement of the service lives under this module, in small named functions
//! grouped by aggregate. One code path serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: the SQL is written once in a portable dialect (`$1` placeholders, BIGINT and
//! TEXT columns, `RETURNING`, `ON CONFLICT`), and the rare statement that must differ asks
//! [`Store::backend`].
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use database_url::{Backend, DatabaseUrl};

mod columns;
mod database_url;
pub mod do_not_pair;
pub mod events;
pub mod feedback;
pub mod history;
pub mod insight;
pub mod limits;
mod limits_file;
pub mod met_pairs;
pub mod metrics;
pub mod organisers;
pub mod outbox;
pub mod participants;
pub mod retention;
pub mod roster;
pub mod round_mail;
pub mod rounds;
pub mod schedule;
pub mod search;
pub mod secrets;
pub mod service;
pub mod signup;
pub mod signup_batch;
pub mod techniques;
pub mod time;
pub mod trials;
mod wal;
pub mod webhooks;

/// Statements slower than this are logged as warnings (sqlx's own default).
const SLOW_STATEMENT: Duration = Duration::from_secs(1);
/// The same for bulk work, see [`Store::connect_for_bulk_work`].
const SLOW_BULK_STATEMENT: Duration = Duration::from_secs(30);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// Where the busiest writes go (see [`Store::writer`]).
    writer: AnyPool,
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

impl Store {
    /// Opens a pool. SQLite gets WAL (readers do not block the writer), enforced foreign keys
    /// and a busy timeout, because several tasks write at once.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::connect_with_slow_threshold(url, SLOW_STATEMENT).await
    }

    /// For bulk work (a command-line import of 50,000 people): statements that wait behind
    /// long-running chunks are expected, so only one slower than `SLOW_BULK_STATEMENT` is
    /// logged as a warning.
    pub async fn connect_for_bulk_work(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::connect_with_slow_threshold(url, SLOW_BULK_STATEMENT).await
    }

    async fn connect_with_slow_threshold(
        url: &DatabaseUrl,
        slow: Duration,
    ) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = url.backend().clone();
        let connect_err = |source| StoreError::Connect {
            url: url.to_string(),
            source,
        };
        let options = AnyConnectOptions::from_str(url.expose())
            .map_err(connect_err)?
            .log_slow_statements(log::LevelFilter::Warn, slow);
        // No ping before handing out a connection: on this kind of machine a round trip to the
        // SQLite worker thread or to PostgreSQL costs 0.1 to 0.4 ms, and the ping doubled the
        // cost of every short query. A connection that broke meanwhile fails its query once
        // and is then closed by the pool.
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false);
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let first = options.connect().await.map_err(connect_err)?;
                let limits = limits_file::prepare(first).await.map_err(connect_err)?;
                let pool = sqlite_pool(pool_options.clone().max_connections(8), true, &limits)
                    .connect_with(options.clone())
                    .await
                    .map_err(connect_err)?;
                // SQLite has one writer at a time. Connections of the shared pool that want to
                // write at once sleep in SQLite's busy handler (1, 2, 5, ... 100 ms) and retry,
                // which is what made sign-ups slow under load; writes queued for this single
                // connection wait in the pool's queue instead and follow each other at once.
                let writer = sqlite_pool(
                    pool_options.max_connections(1).min_connections(1),
                    false,
                    &limits,
                )
                .connect_with(options)
                .await
                .map_err(connect_err)?;
                wal::spawn_checkpoints(pool.clone(), writer.clone());
                (pool, writer)
            }
            Backend::Postgres => {
                let pool = pool_options
                    .max_connections(16)
                    .connect_with(options)
                    .await
                    .map_err(connect_err)?;
                (pool.clone(), pool)
            }
        };
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        self.fill_search_keys().await?;
        Ok(())
    }

    /// Computes `participants.search_key` where it is still NULL: rows from before migration
    /// 0014, which could not fill it in SQL because SQLite's `LOWER` folds only ASCII. Runs
    /// with every migration; once all rows have their key it finds nothing to do.
    async fn fill_search_keys(&self) -> Result<(), StoreError> {
        let rows: Vec<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT id, name, email FROM participants WHERE search_key IS NULL")
                .fetch_all(&self.pool)
                .await?;
        let mut tx = self.pool.begin().await?;
        for (id, name, email) in rows {
            // Only rows still without a key, in case a running instance wrote one meanwhile.
            sqlx::query(
                "UPDATE participants SET search_key = $1 WHERE id = $2 AND search_key IS NULL",
            )
            .bind(search::search_key(&name, email.as_deref()))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Answers whether the database responds to a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for the frequent small writes (sign-ups, rate-limit counts, the outbox
    /// worker's claims and outcomes). On SQLite a single connection, so that they queue in
    /// order instead of polling for the database lock; on PostgreSQL the ordinary pool. A
    /// transaction taken from it must not wait for anything written through [`Store::pool`].
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// The settings of every SQLite connection: WAL (readers do not block the writer), enforced
/// foreign keys, a busy timeout for writes that still meet, and `synchronous = NORMAL` (in WAL
/// mode a commit is durable once the WAL is synced at a checkpoint; a power cut may lose the
/// last commits but never corrupts). `journal_size_limit` truncates the WAL back to 64 MB after
/// a checkpoint, so a burst of writes does not leave a WAL of gigabytes behind. Statement
/// journals (a multi-row insert's undo log) stay in memory instead of temporary files.
/// `checkpoints_on_commit: false` is for the writer, see [`wal`]. The rate-limit counters'
/// file at `limits` is attached as the schema `limits`, see [`limits_file`].
fn sqlite_pool(
    options: AnyPoolOptions,
    checkpoints_on_commit: bool,
    limits: &str,
) -> AnyPoolOptions {
    let limits = limits.to_string();
    options.after_connect(move |conn, _meta| {
        let limits = limits.clone();
        Box::pin(async move {
            conn.execute(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                 PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
                 PRAGMA journal_size_limit = 67108864; PRAGMA temp_store = MEMORY;",
            )
            .await?;
            limits_file::attach(conn, &limits).await?;
            if !checkpoints_on_commit {
                conn.execute("PRAGMA wal_autocheckpoint = 0;").await?;
            }
            Ok(())
        })
    })
}
