//! One integration-test binary. Every test that touches a database runs on SQLite by default,
//! and on PostgreSQL when TEST_DATABASE_URL is a postgres:// URL.
mod architecture;
mod browser;
mod browser_participants;
mod browser_rounds;
mod cli;
mod console_participants;
mod dashboard;
mod delivery;
mod events;
mod feedback;
mod health;
mod helpers;
mod import;
mod match_cli;
mod migrations;
mod organisers;
mod participants;
mod participants_store;
mod rounds;
mod route_table;
mod schedule;
mod search;
mod smtp_sink;
mod technique_console;
mod techniques;
mod trials;
