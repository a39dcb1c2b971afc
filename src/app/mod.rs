//! The use cases: what participants and organisers can do, one module per aggregate. Web
//! handlers and CLI commands translate requests into calls here and answers back; this layer
//! owns the rules and the transactions.
//!
//! May import: `store`, `mail`, `links`, `matching`, `domain`, `config`, `tokens`, `insight`,
//! `library`, and each other without forming a cycle. Never `web` or `cli`.
pub mod accounts;
pub mod dashboard;
pub mod events;
pub mod exports;
pub mod feedback;
pub mod home;
pub mod import;
pub mod limits;
pub mod organisers;
pub mod outbox;
pub mod participants;
pub mod recovery;
pub mod retention;
pub mod rounds;
pub mod schedule;
pub mod service;
pub mod sessions;
pub mod signups;
pub mod system;
pub mod techniques;
pub mod trials;
pub mod webhooks;
