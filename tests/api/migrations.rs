use std::collections::{BTreeMap, BTreeSet};

use coffee_trials::config::DatabaseUrl;
use coffee_trials::library::seed::{builtin_techniques, SeedTechnique, SEEDED_AT};
use coffee_trials::store::time::from_db;
use coffee_trials::store::Store;
use sqlx::Row;

use crate::helpers::{migrated_store, on_postgres, TestDatabase};

const TABLES: &[&str] = &[
    "api_tokens",
    "discarded_slots",
    "do_not_pair",
    "event_summaries",
    "feedback",
    "feedback_requests",
    "import_batches",
    "instance_secrets",
    "memberships",
    "one_time_tokens",
    "organisers",
    "outbox",
    "participants",
    "rate_limits",
    "round_group_members",
    "round_groups",
    "rounds",
    "schedule_notices",
    "sessions",
    "still_in_requests",
    "techniques",
    "trial_organisers",
    "trials",
];

#[tokio::test]
async fn the_schema_has_every_noun_of_the_product() {
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    for table in TABLES {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let row = sqlx::query(&sql).fetch_one(store.pool()).await;
        assert!(row.is_ok(), "table {table} is missing: {:?}", row.err());
    }
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    store.migrate().await.expect("second run is a no-op");
}

#[tokio::test]
async fn sqlite_enforces_foreign_keys() {
    if on_postgres() {
        return; // PostgreSQL always does; this guards the SQLite pragma.
    }
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    let orphan = sqlx::query(
        "INSERT INTO rounds (trial_id, number, seed, created_at) VALUES ($1, 1, '1', 'now')",
    )
    .bind(999_i64)
    .execute(store.pool())
    .await;
    assert!(orphan.is_err(), "a round without its trial was accepted");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(mode.to_lowercase(), "wal");
}

/// What the parity test compares of one column.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Column {
    /// `integer`, `text`, `real`, `boolean`, `blob`, or the declared type when it is none of
    /// these (a timestamp type, say), so that two different stored types never look alike.
    family: String,
    not_null: bool,
    /// The default as written, lower-cased, without casts and outer parentheses.
    default: Option<String>,
}

/// An index or unique key, by what it covers. Names differ between backends (SQLite calls the
/// index behind a `UNIQUE` clause `sqlite_autoindex_…`), so they are not compared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    /// Column names in index order; `<expr>` for an expression.
    columns: Vec<String>,
    unique: bool,
    /// Has a `WHERE` clause (the clause itself is written differently by each backend).
    partial: bool,
    /// The clause is only `<first column> IS NOT NULL`: the index still serves every lookup
    /// by a value of that column.
    skips_nulls: bool,
}

/// Whether an index's `WHERE` clause, as either backend writes it, says only that its first
/// column is not NULL.
fn skips_nulls(predicate: &str, columns: &[String]) -> bool {
    let clause = predicate
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .to_lowercase();
    columns
        .first()
        .is_some_and(|c| clause == format!("{c} is not null"))
}

/// A foreign key: its columns and the table they point to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    columns: Vec<String>,
    references: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Table {
    columns: BTreeMap<String, Column>,
    primary_key: Vec<String>,
    indexes: BTreeSet<Index>,
    foreign_keys: BTreeSet<ForeignKey>,
}

type Schema = BTreeMap<String, Table>;

fn type_family(declared: &str) -> String {
    let t = declared.trim().to_ascii_lowercase();
    let family = if t.contains("int") {
        "integer"
    } else if t == "text" || t.contains("char") || t.contains("clob") {
        "text"
    } else if t == "real" || t.contains("double") || t.contains("float") {
        "real"
    } else if t.starts_with("bool") {
        "boolean"
    } else if t == "blob" || t == "bytea" {
        "blob"
    } else {
        return t;
    };
    family.to_string()
}

fn normalise_default(default: &str) -> Option<String> {
    let mut d = default.trim().to_ascii_lowercase();
    // PostgreSQL writes `'x'::text`; an identity or serial column has no default to compare.
    if d.starts_with("nextval(") {
        return None;
    }
    while let Some(at) = d.rfind("::") {
        if d[at..].contains('\'') {
            break;
        }
        d.truncate(at);
    }
    while d.starts_with('(') && d.ends_with(')') {
        d = d[1..d.len() - 1].trim().to_string();
    }
    Some(match d.as_str() {
        "true" => "1".to_string(),
        "false" => "0".to_string(),
        "now()" | "current_timestamp" => "current_timestamp".to_string(),
        _ => d,
    })
}

fn split_columns(list: &str) -> Vec<String> {
    list.split(',').map(str::to_string).collect()
}

async fn sqlite_schema(store: &Store) -> Schema {
    let pool = store.pool();
    // The rate-limit counters have a file of their own, attached as `limits`.
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' \
         UNION ALL SELECT name FROM limits.sqlite_master WHERE type = 'table'",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect();
    let mut schema = Schema::new();
    for name in tables {
        let mut table = Table::default();
        let columns = sqlx::query(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($1)",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut key: Vec<(i64, String)> = Vec::new();
        for c in &columns {
            let column: String = c.get(0);
            let declared: String = c.get(1);
            let pk: i64 = c.get(4);
            // An `INTEGER PRIMARY KEY` is the rowid and can never be NULL, though SQLite
            // reports it as nullable; any other key column is only as strict as declared.
            let rowid = pk > 0 && declared.eq_ignore_ascii_case("integer");
            if pk > 0 {
                key.push((pk, column.clone()));
            }
            table.columns.insert(
                column,
                Column {
                    family: type_family(&declared),
                    not_null: c.get::<i64, _>(2) != 0 || rowid,
                    default: c
                        .get::<Option<String>, _>(3)
                        .and_then(|d| normalise_default(&d)),
                },
            );
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();

        let indexes =
            sqlx::query("SELECT name, \"unique\", origin, partial FROM pragma_index_list($1)")
                .bind(&name)
                .fetch_all(pool)
                .await
                .unwrap();
        for i in &indexes {
            let index_name: String = i.get(0);
            let origin: String = i.get(2);
            if origin == "pk" {
                continue;
            }
            let columns = sqlx::query(
                "SELECT COALESCE(name, '<expr>') FROM pragma_index_info($1) ORDER BY seqno",
            )
            .bind(&index_name)
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect::<Vec<String>>();
            let sql: Option<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1 \
                 UNION ALL SELECT sql FROM limits.sqlite_master \
                 WHERE type = 'index' AND name = $1",
            )
            .bind(&index_name)
            .fetch_one(pool)
            .await
            .unwrap();
            let predicate = sql
                .as_deref()
                .and_then(|sql| {
                    sql.to_lowercase()
                        .split_once(" where ")
                        .map(|(_, p)| p.to_string())
                })
                .unwrap_or_default();
            table.indexes.insert(Index {
                skips_nulls: skips_nulls(&predicate, &columns),
                columns,
                unique: i.get::<i64, _>(1) != 0,
                partial: i.get::<i64, _>(3) != 0,
            });
        }

        let keys = sqlx::query(
            "SELECT id, \"table\", \"from\" FROM pragma_foreign_key_list($1) ORDER BY id, seq",
        )
        .bind(&name)
        .fetch_all(pool)
        .await
        .unwrap();
        let mut by_id: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for k in &keys {
            let fk = by_id.entry(k.get(0)).or_insert_with(|| ForeignKey {
                columns: Vec::new(),
                references: k.get(1),
            });
            fk.columns.push(k.get(2));
        }
        table.foreign_keys = by_id.into_values().collect();
        schema.insert(name, table);
    }
    schema
}

async fn postgres_schema(store: &Store) -> Schema {
    let pool = store.pool();
    let mut schema = Schema::new();
    // Everything is cast to text: the `Any` driver decodes few PostgreSQL types.
    let columns = sqlx::query(
        "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT), CAST(data_type AS TEXT), \
         CAST(is_nullable AS TEXT), CAST(column_default AS TEXT) \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for c in &columns {
        let table: String = c.get(0);
        schema.entry(table).or_default().columns.insert(
            c.get(1),
            Column {
                family: type_family(&c.get::<String, _>(2)),
                not_null: c.get::<String, _>(3) == "NO",
                default: c
                    .get::<Option<String>, _>(4)
                    .and_then(|d| normalise_default(&d)),
            },
        );
    }
    let indexes = sqlx::query(
        "SELECT CAST(t.relname AS TEXT), \
           CAST(array_to_string(ARRAY( \
             SELECT COALESCE(CAST(a.attname AS TEXT), '<expr>') \
             FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum \
             ORDER BY k.ord), ',') AS TEXT), \
           CAST(ix.indisunique AS TEXT), CAST(ix.indisprimary AS TEXT), \
           CAST(ix.indpred IS NOT NULL AS TEXT), \
           COALESCE(pg_get_expr(ix.indpred, ix.indrelid), '') \
         FROM pg_index ix \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE n.nspname = 'public' AND t.relname NOT LIKE '_sqlx%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for i in &indexes {
        let table = schema.entry(i.get(0)).or_default();
        let columns = split_columns(&i.get::<String, _>(1));
        if i.get::<String, _>(3) == "true" {
            table.primary_key = columns;
        } else {
            table.indexes.insert(Index {
                skips_nulls: skips_nulls(&i.get::<String, _>(5), &columns),
                columns,
                unique: i.get::<String, _>(2) == "true",
                partial: i.get::<String, _>(4) == "true",
            });
        }
    }
    let keys = sqlx::query(
        "SELECT CAST(t.relname AS TEXT), CAST(f.relname AS TEXT), \
           CAST(array_to_string(ARRAY( \
             SELECT CAST(a.attname AS TEXT) \
             FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum \
             ORDER BY k.ord), ',') AS TEXT) \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class f ON f.oid = c.confrelid \
         JOIN pg_namespace n ON n.oid = t.relnamespace \
         WHERE c.contype = 'f' AND n.nspname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for k in &keys {
        schema
            .entry(k.get(0))
            .or_default()
            .foreign_keys
            .insert(ForeignKey {
                columns: split_columns(&k.get::<String, _>(2)),
                references: k.get(1),
            });
    }
    schema
}

/// Rules both schemas keep whatever the backend: every table has a primary key (or a unique
/// key over NOT NULL columns, as a link table may), and every foreign key is the leading part
/// of an index (a partial one only if it leaves out just the NULLs) or of the primary key, so that deleting or looking up the parent row does not
/// scan the child table.
fn invariant_breaches(schema: &Schema) -> Vec<String> {
    let mut breaches = Vec::new();
    for (name, table) in schema {
        let natural_key = table.indexes.iter().any(|i| {
            i.unique
                && !i.partial
                && i.columns
                    .iter()
                    .all(|c| table.columns.get(c).is_some_and(|c| c.not_null))
        });
        if table.primary_key.is_empty() && !natural_key {
            breaches.push(format!("{name} has no primary key"));
        }
        for fk in &table.foreign_keys {
            let covered = std::iter::once(&table.primary_key)
                .chain(
                    table
                        .indexes
                        .iter()
                        .filter(|i| !i.partial || i.skips_nulls)
                        .map(|i| &i.columns),
                )
                .any(|cols| cols.starts_with(&fk.columns));
            if !covered {
                breaches.push(format!(
                    "{name}({}) references {} without an index",
                    fk.columns.join(", "),
                    fk.references
                ));
            }
        }
    }
    breaches
}

/// Every difference between the two schemas, one line each, for a readable failure.
fn differences(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for name in names {
        let (s, p) = match (sqlite.get(name), postgres.get(name)) {
            (Some(s), Some(p)) => (s, p),
            (Some(_), None) => {
                out.push(format!("table {name}: only on SQLite"));
                continue;
            }
            (None, _) => {
                out.push(format!("table {name}: only on PostgreSQL"));
                continue;
            }
        };
        let columns: BTreeSet<&String> = s.columns.keys().chain(p.columns.keys()).collect();
        for column in columns {
            match (s.columns.get(column), p.columns.get(column)) {
                (Some(a), Some(b)) if a != b => {
                    out.push(format!("{name}.{column}: SQLite {a:?}, PostgreSQL {b:?}"))
                }
                (Some(_), None) => out.push(format!("{name}.{column}: only on SQLite")),
                (None, Some(_)) => out.push(format!("{name}.{column}: only on PostgreSQL")),
                _ => {}
            }
        }
        if s.primary_key != p.primary_key {
            out.push(format!(
                "{name} primary key: SQLite {:?}, PostgreSQL {:?}",
                s.primary_key, p.primary_key
            ));
        }
        for index in s.indexes.difference(&p.indexes) {
            out.push(format!("{name} index only on SQLite: {index:?}"));
        }
        for index in p.indexes.difference(&s.indexes) {
            out.push(format!("{name} index only on PostgreSQL: {index:?}"));
        }
        for fk in s.foreign_keys.symmetric_difference(&p.foreign_keys) {
            out.push(format!("{name} foreign key on one backend only: {fk:?}"));
        }
    }
    out
}

async fn fresh_sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("parity.db").display());
    let store = Store::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (dir, store)
}

#[test]
fn types_and_defaults_are_normalised_alike() {
    assert_eq!(type_family("BIGINT"), type_family("INTEGER"));
    assert_eq!(type_family("character varying"), "text");
    assert_eq!(type_family("double precision"), type_family("REAL"));
    assert_ne!(type_family("timestamp with time zone"), type_family("TEXT"));
    assert_eq!(
        normalise_default("'previewed'::text"),
        normalise_default("'previewed'")
    );
    assert_eq!(normalise_default("false"), normalise_default("0"));
    assert_eq!(normalise_default("(0)"), normalise_default("0"));
    assert_eq!(normalise_default("'a::b'"), Some("'a::b'".to_string()));
    assert_ne!(normalise_default("'x'"), normalise_default("'y'"));
    assert_eq!(normalise_default("nextval('t_id_seq'::regclass)"), None);
}

/// The two migration folders must describe the same tables, columns (type family, NOT NULL,
/// default), primary keys, indexes, unique keys and foreign keys. The comparison needs a
/// PostgreSQL server, so it happens in the PostgreSQL pass of the suite (CI runs both); the
/// SQLite pass checks what it can alone: the invariants both schemas keep.
#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let (_dir, sqlite) = fresh_sqlite().await;
    let sqlite = sqlite_schema(&sqlite).await;
    let names: BTreeSet<&str> = sqlite.keys().map(String::as_str).collect();
    let missing: Vec<_> = TABLES.iter().filter(|t| !names.contains(*t)).collect();
    assert!(missing.is_empty(), "tables missing on SQLite: {missing:?}");
    assert!(sqlite["participants"].columns["name"].not_null);
    assert_eq!(invariant_breaches(&sqlite), Vec::<String>::new(), "SQLite");
    if !on_postgres() {
        return;
    }
    let db = TestDatabase::create().await;
    let postgres = postgres_schema(&migrated_store(&db).await).await;
    assert_eq!(
        invariant_breaches(&postgres),
        Vec::<String>::new(),
        "PostgreSQL"
    );
    let differences = differences(&sqlite, &postgres);
    assert!(
        differences.is_empty(),
        "the backends differ:\n{}",
        differences.join("\n")
    );
}

/// The seed migration (frozen: sqlx checks its checksum) and the data file the code reads
/// (`library/techniques.json`) must describe the same built-in techniques, field by field.
#[tokio::test]
async fn the_seed_migration_holds_exactly_the_techniques_data_file() {
    let db = TestDatabase::create().await;
    let store = migrated_store(&db).await;
    let seeded: Vec<_> = store
        .list_techniques()
        .await
        .unwrap()
        .into_iter()
        .map(|t| {
            assert!(t.is_builtin, "{}", t.slug);
            assert_eq!(
                (Some(t.created_at), Some(t.updated_at)),
                (from_db(SEEDED_AT), from_db(SEEDED_AT))
            );
            SeedTechnique {
                phase: t.phase(),
                position: u32::try_from(t.position).unwrap(),
                summary: t.summary,
                duration_min_minutes: u32::try_from(t.duration_min_minutes).unwrap(),
                duration_max_minutes: u32::try_from(t.duration_max_minutes).unwrap(),
                people_min: u32::try_from(t.people_min).unwrap(),
                people_max: t.people_max.map(|n| u32::try_from(n).unwrap()),
                body_md: t.body_md,
                slug: t.slug,
                name: t.name,
            }
        })
        .collect();
    assert_eq!(seeded, builtin_techniques());
}

/// The indexes of foreign keys that are NULL on most rows leave the NULLs out (migration
/// 0079), and a lookup by a value, as a cascade makes, still goes through them on each backend.
#[tokio::test]
async fn lookups_by_a_mostly_null_foreign_key_still_use_its_index() {
    use coffee_trials::store::Backend;
    let t = crate::helpers::TestStore::new().await;
    let store = &t.store;
    for (table, column, index) in [
        (
            "one_time_tokens",
            "group_id",
            "one_time_tokens_group_id_idx",
        ),
        (
            "one_time_tokens",
            "organiser_id",
            "one_time_tokens_organiser_id_idx",
        ),
        ("outbox", "round_id", "outbox_round_id_idx"),
    ] {
        let query = format!("SELECT id FROM {table} WHERE {column} = $1");
        let plan: Vec<String> = match store.backend() {
            Backend::Sqlite => {
                // EXPLAIN reads the schema the connection has cached without checking that it
                // is current, and a connection opened before the migrations may hold an older
                // one: a real statement on the same connection reloads it first.
                let mut conn = store.pool().acquire().await.unwrap();
                sqlx::query(&query)
                    .bind(7_i64)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
                sqlx::query_as::<_, (i64, i64, i64, String)>(&format!("EXPLAIN QUERY PLAN {query}"))
                    .bind(7_i64)
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.3)
                    .collect()
            }
            Backend::Postgres => {
                // A generic plan, as a cascade's prepared query gets; no table is big enough
                // here for the planner to prefer an index unless sequential scans are off.
                let mut tx = store.pool().begin().await.unwrap();
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                let plan = sqlx::query_as::<_, (String,)>(&format!("EXPLAIN {query}"))
                    .bind(7_i64)
                    .fetch_all(&mut *tx)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| r.0)
                    .collect();
                tx.rollback().await.unwrap();
                plan
            }
        };
        assert!(plan.iter().any(|line| line.contains(index)), "{plan:#?}");
    }
}
