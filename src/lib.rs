//! Comptoir: an EDI ⇄ ERP integration daemon.
//!
//! The library holds the whole pipeline; the `comptoir` binary is a thin CLI
//! over it. Modules follow the pipeline stages:
//!
//! - [`sources`]: directory, SFTP, AMQP and HTTP intake;
//! - [`journal`]: the durable record of every message (SQLite, PostgreSQL);
//! - [`formats`]: syntax layers (EDIFACT, X12, CSV, XML/IDoc) and writers;
//! - [`mapping`]: declarative mappings from syntax trees to the model,
//!   loaded from `mappings/`;
//! - [`model`]: the canonical documents every format maps onto;
//! - [`translate`]: the file → documents entry point used by the CLI and the
//!   daemon;
//! - [`pricing`]: client commercial terms applied to orders and invoices;
//! - [`respond`]: ORDRSP, APERAK and CONTRL answers to partners;
//! - [`exports`]: the return direction, ERP → partner (order responses,
//!   despatch advices, invoices, inventory reports read from Odoo);
//! - [`sinks`]: file, SFTP, AMQP, Odoo, SAP and webhook outputs;
//! - [`net`]: network clients shared by sources and sinks (SSH/SFTP);
//! - [`pipeline`]: the daemon tying sources, journal, stages and sinks;
//! - [`config`]: the daemon's typed configuration;
//! - [`admin`] and [`alerts`]: the admin HTTP server (API, metrics,
//!   dashboard) and alerting;
//! - [`diagnostics`]: located problems shared by every stage;
//! - [`cli`]: the command line.

/// The memory allocator of every program built on this library (the
/// daemon, its benchmarks and tests): mimalloc. A processed order allocates
/// ≈ 640 times (parsed strings, the canonical document, the pricing
/// result, JSON and compressed buffers), across threads; with glibc's
/// allocator that was ≈ 15 % of the daemon's CPU time per order
/// (benches/README.md, section "Daemon", round 5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod admin;
pub mod alerts;
pub mod config;
pub mod diagnostics;
pub mod exports;
pub mod formats;
pub mod journal;
pub mod mapping;
pub mod model;
pub mod net;
pub mod pipeline;
pub mod pricing;
pub mod respond;
pub mod sinks;
pub mod sources;
pub mod translate;

pub mod cli;
