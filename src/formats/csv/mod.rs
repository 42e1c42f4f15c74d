//! CSV input: order files, stock files and price lists exported by ERPs
//! and partners, read with one layout file per format under
//! `mappings/csv/` (see [`layout`]).
//!
//! - [`Layout`]: delimiter, quoting, header names or column positions,
//!   decimal comma, date formats, encoding (UTF-8, Windows-1252,
//!   ISO-8859-1; BOM handled by `encoding_rs`), grouping column;
//! - [`inbound`]: file → canonical documents, multi-row documents grouped
//!   by their number, malformed rows reported with their line number;
//! - [`fuzz_csv`]: a never-panicking entry point for fuzzers.

pub mod inbound;
pub mod layout;

pub use inbound::{choose_layout, translate_bytes};
pub use layout::{load_layouts, Column, Layout, LayoutError, LayoutFile, LayoutSpec};

/// Fuzzing entry point: reads `data` as CSV with every layout of the
/// crate's `mappings/csv/`. Must never panic, whatever the bytes.
pub fn fuzz_csv(data: &[u8]) {
    use std::sync::OnceLock;
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    let layouts = LAYOUTS.get_or_init(|| {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings/csv");
        load_layouts(&dir).unwrap_or_default()
    });
    for l in layouts {
        let opts = crate::translate::Options {
            layout: Some(l.name.clone()),
            ..crate::translate::Options::default()
        };
        let _ = translate_bytes(layouts, data, &opts, &mut |_| {});
    }
    let _ = translate_bytes(
        layouts,
        data,
        &crate::translate::Options::default(),
        &mut |_| {},
    );
}
