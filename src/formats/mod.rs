//! Syntax layers: reading and writing the wire formats partners send.
//!
//! Each format folder turns bytes into a stream of syntax events (segments,
//! envelopes) and writes canonical documents back out. Mapping those events
//! onto the canonical model is the job of [`crate::mapping`].

pub mod csv;
pub mod edifact;
pub mod x12;
pub mod xml;
