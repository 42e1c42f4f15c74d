//! How the journal stores a message's canonical and priced JSON: LZ4
//! (block format, `lz4_flex`) with the uncompressed length first, in the
//! `canonical_z` / `priced_z` columns.
//!
//! The JSON of a priced 20-line order is ≈ 21 KB, most of it the per-line
//! trail of the rules applied; compressed it is ≈ 8 times smaller. Writing
//! it was most of what a batch commit wrote (and, on SQLite, wrote again
//! at each WAL checkpoint), so the pipeline packs on its worker threads
//! ([`crate::journal::Update::pack`]) and the journal stores the bytes.
//! Reading unpacks; rows written before migration 0006 keep their text
//! columns, which are read as they are.

use super::JournalError;

/// A packed document larger than this (uncompressed) is refused as
/// corrupt rather than allocated.
const MAX_UNPACKED: usize = 256 << 20;

/// Compresses a JSON text.
pub fn pack(json: &str) -> Vec<u8> {
    lz4_flex::compress_prepend_size(json.as_bytes())
}

/// Decompresses what [`pack`] produced; `id` and `column` name the value
/// in the error.
pub fn unpack(id: i64, column: &str, bytes: &[u8]) -> Result<String, JournalError> {
    let corrupt = |why: String| JournalError::Corrupt {
        id,
        column: column.to_string(),
        why,
    };
    let len = bytes
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(|| corrupt("shorter than its length prefix".into()))?;
    if len > MAX_UNPACKED {
        return Err(corrupt(format!("claims {len} bytes uncompressed")));
    }
    let raw = lz4_flex::decompress_size_prepended(bytes).map_err(|e| corrupt(e.to_string()))?;
    String::from_utf8(raw).map_err(|e| corrupt(format!("not UTF-8: {e}")))
}

/// The stored form of a document column: the packed bytes when present,
/// else the text of a row written before packing existed.
pub fn read(
    id: i64,
    column: &str,
    packed: Option<Vec<u8>>,
    text: Option<String>,
) -> Result<Option<String>, JournalError> {
    match packed {
        Some(b) => unpack(id, column, &b).map(Some),
        None => Ok(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_shrinks_json() {
        let line = r#"{"rule_id":"GMS-COFFEE-CASCADE","kind":"discount","source":{"file":"rules.toml","line":7}},"#;
        let json = format!("[{}]", line.repeat(200));
        let p = pack(&json);
        assert!(p.len() * 5 < json.len(), "{} → {}", json.len(), p.len());
        assert_eq!(unpack(1, "priced_z", &p).unwrap(), json);
        assert_eq!(unpack(1, "x", &pack("")).unwrap(), "");
    }

    #[test]
    fn corrupt_values_are_errors_naming_the_message() {
        for bad in [
            &b""[..],
            b"\x01",
            b"\xff\xff\xff\xff\x00",
            b"\x05\x00\x00\x00\xf0",
        ] {
            let e = unpack(42, "canonical_z", bad).unwrap_err().to_string();
            assert!(e.contains("message 42") && e.contains("canonical_z"), "{e}");
        }
        let not_utf8 = lz4_flex::compress_prepend_size(&[0xff, 0xfe]);
        assert!(unpack(1, "priced_z", &not_utf8).is_err());
    }

    #[test]
    fn old_rows_read_their_text() {
        assert_eq!(
            read(1, "c", None, Some("[1]".into())).unwrap().as_deref(),
            Some("[1]")
        );
        assert_eq!(
            read(1, "c", Some(pack("[2]")), None).unwrap().as_deref(),
            Some("[2]")
        );
        assert_eq!(read(1, "c", None, None).unwrap(), None);
    }
}
