//! Fuzz target: arbitrary bytes through the whole EDIFACT translation
//! (lexer, envelopes, mapping). Any panic is a bug; so is a rejected
//! message whose errors carry no location.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use comptoir::mapping::Registry;
use comptoir::translate::{Format, Options, Outcome, Translator};
use libfuzzer_sys::fuzz_target;

static REGISTRY: OnceLock<Option<Registry>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some(registry) = REGISTRY
        .get_or_init(|| Registry::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../mappings")).ok())
    else {
        return;
    };
    let opts = Options {
        format: Some(Format::Edifact),
        ..Options::default()
    };
    let _ = Translator::new(registry).translate(data, &opts, &mut |o| {
        if let Outcome::Rejected { diagnostics, .. } = o {
            assert!(
                diagnostics.iter().any(|d| d.is_error() && d.location.offset.is_some()),
                "rejected without a located error: {diagnostics:?}"
            );
        }
    });
});
