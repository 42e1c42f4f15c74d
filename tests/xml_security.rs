//! XML input hardening: DTDs, external entities (XXE) and entity expansion
//! ("billion laughs") are refused with a clear error, never expanded and
//! never fetched; namespace prefixes, encodings, BOMs and leading comments
//! are handled as real files need.

mod common;

use comptoir::formats::xml::{read_document, ReadResult, XmlError, XmlMappings};

fn maps() -> XmlMappings {
    XmlMappings::builtin().expect("built-in XML mappings compile")
}

fn failed(bytes: &[u8]) -> XmlError {
    match read_document(bytes, &maps(), Some("t.xml".into())) {
        ReadResult::Failed(e) => e,
        ReadResult::Document { document, .. } => panic!("not refused: {document:?}"),
    }
}

const UBL_HEAD: &str = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">"#;

#[test]
fn xxe_is_refused_and_nothing_is_read() {
    let payload = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE Invoice [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n{UBL_HEAD}<cbc:ID>&xxe;</cbc:ID></Invoice>"
    );
    let e = failed(payload.as_bytes());
    assert!(matches!(e, XmlError::Dtd { line: 2 }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("DTD"), "{msg}");
    assert!(!msg.contains("root:"), "file content leaked: {msg}");
}

#[test]
fn external_dtd_is_refused() {
    let payload = format!(
        "<!DOCTYPE Invoice SYSTEM \"http://127.0.0.1:1/evil.dtd\">{UBL_HEAD}<cbc:ID>1</cbc:ID></Invoice>"
    );
    assert!(matches!(failed(payload.as_bytes()), XmlError::Dtd { .. }));
}

#[test]
fn billion_laughs_is_refused_quickly() {
    let mut p = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        p.push_str(&format!(
            "<!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    p.push_str(&format!("]>\n{UBL_HEAD}<cbc:ID>&lol9;</cbc:ID></Invoice>"));
    let t = std::time::Instant::now();
    let e = failed(p.as_bytes());
    assert!(matches!(e, XmlError::Dtd { .. }), "{e:?}");
    assert!(t.elapsed().as_secs() < 2);
}

#[test]
fn undeclared_entities_are_refused_predefined_ones_resolved() {
    let e = failed(format!("{UBL_HEAD}<cbc:ID>&lol;</cbc:ID></Invoice>").as_bytes());
    assert!(
        matches!(&e, XmlError::Entity { name, .. } if name == "lol"),
        "{e:?}"
    );
    let ok = format!("{UBL_HEAD}<cbc:ID>A&amp;B&#x20;&#67;&lt;</cbc:ID></Invoice>");
    match read_document(ok.as_bytes(), &maps(), None) {
        ReadResult::Document { document, .. } => assert_eq!(document.number, "A&B C<"),
        ReadResult::Failed(e) => panic!("{e}"),
    }
}

#[test]
fn translate_rejects_with_a_located_diagnostic() {
    let registry = common::registry();
    let payload = format!("<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY a \"b\">]>\n{UBL_HEAD}<cbc:ID>&a;</cbc:ID></Invoice>");
    let run = common::translate(&registry, payload.as_bytes(), "xxe.xml", None);
    assert!(run.documents.is_empty());
    let d = &run.rejected[0][0];
    assert_eq!(d.code, "xml-dtd-refused");
    assert_eq!(d.location.line, Some(2));
}

#[test]
fn prefixes_are_free_namespaces_matter() {
    let doc = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- partner comment -->
<u:Invoice xmlns:u="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:b="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
  xmlns:a="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2">
  <b:ID>INV-9</b:ID>
  <a:InvoiceLine><b:ID>1</b:ID><b:InvoicedQuantity unitCode="KGM">2.5</b:InvoicedQuantity></a:InvoiceLine>
  <a:InvoiceLine xmlns:a="urn:other"><b:ID>2</b:ID></a:InvoiceLine>
</u:Invoice>"#;
    let mut bytes = vec![0xEF, 0xBB, 0xBF, b'\n', b'\n'];
    bytes.extend_from_slice(doc.as_bytes());
    match read_document(&bytes, &maps(), None) {
        ReadResult::Document { document, .. } => {
            assert_eq!(document.number, "INV-9");
            // The second InvoiceLine is in another namespace: not a line.
            assert_eq!(document.lines.len(), 1);
            let q = document.lines[0].quantity.as_ref().expect("quantity");
            assert_eq!(q.value.to_string(), "2.5");
            assert_eq!(q.unit.as_deref(), Some("KGM"));
        }
        ReadResult::Failed(e) => panic!("{e}"),
    }
}

#[test]
fn latin1_declared_input_is_decoded() {
    let mut bytes = b"<?xml version='1.0' encoding='ISO-8859-1'?>".to_vec();
    bytes.extend_from_slice(UBL_HEAD.as_bytes());
    bytes.extend_from_slice(b"<cbc:ID>F\xe9vrier</cbc:ID><cbc:Note>Caf\xe9</cbc:Note></Invoice>");
    match read_document(&bytes, &maps(), None) {
        ReadResult::Document { document, .. } => {
            assert_eq!(document.number, "Février");
            assert_eq!(document.notes[0].text, "Café");
        }
        ReadResult::Failed(e) => panic!("{e}"),
    }
}

#[test]
fn malformed_and_unknown_roots_are_errors() {
    let bad = format!("{UBL_HEAD}<cbc:ID>1</cbc:Note></Invoice>");
    assert!(matches!(
        failed(bad.as_bytes()),
        XmlError::Syntax { line: 1, .. }
    ));
    let cut = format!("{UBL_HEAD}<cbc:ID>1</cbc:ID>");
    assert!(matches!(failed(cut.as_bytes()), XmlError::Syntax { .. }));
    assert!(matches!(
        failed(b"<Unknown/>"),
        XmlError::UnknownRoot { .. }
    ));
    assert!(matches!(failed(b"<x:a/>"), XmlError::UnboundPrefix { .. }));
    assert!(matches!(failed(b""), XmlError::NoRoot));
    let deep = "<a>".repeat(1000);
    assert!(matches!(
        failed(deep.as_bytes()),
        XmlError::UnknownRoot { .. } | XmlError::TooDeep { .. }
    ));
}
