//! Every UBL, CII and IDoc file of the shared corpus translates to one
//! document with the expected number and line count; the invalid CII file
//! with a broken sub-line hierarchy is rejected with a located error.
//! Prints a per-file markdown table.

mod common;

use std::path::Path;

/// (family/file, document number, number of line elements)
const EXPECTED: &[(&str, &str, usize)] = &[
    ("ubl/en16931_ubl_creditnote1.xml", "018304 / 28865", 1),
    ("ubl/oasis_ubl_inventoryreport_2.1_example.xml", "CC2679", 3),
    ("ubl/oasis_ubl_invoice_2.1_trivial.xml", "123", 1),
    ("ubl/oca_ubl20_efff_be_invoice.xml", "16117778", 1),
    (
        "ubl/peppol_bis3_invoice_allowance_example.xml",
        "Snippet1",
        3,
    ),
    ("ubl/peppol_bis3_invoice_base_example.xml", "Snippet1", 2),
    ("ubl/peppol_catalogue_example_iso8859.xml", "1387", 2),
    ("ubl/peppol_despatchadvice_example.xml", "565899", 1),
    ("ubl/peppol_message_level_response.xml", "MLR-ID123", 0),
    ("ubl/peppol_order_example.xml", "34", 2),
    ("ubl/peppol_orderresponse_example.xml", "101", 3),
    ("cii/en16931_cii_business_example_z.xml", "2016166", 3),
    ("cii/en16931_cii_example1.xml", "12115118", 20),
    ("cii/facturx_minimum.xml", "F20260023", 0),
    ("cii/facturx_order_x_basic.xml", "PO123456789", 3),
    ("cii/mustang_line_total_4_decimals.xml", "DEMO-1", 1),
    ("cii/mustang_zugferd1_invoice.xml", "RE-20170509/505", 3),
    ("cii/zugferd21_en16931_rabatte.xml", "471102", 4),
    (
        "cii/zugferd23_extended_warenrechnung.xml",
        "R87654321012345",
        6,
    ),
    ("idoc/bots_idoc_orders01_flat.idoc", "4200003091", 1),
    ("idoc/bots_idoc_wp_plu02_flat.idoc", "0000000000267778", 143),
];

#[test]
fn corpus_xml_files_translate() {
    let Some(base) = common::corpus("") else {
        return;
    };
    let registry = common::registry();
    let mut table = String::from(
        "\n| file | type | number | lines | parties | diagnostics | result |\n|---|---|---|---|---|---|---|\n",
    );
    let mut failures = Vec::new();
    // Every file of the three folders must be listed.
    for fam in ["ubl", "cii", "idoc"] {
        let Ok(rd) = std::fs::read_dir(base.join(fam)) else {
            continue;
        };
        for e in rd.flatten() {
            let name = format!("{fam}/{}", e.file_name().to_string_lossy());
            if !EXPECTED.iter().any(|(f, _, _)| *f == name) {
                failures.push(format!("{name}: not in the expectations table"));
            }
        }
    }
    for (file, number, lines) in EXPECTED {
        let path = base.join(file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let run = common::translate(&registry, &bytes, file, None);
        let result;
        match (run.documents.as_slice(), run.rejected.len()) {
            ([doc], 0) => {
                let mut bad = Vec::new();
                if doc.number != *number {
                    bad.push(format!("number {:?} != {number:?}", doc.number));
                }
                if doc.lines.len() != *lines {
                    bad.push(format!("{} lines != {lines}", doc.lines.len()));
                }
                result = if bad.is_empty() {
                    "ok".to_string()
                } else {
                    failures.push(format!("{file}: {}", bad.join(", ")));
                    format!("FAIL: {}", bad.join(", "))
                };
                table.push_str(&format!(
                    "| {file} | {} | {} | {} | {} | {} | {result} |\n",
                    doc.document_type,
                    doc.number,
                    doc.lines.len(),
                    doc.parties.len(),
                    run.warnings.len(),
                ));
            }
            _ => {
                let why = run
                    .rejected
                    .iter()
                    .flatten()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                failures.push(format!(
                    "{file}: {} documents, rejected: {why}",
                    run.documents.len()
                ));
                table.push_str(&format!("| {file} | - | - | - | - | - | FAIL: {why} |\n"));
            }
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}

#[test]
fn invalid_subline_hierarchy_is_located() {
    let Some(base) = common::corpus("invalid") else {
        return;
    };
    let registry = common::registry();
    let file = "mustang_cii_invalid_subline_hierarchy.xml";
    let bytes = std::fs::read(Path::new(&base).join(file)).expect("corpus file");
    let run = common::translate(&registry, &bytes, file, None);
    assert!(run.documents.is_empty(), "must be rejected");
    assert_eq!(run.rejected.len(), 1);
    let errs: Vec<_> = run.rejected[0]
        .iter()
        .filter(|d| d.code == "unresolved-parent-line")
        .collect();
    assert!(!errs.is_empty(), "{:?}", run.rejected);
    for e in &errs {
        println!("{e}");
        let tag = e.location.tag.as_deref().unwrap_or("");
        assert!(
            tag.contains("ram:IncludedSupplyChainTradeLineItem"),
            "path {tag}"
        );
        assert!(e.location.line.is_some_and(|l| l > 1));
    }
}
