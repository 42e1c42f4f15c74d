//! Short in-suite fuzzing of the EDIFACT path (the long runs use the
//! coverage-guided target in `fuzz/`): random bytes and mutations of real
//! interchanges go through the whole translator. Nothing may panic, and a
//! rejected message always carries at least one located error.

mod common;

use comptoir::translate::{Options, Outcome, Translator};
use proptest::prelude::*;

static REGISTRY: std::sync::OnceLock<comptoir::mapping::Registry> = std::sync::OnceLock::new();

const SEED: &[u8] = include_bytes!("../fixtures/edifact/orders_acme.edi");

fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let registry = REGISTRY.get_or_init(common::registry);
    let mut bad = None;
    let result = Translator::new(registry).translate(bytes, &Options::default(), &mut |o| {
        if let Outcome::Rejected { diagnostics, .. } = o {
            // Byte offsets for EDIFACT and X12, line numbers for XML and CSV.
            let located = |d: &comptoir::diagnostics::Diagnostic| {
                d.is_error() && (d.location.offset.is_some() || d.location.line.is_some())
            };
            if !diagnostics.iter().any(located) {
                bad = Some(diagnostics);
            }
        }
    });
    // An input that cannot be read at all is an error value, never a panic.
    let _ = result;
    prop_assert!(bad.is_none(), "rejected without a located error: {bad:?}");
    Ok(())
}

/// A mutation: (position, kind, byte).
fn mutate(seed: &[u8], muts: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for &(pos, kind, byte) in muts {
        if v.is_empty() {
            break;
        }
        let p = pos % v.len();
        match kind % 6 {
            0 => v[p] = byte,
            1 => v.insert(p, b"'+:?*"[usize::from(byte) % 5]),
            2 => {
                v.remove(p);
            }
            3 => v.truncate(p),
            4 => {
                let chunk: Vec<u8> = v[p..].iter().take(usize::from(byte)).copied().collect();
                v.splice(p..p, chunk);
            }
            _ => v.insert(p, byte),
        }
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes)?;
    }

    #[test]
    fn edifact_like_bytes_never_panic(parts in proptest::collection::vec(
        prop_oneof![
            Just(&b"UNA:+.? '"[..]), Just(&b"UNB+UNOC:3+A:14+B:14+240101:1200+R'"[..]),
            Just(&b"UNH+1+ORDERS:D:96A:UN:EAN008'"[..]), Just(&b"BGM+220+X+9'"[..]),
            Just(&b"LIN+1++5410738000152:SRV'"[..]), Just(&b"QTY+21:5:PCE'"[..]),
            Just(&b"PRI+AAA:1.5'"[..]), Just(&b"UNS+S'"[..]), Just(&b"UNT+5+1'"[..]),
            Just(&b"UNZ+1+R'"[..]), Just(&b"UNG+ORDERS+A+B+240101:1200+G'"[..]), Just(&b"UNE+1+G'"[..]),
            Just(&b"UNO+P1+1:D+13:x+3'abcUNP+3+P1'"[..]), Just(&b"?"[..]), Just(&b"\r\n"[..]),
            Just(&b"NAD+BY+1::9'"[..]), Just(&b"DTM+137:2024:102'"[..]),
        ], 0..40)) {
        let bytes: Vec<u8> = parts.concat();
        check(&bytes)?;
    }

    #[test]
    fn mutated_interchanges_never_panic(muts in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)) {
        check(&mutate(SEED, &muts))?;
    }
}
