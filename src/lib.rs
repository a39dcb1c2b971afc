#![forbid(unsafe_code)]
//! coffee-trials: Randomised Coffee Trials and a library of knowledge-mobilisation techniques.
pub mod app;
pub mod cli;
pub mod config;
pub mod domain;
pub mod insight;
pub mod library;
pub mod links;
pub mod mail;
pub mod matching;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web;
pub mod webhooks;
