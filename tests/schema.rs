//! The checked-in JSON Schema (`schema/document.schema.json`) matches the
//! model. Regenerate it with `cargo run -- schema > schema/document.schema.json`.

use std::path::PathBuf;

#[test]
fn checked_in_schema_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/document.schema.json");
    let text = std::fs::read_to_string(&path).expect("schema/document.schema.json is missing");
    let on_disk: serde_json::Value =
        serde_json::from_str(&text).expect("checked-in schema is not JSON");
    let current = comptoir::model::document_schema();
    assert!(
        on_disk == current,
        "schema/document.schema.json is stale: run `cargo run -- schema > schema/document.schema.json`"
    );
}

#[test]
fn schema_requires_the_stable_fields() {
    let schema = comptoir::model::document_schema();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required list")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for field in ["document_type", "number", "lines"] {
        assert!(
            required.contains(&field),
            "{field} is not required in the schema"
        );
    }
}
