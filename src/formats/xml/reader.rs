//! Streaming XML reading on quick-xml with namespaces resolved.
//!
//! [`read`] pulls events from a [`quick_xml::NsReader`] and calls a
//! [`Handler`] once when an element starts (with its namespace URI, local
//! name, attributes and line) and once when it ends (with its character
//! content). No tree is built: memory is bounded by the depth of the
//! document, not its size.
//!
//! Security: a document type declaration (`<!DOCTYPE …>`) is refused outright,
//! so no DTD is ever read, no external entity is ever fetched (XXE) and no
//! entity is ever expanded (billion laughs). Only the five predefined
//! entities and character references are resolved; any other `&name;` is an
//! error.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::XmlError;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 256;

/// One attribute of an element, by local name (prefixes dropped).
#[derive(Debug, Clone, Default)]
pub struct Attr {
    pub local: String,
    pub value: String,
}

/// Receives the elements of a document in order.
pub trait Handler {
    /// An element starts. `ns` is its namespace URI (empty when none).
    fn start(
        &mut self,
        ns: &str,
        local: &str,
        qname: &str,
        attrs: &[Attr],
        line: u32,
    ) -> Result<(), XmlError>;
    /// The innermost open element ends; `text` is its character content,
    /// trimmed.
    fn end(&mut self, text: &str, line: u32) -> Result<(), XmlError>;
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: u32,
}

impl Lines<'_> {
    /// The 1-based line of byte offset `to` (offsets only move forward).
    fn at(&mut self, to: u64) -> u32 {
        let to = usize::try_from(to)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        if to > self.pos {
            self.line += memchr::memchr_iter(b'\n', &self.text[self.pos..to]).count() as u32;
            self.pos = to;
        }
        self.line
    }
}

/// Reads `text` (already decoded to UTF-8), calling `h` per element.
/// `first_line` is the file line `text` starts on.
pub fn read(text: &str, first_line: u32, h: &mut dyn Handler) -> Result<(), XmlError> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut lines = Lines {
        text: text.as_bytes(),
        pos: 0,
        line: first_line,
    };
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut content = String::new();
    let mut attrs: Vec<Attr> = Vec::new();
    loop {
        let line = lines.at(reader.buffer_position());
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, ev)) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => {
                        Ok(String::from_utf8_lossy(n.into_inner()).into_owned())
                    }
                    ResolveResult::Unbound => Ok(String::new()),
                    ResolveResult::Unknown(p) => Err(String::from_utf8_lossy(&p).into_owned()),
                };
                (ns, ev)
            }
            Err(e) => {
                let line = lines.at(reader.error_position());
                return Err(XmlError::Syntax {
                    line,
                    message: e.to_string(),
                });
            }
        };
        match event {
            Event::DocType(_) => return Err(XmlError::Dtd { line }),
            Event::Start(ref e) | Event::Empty(ref e) => {
                if depth == 0 && seen_root {
                    return Err(XmlError::Syntax {
                        line,
                        message: "a second root element".into(),
                    });
                }
                let ns = ns.map_err(|prefix| XmlError::UnboundPrefix {
                    line,
                    prefix: prefix.clone(),
                })?;
                depth += 1;
                seen_root = true;
                if depth > MAX_DEPTH {
                    return Err(XmlError::TooDeep { line });
                }
                attrs.clear();
                for a in e.attributes() {
                    let a = a.map_err(|err| XmlError::Syntax {
                        line,
                        message: err.to_string(),
                    })?;
                    let key = a.key;
                    if key.as_ref().starts_with(b"xmlns") {
                        continue;
                    }
                    let value = a.unescape_value().map_err(|err| entity_error(line, err))?;
                    attrs.push(Attr {
                        local: String::from_utf8_lossy(key.local_name().as_ref()).into_owned(),
                        value: value.into_owned(),
                    });
                }
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                let qname = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                content.clear();
                h.start(&ns, &local, &qname, &attrs, line)?;
                if matches!(event, Event::Empty(_)) {
                    depth -= 1;
                    h.end("", line)?;
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                h.end(content.trim(), line)?;
                content.clear();
                if depth == 0 {
                    return Ok(());
                }
            }
            Event::Text(t) => {
                if depth > 0 {
                    let s = t.decode().map_err(|err| XmlError::Syntax {
                        line,
                        message: err.to_string(),
                    })?;
                    content.push_str(&s);
                }
            }
            Event::CData(t) => {
                if depth > 0 {
                    let s = t.decode().map_err(|err| XmlError::Syntax {
                        line,
                        message: err.to_string(),
                    })?;
                    content.push_str(&s);
                }
            }
            Event::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(c)) => content.push(c),
                Ok(None) => {
                    let name = String::from_utf8_lossy(r.as_ref()).into_owned();
                    match predefined(&name) {
                        Some(c) => content.push(c),
                        None => return Err(XmlError::Entity { line, name }),
                    }
                }
                Err(err) => {
                    return Err(XmlError::Syntax {
                        line,
                        message: err.to_string(),
                    })
                }
            },
            Event::Eof => {
                return Err(if seen_root {
                    XmlError::Syntax {
                        line,
                        message: "the document ends before its root element is closed".into(),
                    }
                } else {
                    XmlError::NoRoot
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
        }
    }
}

fn entity_error(line: u32, err: quick_xml::Error) -> XmlError {
    match err {
        quick_xml::Error::Escape(e) => XmlError::Syntax {
            line,
            message: format!("attribute value: {e} (only the predefined entities are accepted)"),
        },
        other => XmlError::Syntax {
            line,
            message: other.to_string(),
        },
    }
}
