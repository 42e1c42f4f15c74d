//! A small indenting XML writer with escaping, shared by the outbound
//! formats. Writing to a `String` cannot fail, so no method returns an error.

use rust_decimal::Decimal;

/// Builds an XML document in memory.
pub struct XmlOut {
    buf: String,
    stack: Vec<String>,
}

/// Escapes text and attribute values.
pub fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids are dropped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// An amount with at least two decimals (`12` → `12.00`).
pub fn amount(d: Decimal) -> String {
    if d.scale() < 2 {
        let mut x = d;
        x.rescale(2);
        x.to_string()
    } else {
        d.to_string()
    }
}

/// A quantity or rate without trailing zeros (`10.000` → `10`).
pub fn number(d: Decimal) -> String {
    d.normalize().to_string()
}

impl XmlOut {
    /// A document starting with the XML declaration.
    pub fn new() -> XmlOut {
        XmlOut {
            buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
            stack: Vec::new(),
        }
    }

    fn indent(&mut self) {
        for _ in 0..self.stack.len() {
            self.buf.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.buf.push('<');
        self.buf.push_str(name);
        for (k, v) in attrs {
            self.buf.push(' ');
            self.buf.push_str(k);
            self.buf.push_str("=\"");
            escape(v, &mut self.buf);
            self.buf.push('"');
        }
    }

    /// Opens an element.
    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.indent();
        self.tag(name, attrs);
        self.buf.push_str(">\n");
        self.stack.push(name.to_string());
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if let Some(name) = self.stack.pop() {
            self.indent();
            self.buf.push_str("</");
            self.buf.push_str(&name);
            self.buf.push_str(">\n");
        }
    }

    /// An element with text content.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.indent();
        self.tag(name, attrs);
        self.buf.push('>');
        escape(text, &mut self.buf);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// An element with text content, when there is some.
    pub fn opt(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text.filter(|t| !t.is_empty()) {
            self.leaf(name, &[], t);
        }
    }

    /// The document's bytes, every open element closed.
    pub fn finish(mut self) -> Vec<u8> {
        while !self.stack.is_empty() {
            self.close();
        }
        self.buf.into_bytes()
    }
}
