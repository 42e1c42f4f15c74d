//! Character repertoires declared in UNB (syntax identifier 0001) and the
//! decoding of element values into UTF-8 strings.
//!
//! Values are decoded as declared: UNOA/UNOB as ASCII, UNOC as ISO 8859-1,
//! UNOD…UNOK as the ISO 8859 part they name, UNOW/UNOY as UTF-8. Real files
//! lie: UTF-8 bytes under a UNOA or UNOC declaration are common. A value
//! whose bytes are valid multi-byte UTF-8 is therefore read as UTF-8 whatever
//! the declaration (the envelope layer warns once per interchange); other
//! bytes are decoded with the declared table, and never cause a failure.

use std::borrow::Cow;

use encoding_rs::Encoding;

/// The character repertoire of an interchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    /// UNOA / UNOB: ASCII subsets.
    Ascii,
    /// UNOC: ISO 8859-1.
    Latin1,
    /// UNOD…UNOK: another ISO 8859 part.
    Iso8859(&'static Encoding),
    /// UNOW / UNOY: UTF-8 (and anything undeclared).
    #[default]
    Utf8,
}

impl Charset {
    /// The repertoire named by a syntax identifier (UNB S001/0001).
    pub fn from_syntax_identifier(id: &str) -> Option<Charset> {
        Some(match id {
            "UNOA" | "UNOB" => Charset::Ascii,
            "UNOC" => Charset::Latin1,
            "UNOD" => Charset::Iso8859(encoding_rs::ISO_8859_2),
            "UNOE" => Charset::Iso8859(encoding_rs::ISO_8859_5),
            "UNOF" => Charset::Iso8859(encoding_rs::ISO_8859_7),
            "UNOG" => Charset::Iso8859(encoding_rs::ISO_8859_3),
            "UNOH" => Charset::Iso8859(encoding_rs::ISO_8859_4),
            "UNOI" => Charset::Iso8859(encoding_rs::ISO_8859_6),
            "UNOJ" => Charset::Iso8859(encoding_rs::ISO_8859_8),
            "UNOK" => Charset::Iso8859(encoding_rs::ISO_8859_4),
            "UNOW" | "UNOY" | "UNOX" => Charset::Utf8,
            _ => return None,
        })
    }

    /// True when every byte of `bytes` belongs to this repertoire.
    pub fn accepts(self, bytes: &[u8]) -> bool {
        match self {
            Charset::Ascii => bytes.is_ascii(),
            Charset::Utf8 => std::str::from_utf8(bytes).is_ok(),
            // Single-byte tables: UTF-8 multi-byte sequences are accepted
            // bytes, but they are almost always a mis-declared encoding.
            Charset::Latin1 | Charset::Iso8859(_) => {
                bytes.is_ascii() || std::str::from_utf8(bytes).is_err()
            }
        }
    }

    /// Decodes `bytes` (already unescaped) into text.
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        // ASCII, and UTF-8 under any declaration, is read as is.
        if let Ok(s) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(s);
        }
        self.decode_not_utf8(bytes)
    }

    /// [`Charset::decode`] for bytes already known not to be valid UTF-8.
    fn decode_not_utf8(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Charset::Ascii | Charset::Latin1 | Charset::Utf8 => {
                if self == Charset::Utf8 {
                    String::from_utf8_lossy(bytes)
                } else {
                    Cow::Owned(latin1(bytes))
                }
            }
            Charset::Iso8859(enc) => {
                let (text, _, _) = enc.decode(bytes);
                text
            }
        }
    }

    /// Decodes `bytes` (already unescaped, owned) into text, reusing the
    /// buffer when it is already valid UTF-8.
    pub fn decode_owned(self, bytes: Vec<u8>) -> String {
        match String::from_utf8(bytes) {
            Ok(s) => s,
            // Validated once: straight to the declared table.
            Err(e) => self.decode_not_utf8(e.as_bytes()).into_owned(),
        }
    }

    /// Encodes text for output in this repertoire; characters it cannot
    /// represent become `?`.
    pub fn encode(self, text: &str) -> Cow<'_, [u8]> {
        if text.is_ascii() {
            return Cow::Borrowed(text.as_bytes());
        }
        match self {
            Charset::Utf8 => Cow::Borrowed(text.as_bytes()),
            Charset::Ascii => Cow::Owned(
                text.chars()
                    .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                    .collect(),
            ),
            Charset::Latin1 => Cow::Owned(
                text.chars()
                    .map(|c| {
                        if (c as u32) < 256 {
                            c as u32 as u8
                        } else {
                            b'?'
                        }
                    })
                    .collect(),
            ),
            Charset::Iso8859(enc) => {
                let (bytes, _, _) = enc.encode(text);
                bytes
            }
        }
    }
}

/// ISO 8859-1 to UTF-8: every byte is the code point of the same value.
fn latin1(bytes: &[u8]) -> String {
    // encoding_rs converts ASCII runs a word at a time.
    encoding_rs::mem::decode_latin1(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_and_misdeclared_utf8() {
        assert_eq!(Charset::Latin1.decode(b"M\xfcnchen"), "München");
        assert_eq!(Charset::Latin1.decode("München".as_bytes()), "München");
        assert!(!Charset::Latin1.accepts("München".as_bytes()));
        assert!(Charset::Latin1.accepts(b"M\xfcnchen"));
    }

    #[test]
    fn cyrillic_unoe() {
        let cs = Charset::from_syntax_identifier("UNOE").unwrap();
        assert_eq!(cs.decode(b"\xbf\xe0\xd8"), "При");
    }

    #[test]
    fn ascii_with_high_bytes_never_fails() {
        assert_eq!(Charset::Ascii.decode(b"a\xffb"), "aÿb");
        assert_eq!(Charset::Latin1.encode("Straße"), &b"Stra\xdfe"[..]);
        assert_eq!(Charset::Ascii.encode("é"), &b"?"[..]);
    }
}
