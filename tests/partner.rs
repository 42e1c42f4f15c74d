//! Partner overrides change the mapping without recompiling: qualifiers,
//! item codes, defaults, disabled rules and the envelope policy.

mod common;

use comptoir::model::PartyRole;

const ORDER: &str = "UNA:+.? 'UNB+UNOC:3+3012345000004:14+5410738000008:14+261120:0915+R1'\
UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+RD-77+9'FTX+ZZZ+++internal code 42'\
NAD+BY+3012345000004::9'NAD+DEL+3012345000011::9'\
LIN+1++5410738000152:SRV'PIA+1+ART-152:ZZ'QTY+21:6:PCE'UNS+S'UNT+10+1'UNZ+1+R1'";

#[test]
fn overrides_apply_to_the_partner_found_from_the_sender() {
    let registry = common::registry();
    let run = common::translate(&registry, ORDER.as_bytes(), "order.edi", None);
    assert!(run.rejected.is_empty(), "{:?}", run.rejected);
    let d = &run.documents[0];
    assert_eq!(d.parties[1].role, PartyRole::DeliveryParty);
    assert_eq!(d.lines[0].seller_item_code.as_deref(), Some("ART-152"));
    assert_eq!(d.currency.as_deref(), Some("EUR"));
    assert!(
        d.notes.is_empty(),
        "the partner disabled FTX: {:?}",
        d.notes
    );
}

#[test]
fn without_the_partner_the_base_mapping_applies() {
    let registry = common::registry();
    let other_sender = ORDER.replace("UNB+UNOC:3+3012345000004:14", "UNB+UNOC:3+9999999999999:14");
    let run = common::translate(&registry, other_sender.as_bytes(), "order.edi", None);
    let d = &run.documents[0];
    assert_eq!(d.parties[1].role, PartyRole::Other("DEL".into()));
    assert_eq!(d.lines[0].seller_item_code, None);
    assert_eq!(d.lines[0].item_ids[0].kind, "ZZ");
    assert_eq!(d.currency, None);
    assert_eq!(d.notes.len(), 1);
}

#[test]
fn the_partner_envelope_policy_rejects_wrong_counts() {
    let registry = common::registry();
    let wrong = ORDER.replace("UNT+10+1", "UNT+9+1");
    let run = common::translate(
        &registry,
        wrong.as_bytes(),
        "order.edi",
        Some("retail-demo"),
    );
    assert_eq!(run.rejected.len(), 1);
    assert!(run.rejected[0]
        .iter()
        .any(|d| d.code == "unt-count" && d.is_error()));
    // The default policy only warns.
    let other = wrong.replace("UNB+UNOC:3+3012345000004:14", "UNB+UNOC:3+9999999999999:14");
    let run = common::translate(&registry, other.as_bytes(), "order.edi", None);
    assert!(run.rejected.is_empty());
    assert!(run.warnings.iter().any(|d| d.code == "unt-count"));
}

#[test]
fn an_unknown_partner_is_an_error() {
    let registry = common::registry();
    let opts = comptoir::translate::Options {
        partner: Some("nobody".into()),
        ..Default::default()
    };
    let res = comptoir::translate::Translator::new(&registry).translate(
        ORDER.as_bytes(),
        &opts,
        &mut |_| {},
    );
    assert!(res.is_err());
}
