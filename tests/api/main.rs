//! One integration-test binary. Every test that touches a database runs on SQLite by default,
//! and on PostgreSQL when TEST_DATABASE_URL is a postgres:// URL.
mod cli;
mod health;
mod helpers;
mod match_cli;
mod migrations;
mod organisers;
mod participants_store;
mod techniques;
mod trials;
