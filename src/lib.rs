//! Comptoir: an EDI ⇄ ERP integration daemon.
//!
//! The library holds the whole pipeline; the `comptoir` binary is a thin CLI
//! over it. Modules follow the pipeline stages:
//!
//! - [`model`]: the canonical documents every format maps onto;
//! - [`formats`]: syntax layers (EDIFACT tokenizer, envelopes, writers);
//! - [`mapping`]: declarative mappings from syntax trees to the model,
//!   loaded from `mappings/`;
//! - [`diagnostics`]: located problems shared by every stage;
//! - [`translate`]: the file → documents entry point used by the CLI and the
//!   daemon;
//! - [`admin`]: the admin HTTP server (API, metrics, dashboard);
//! - [`cli`]: the command line.

pub mod admin;
pub mod alerts;
pub mod config;
pub mod diagnostics;
pub mod formats;
pub mod journal;
pub mod mapping;
pub mod model;
pub mod pipeline;
pub mod pricing;
pub mod respond;
pub mod sinks;
pub mod sources;
pub mod translate;

pub mod cli;
