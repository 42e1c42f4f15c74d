//! Declarative mappings: syntax trees → canonical documents.
//!
//! Message structures (segment groups) and the rules that move segment
//! elements into canonical fields are data files under `mappings/`, not
//! Rust code; onboarding a partner is a file change, not a release.
//!
//! - [`spec`]: the TOML file format;
//! - [`compile`]: loading, includes, partner merging, compilation to
//!   lookup tables;
//! - [`target`]: the vocabulary of canonical fields rules can set;
//! - [`engine`]: running a compiled mapping over one message;
//! - [`registry`]: all mappings of a directory, looked up by message type,
//!   directory and partner.

pub mod compile;
pub mod convert;
pub mod engine;
pub mod registry;
pub mod spec;
pub mod target;

pub use compile::{CompiledMapping, MappingError};
pub use engine::MessageMapper;
pub use registry::{Partner, Registry};
