//! The XML / flat IDoc entry point never panics: random bytes, and
//! corpus-like documents with random bytes replaced, inserted or removed.

use comptoir::formats::xml::{read_document, write_cii_invoice, write_ubl_invoice, XmlMappings};
use comptoir::model::{Document, DocumentType, Line, Quantity};
use proptest::prelude::*;

fn maps() -> &'static XmlMappings {
    static MAPS: std::sync::OnceLock<XmlMappings> = std::sync::OnceLock::new();
    MAPS.get_or_init(|| XmlMappings::builtin().expect("mappings"))
}

fn seeds() -> Vec<Vec<u8>> {
    let mut doc = Document::new(DocumentType::Invoice, "F-1");
    doc.currency = Some("EUR".into());
    doc.lines.push(Line {
        line_number: Some("1".into()),
        quantity: Some(Quantity::new(rust_decimal::Decimal::TEN)),
        ..Line::default()
    });
    let mut out = vec![
        write_ubl_invoice(&doc).unwrap_or_default(),
        write_cii_invoice(&doc).unwrap_or_default(),
        b"EDI_DC40  0320000000000887330620 3012  ORDERS01                      ORDERS01\nE2EDK01003                    032000000000088733000000100000001    EUR   1.00000     0086                                                     ZRLS4200003091\nE2EDP01003                    03200000000008873300000150000000200010 0010 100.000        PCE\n".to_vec(),
    ];
    out.push(b"<?xml version='1.0' encoding='ISO-8859-1'?><Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>".to_vec());
    out
}

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (
            any::<usize>(),
            prop_oneof![
                Just(b"<".to_vec()),
                Just(b"&lol;".to_vec()),
                Just(b"<!DOCTYPE x>".to_vec()),
                Just(b"]]>".to_vec()),
                Just(b"\xff\xfe".to_vec()),
                Just(b"</a>".to_vec()),
                prop::collection::vec(any::<u8>(), 0..8),
            ]
        )
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 0usize..40).prop_map(|(i, n)| Edit::Remove(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Replace(i, v) => {
                if !b.is_empty() {
                    let i = i % b.len();
                    b[i] = *v;
                }
            }
            Edit::Insert(i, v) => {
                let i = i % len.min(b.len() + 1);
                b.splice(i..i, v.iter().copied());
            }
            Edit::Remove(i, n) => {
                if !b.is_empty() {
                    let i = i % b.len();
                    let end = (i + n).min(b.len());
                    b.drain(i..end);
                }
            }
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let maps = maps();
        let _ = read_document(&bytes, maps, None);
        let mut lt = b"<".to_vec();
        lt.extend_from_slice(&bytes);
        let _ = read_document(&lt, maps, None);
        let mut dc = b"EDI_DC40".to_vec();
        dc.extend_from_slice(&bytes);
        let _ = read_document(&dc, maps, None);
    }

    #[test]
    fn mutated_documents_never_panic(seed in 0usize..4, edits in prop::collection::vec(edit(), 1..6)) {
        let maps = maps();
        let seeds = seeds();
        let bytes = apply(seeds[seed % seeds.len()].clone(), &edits);
        let _ = read_document(&bytes, maps, None);
    }
}
