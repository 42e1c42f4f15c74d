//! Bytes → text: byte order marks, the encoding named by the XML
//! declaration (ISO-8859-1, Windows-1252, UTF-16 …) decoded with
//! `encoding_rs`, and leading blank lines skipped.
//!
//! The parser downstream only ever sees UTF-8; the declaration keeps naming
//! the original encoding, which it then ignores.

use std::borrow::Cow;

use super::XmlError;

/// Decoded input and how many lines were skipped before it.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    /// Lines skipped before `text` (leading blank lines), so diagnostics
    /// keep the file's line numbers.
    pub skipped_lines: u32,
    /// Encoding used, as its canonical name.
    pub encoding: &'static str,
}

/// The `encoding="…"` pseudo-attribute of an XML declaration at the start of
/// `head`, if any.
fn declared_encoding(head: &[u8]) -> Option<&[u8]> {
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = memchr::memmem::find(head, b"?>")?;
    let decl = &head[..end];
    let at = memchr::memmem::find(decl, b"encoding")?;
    let rest = &decl[at + b"encoding".len()..];
    let eq = rest.iter().position(|&b| b == b'=')?;
    let rest = &rest[eq + 1..];
    let q = rest.iter().position(|&b| b == b'"' || b == b'\'')?;
    let quote = rest[q];
    let rest = &rest[q + 1..];
    let close = rest.iter().position(|&b| b == quote)?;
    Some(&rest[..close])
}

/// Decodes `bytes` into UTF-8 text.
pub fn decode(bytes: &[u8]) -> Result<Decoded<'_>, XmlError> {
    // UTF-16 with a byte order mark.
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let enc = if bytes[0] == 0xFF {
            encoding_rs::UTF_16LE
        } else {
            encoding_rs::UTF_16BE
        };
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[2..]);
        if had_errors {
            return Err(XmlError::Decoding {
                encoding: enc.name(),
            });
        }
        return strip_leading(Cow::Owned(text.into_owned()), enc.name());
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let lead = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head = &body[lead..body.len().min(lead + 512)];
    let encoding = match declared_encoding(head) {
        Some(label) => match encoding_rs::Encoding::for_label(label) {
            Some(e) => e,
            None => {
                return Err(XmlError::UnknownEncoding {
                    label: String::from_utf8_lossy(label).into_owned(),
                })
            }
        },
        None => encoding_rs::UTF_8,
    };
    if encoding == encoding_rs::UTF_8 {
        match std::str::from_utf8(body) {
            Ok(s) => strip_leading(Cow::Borrowed(s), "UTF-8"),
            Err(e) => Err(XmlError::InvalidUtf8 {
                offset: e.valid_up_to() as u64,
            }),
        }
    } else if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        // Declared UTF-16 but read as ASCII-compatible bytes: the
        // declaration is wrong.
        Err(XmlError::Decoding {
            encoding: encoding.name(),
        })
    } else {
        let (text, had_errors) = encoding.decode_without_bom_handling(body);
        if had_errors {
            return Err(XmlError::Decoding {
                encoding: encoding.name(),
            });
        }
        strip_leading(Cow::Owned(text.into_owned()), encoding.name())
    }
}

fn strip_leading<'a>(text: Cow<'a, str>, encoding: &'static str) -> Result<Decoded<'a>, XmlError> {
    let trimmed = text.trim_start();
    let cut = text.len() - trimmed.len();
    if cut == 0 {
        return Ok(Decoded {
            text,
            skipped_lines: 0,
            encoding,
        });
    }
    let skipped_lines = text[..cut].bytes().filter(|&b| b == b'\n').count() as u32;
    let text = match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[cut..]),
        Cow::Owned(s) => Cow::Owned(s[cut..].to_string()),
    };
    Ok(Decoded {
        text,
        skipped_lines,
        encoding,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_declared() {
        let bytes = b"<?xml version='1.0' encoding='ISO-8859-1'?><a>caf\xe9</a>";
        let d = decode(bytes).unwrap();
        assert!(d.text.contains("café"));
    }

    #[test]
    fn bom_and_blank_lines() {
        let bytes = b"\xEF\xBB\xBF\r\n\r\n<a/>";
        let d = decode(bytes).unwrap();
        assert_eq!(d.text, "<a/>");
        assert_eq!(d.skipped_lines, 2);
    }

    #[test]
    fn unknown_encoding() {
        assert!(decode(b"<?xml version=\"1.0\" encoding=\"x-nope\"?><a/>").is_err());
    }
}
