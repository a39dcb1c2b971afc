#![forbid(unsafe_code)]
//! coffee-trials: Randomised Coffee Trials and a library of knowledge-mobilisation techniques.
pub mod accounts;
pub mod cli;
pub mod config;
pub mod domain;
pub mod events;
pub mod feedback;
pub mod import;
pub mod insight;
pub mod library;
pub mod links;
pub mod mail;
pub mod matching;
pub mod participants;
pub mod rounds;
pub mod schedule;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
