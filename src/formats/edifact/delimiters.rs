//! Service characters: the six delimiters of an interchange.
//!
//! They come from the optional `UNA` service string advice or, without one,
//! from the defaults of ISO 9735, sniffed from the `UNB` segment so that
//! partners who use other separators without a UNA are still read.

/// The service characters of an interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    /// Component data element separator (default `:`).
    pub component: u8,
    /// Data element separator (default `+`).
    pub element: u8,
    /// Decimal mark (default `.`; `,` is common in Europe).
    pub decimal: u8,
    /// Release character (default `?`); `None` when the UNA says space.
    pub release: Option<u8>,
    /// Repetition separator (syntax version 4, default `*`); `None` before v4.
    pub repetition: Option<u8>,
    /// Segment terminator (default `'`).
    pub segment: u8,
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        Delimiters {
            component: b':',
            element: b'+',
            decimal: b'.',
            release: Some(b'?'),
            repetition: None,
            segment: b'\'',
        }
    }
}

impl Delimiters {
    /// Reads the six characters that follow `UNA`.
    pub fn from_una(chars: [u8; 6]) -> Delimiters {
        Delimiters {
            component: chars[0],
            element: chars[1],
            decimal: chars[2],
            release: (chars[3] != b' ').then_some(chars[3]),
            repetition: (chars[4] != b' ').then_some(chars[4]),
            segment: chars[5],
        }
    }

    /// The full `UNA` service string advice for these delimiters.
    pub fn una(&self) -> [u8; 9] {
        [
            b'U',
            b'N',
            b'A',
            self.component,
            self.element,
            self.decimal,
            self.release.unwrap_or(b' '),
            self.repetition.unwrap_or(b' '),
            self.segment,
        ]
    }

    /// True when `byte` is one of the delimiters that must be released
    /// (escaped) inside data.
    pub fn is_special(&self, byte: u8) -> bool {
        byte == self.component
            || byte == self.element
            || byte == self.segment
            || Some(byte) == self.release
            || Some(byte) == self.repetition
    }

    /// Delimiters for an interchange that has no UNA, guessed from the bytes
    /// of its UNB: the element separator is the byte after `UNB`, the
    /// component separator the byte after the 4-letter syntax identifier.
    pub fn sniff_from_unb(unb: &[u8]) -> Delimiters {
        let mut d = Delimiters::default();
        if unb.len() > 3 && unb.starts_with(b"UNB") {
            let sep = unb[3];
            if !sep.is_ascii_alphanumeric() && !sep.is_ascii_whitespace() {
                d.element = sep;
            }
            if unb.len() > 8 {
                let comp = unb[8];
                if comp != d.element && !comp.is_ascii_alphanumeric() && !comp.is_ascii_whitespace()
                {
                    d.component = comp;
                }
            }
            // UNOB's defaults are the information separators IS4/IS3/IS1.
            if d.element == 0x1D {
                d.segment = 0x1C;
                d.component = 0x1F;
            }
        }
        d
    }

    /// Enables the syntax version 4 default repetition separator when no
    /// UNA said otherwise.
    pub fn with_version_defaults(mut self, version: u8, from_una: bool) -> Delimiters {
        if version >= 4 && !from_una && self.repetition.is_none() {
            self.repetition = Some(b'*');
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn una_round_trip() {
        let d = Delimiters::from_una(*b":+,? '");
        assert_eq!(d.decimal, b',');
        assert_eq!(d.repetition, None);
        assert_eq!(&d.una(), b"UNA:+,? '");
    }

    #[test]
    fn sniffs_pipe_separator() {
        let d = Delimiters::sniff_from_unb(b"UNB|UNOA:3|X");
        assert_eq!(d.element, b'|');
        assert_eq!(d.component, b':');
    }
}
