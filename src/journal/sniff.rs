//! A cheap look at the top of an EDIFACT interchange: the sender and the
//! control reference of its first UNB, used as a duplicate key when a
//! message is received (before any real parsing happens).

/// Identity of an interchange: UNB sender (0004) and control reference (0020).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterchangeId {
    pub sender: String,
    pub control_ref: String,
}

/// The first UNB's sender and control reference, when `raw` starts (after a
/// BOM, blank space or a UNA) with an EDIFACT interchange and both are set.
pub fn sniff_interchange(raw: &[u8]) -> Option<InterchangeId> {
    let mut s = raw.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(raw);
    let start = s.iter().position(|b| !b.is_ascii_whitespace())?;
    s = &s[start..];
    let (comp, data, release, term) = if s.starts_with(b"UNA") && s.len() >= 9 {
        let d = (s[3], s[4], s[6], s[8]);
        s = &s[9..];
        let start = s.iter().position(|b| !b.is_ascii_whitespace())?;
        s = &s[start..];
        d
    } else {
        (b':', b'+', b'?', b'\'')
    };
    if !s.starts_with(b"UNB") {
        return None;
    }
    // Elements and components of the UNB segment, released characters kept.
    let mut elements: Vec<Vec<String>> = vec![vec![String::new()]];
    let mut escaped = false;
    for &b in s.get(3..)?.iter().take(4096) {
        if escaped {
            elements.last_mut()?.last_mut()?.push(b as char);
            escaped = false;
        } else if b == release {
            escaped = true;
        } else if b == term {
            break;
        } else if b == data {
            elements.push(vec![String::new()]);
        } else if b == comp {
            elements.last_mut()?.push(String::new());
        } else if b != b'\r' && b != b'\n' {
            elements.last_mut()?.last_mut()?.push(b as char);
        }
    }
    // elements[0] is the empty text between "UNB" and the first separator.
    let sender = elements.get(2)?.first()?.trim().to_string();
    let control_ref = elements.get(5)?.first()?.trim().to_string();
    if sender.is_empty() || control_ref.is_empty() {
        return None;
    }
    Some(InterchangeId {
        sender,
        control_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_una_and_released() {
        let id = sniff_interchange(b"UNB+UNOC:3+5412345000013:14+5400000000001:14+240301:1430+IC0001'UNH+1+ORDERS:D:96A:UN'")
            .unwrap();
        assert_eq!(id.sender, "5412345000013");
        assert_eq!(id.control_ref, "IC0001");
        let id =
            sniff_interchange(b"\xEF\xBB\xBF\r\nUNA:*,? '\nUNB*UNOC:3*S?*1:14*R*240301:1430*REF1'")
                .unwrap();
        assert_eq!(id.sender, "S*1");
        assert_eq!(id.control_ref, "REF1");
        assert_eq!(sniff_interchange(b"ISA*00*"), None);
        assert_eq!(sniff_interchange(b"UNB+UNOC:3+S'"), None);
    }
}
