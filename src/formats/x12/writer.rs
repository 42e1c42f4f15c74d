//! The X12 segment writer: ISA/GS/ST envelopes with correct control numbers
//! and counts (SE01, GE01, IEA01), fixed-width ISA, trailing empty elements
//! trimmed.
//!
//! X12 has no release character: a value containing a separator cannot be
//! written. [`X12Writer::segment`] refuses it with an error that names the
//! segment and element, rather than sending a file the partner would
//! misread.

use super::lexer::X12Delimiters;

/// Why an X12 interchange could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum X12WriteError {
    #[error("{segment} element {element}: value {value:?} contains a separator ({separator:?}); X12 has no release character")]
    Separator {
        segment: String,
        element: usize,
        value: String,
        separator: char,
    },
    #[error("ISA{element}: {value:?} is longer than the {max} characters allowed")]
    TooLong {
        element: usize,
        value: String,
        max: usize,
    },
    #[error("document {document:?}: {reason}")]
    Document { document: String, reason: String },
    #[error("{0}: envelope segments out of order")]
    Order(&'static str),
}

/// Interchange header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsaFields {
    pub sender_qualifier: String,
    pub sender: String,
    pub receiver_qualifier: String,
    pub receiver: String,
    /// YYMMDD.
    pub date: String,
    /// HHMM.
    pub time: String,
    /// ISA12: `00401`, `00501`.
    pub version: String,
    pub control_number: u32,
    pub ack_requested: bool,
    pub test: bool,
}

/// Builds one X12 interchange in memory.
pub struct X12Writer {
    out: Vec<u8>,
    d: X12Delimiters,
    newline: bool,
    isa_control: Option<String>,
    groups: u32,
    group: Option<(String, u32)>,
    transaction: Option<(String, u32)>,
}

fn pad(value: &str, width: usize, element: usize) -> Result<String, X12WriteError> {
    if value.chars().count() > width {
        return Err(X12WriteError::TooLong {
            element,
            value: value.to_string(),
            max: width,
        });
    }
    Ok(format!("{value:<width$}"))
}

impl X12Writer {
    /// A writer with these separators; `newline` adds a line feed after
    /// each terminator (for people reading the file).
    pub fn new(delimiters: X12Delimiters, newline: bool) -> X12Writer {
        X12Writer {
            out: Vec::with_capacity(4096),
            d: delimiters,
            newline,
            isa_control: None,
            groups: 0,
            group: None,
            transaction: None,
        }
    }

    fn end_segment(&mut self) {
        self.out.extend_from_slice(self.d.terminator());
        if self.newline && self.d.terminator() != b"\n" {
            self.out.push(b'\n');
        }
    }

    fn check(&self, tag: &str, element: usize, value: &str) -> Result<(), X12WriteError> {
        if let Some(b) = value.bytes().find(|&b| self.d.is_special(b)) {
            return Err(X12WriteError::Separator {
                segment: tag.to_string(),
                element,
                value: value.to_string(),
                separator: b as char,
            });
        }
        Ok(())
    }

    /// Writes the ISA header (fixed width, padded).
    pub fn isa(&mut self, h: &IsaFields) -> Result<(), X12WriteError> {
        if self.isa_control.is_some() {
            return Err(X12WriteError::Order("ISA"));
        }
        let control = format!("{:09}", h.control_number % 1_000_000_000);
        let repetition = match self.d.repetition {
            Some(r) if h.version.as_str() >= "00402" => (r as char).to_string(),
            _ => "U".to_string(),
        };
        let fields = [
            "00".to_string(),
            " ".repeat(10),
            "00".to_string(),
            " ".repeat(10),
            pad(&h.sender_qualifier, 2, 5)?,
            pad(&h.sender, 15, 6)?,
            pad(&h.receiver_qualifier, 2, 7)?,
            pad(&h.receiver, 15, 8)?,
            pad(&h.date, 6, 9)?,
            pad(&h.time, 4, 10)?,
            repetition,
            pad(&h.version, 5, 12)?,
            control.clone(),
            if h.ack_requested { "1" } else { "0" }.to_string(),
            if h.test { "T" } else { "P" }.to_string(),
        ];
        self.out.extend_from_slice(b"ISA");
        for (i, f) in fields.iter().enumerate() {
            if i != 10 {
                self.check("ISA", i + 1, f)?;
            }
            self.out.push(self.d.element);
            self.out.extend_from_slice(f.as_bytes());
        }
        self.out.push(self.d.element);
        self.out.push(self.d.component);
        self.end_segment();
        self.isa_control = Some(control);
        Ok(())
    }

    /// Writes a segment; trailing empty elements are dropped. Inside a
    /// transaction set, the segment is counted for SE01.
    pub fn segment(&mut self, tag: &str, elements: &[&str]) -> Result<(), X12WriteError> {
        let parts: Vec<Vec<&str>> = elements.iter().map(|e| vec![*e]).collect();
        let refs: Vec<&[&str]> = parts.iter().map(Vec::as_slice).collect();
        self.segment_parts(tag, &refs)
    }

    /// Writes a segment whose elements may be composites (components joined
    /// with the component separator; trailing empty components dropped).
    pub fn segment_parts(&mut self, tag: &str, elements: &[&[&str]]) -> Result<(), X12WriteError> {
        let used = elements
            .iter()
            .rposition(|e| e.iter().any(|c| !c.is_empty()))
            .map_or(0, |i| i + 1);
        self.out.extend_from_slice(tag.as_bytes());
        for (i, comps) in elements[..used].iter().enumerate() {
            self.out.push(self.d.element);
            let n = comps
                .iter()
                .rposition(|c| !c.is_empty())
                .map_or(0, |i| i + 1);
            for (j, c) in comps[..n].iter().enumerate() {
                self.check(tag, i + 1, c)?;
                if j > 0 {
                    self.out.push(self.d.component);
                }
                self.out.extend_from_slice(c.as_bytes());
            }
        }
        self.end_segment();
        if let Some((_, n)) = self.transaction.as_mut() {
            *n += 1;
        }
        Ok(())
    }

    /// Opens a functional group (GS).
    #[allow(clippy::too_many_arguments)]
    pub fn gs(
        &mut self,
        functional_id: &str,
        sender: &str,
        receiver: &str,
        date: &str,
        time: &str,
        control_number: u32,
        version: &str,
    ) -> Result<(), X12WriteError> {
        if self.isa_control.is_none() || self.group.is_some() {
            return Err(X12WriteError::Order("GS"));
        }
        let control = control_number.to_string();
        self.segment(
            "GS",
            &[
                functional_id,
                sender,
                receiver,
                date,
                time,
                &control,
                "X",
                version,
            ],
        )?;
        self.groups += 1;
        self.group = Some((control, 0));
        Ok(())
    }

    /// Opens a transaction set (ST) with its control number.
    pub fn st(&mut self, transaction_set: &str, control: &str) -> Result<(), X12WriteError> {
        if self.group.is_none() || self.transaction.is_some() {
            return Err(X12WriteError::Order("ST"));
        }
        self.transaction = Some((control.to_string(), 0));
        self.segment("ST", &[transaction_set, control])?;
        if let Some((_, n)) = self.group.as_mut() {
            *n += 1;
        }
        Ok(())
    }

    /// Closes the transaction set: SE01 = segments from ST to SE.
    pub fn se(&mut self) -> Result<(), X12WriteError> {
        let Some((control, n)) = self.transaction.take() else {
            return Err(X12WriteError::Order("SE"));
        };
        let count = (n + 1).to_string();
        self.segment("SE", &[&count, &control])
    }

    /// Closes the group: GE01 = transaction sets, GE02 = GS06.
    pub fn ge(&mut self) -> Result<(), X12WriteError> {
        if self.transaction.is_some() {
            return Err(X12WriteError::Order("GE"));
        }
        let Some((control, n)) = self.group.take() else {
            return Err(X12WriteError::Order("GE"));
        };
        self.segment("GE", &[&n.to_string(), &control])
    }

    /// Closes the interchange and returns its bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, X12WriteError> {
        if self.group.is_some() || self.transaction.is_some() {
            return Err(X12WriteError::Order("IEA"));
        }
        let Some(control) = self.isa_control.take() else {
            return Err(X12WriteError::Order("IEA"));
        };
        let groups = self.groups.to_string();
        self.segment("IEA", &[&groups, &control])?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> IsaFields {
        IsaFields {
            sender_qualifier: "ZZ".into(),
            sender: "ME".into(),
            receiver_qualifier: "ZZ".into(),
            receiver: "YOU".into(),
            date: "240301".into(),
            time: "1200".into(),
            version: "00401".into(),
            control_number: 42,
            ack_requested: false,
            test: true,
        }
    }

    #[test]
    fn envelope_counts() {
        let mut w = X12Writer::new(X12Delimiters::default(), false);
        w.isa(&fields()).unwrap();
        w.gs("PR", "ME", "YOU", "20240301", "1200", 7, "004010")
            .unwrap();
        w.st("855", "0001").unwrap();
        w.segment("BAK", &["00", "AC", "PO1", "20240301", "", ""])
            .unwrap();
        w.se().unwrap();
        w.ge().unwrap();
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        assert_eq!(
            out.len(),
            out.find("GS").unwrap() + out[out.find("GS").unwrap()..].len()
        );
        assert_eq!(&out[..106].len(), &106);
        assert!(
            out.ends_with("ST*855*0001~BAK*00*AC*PO1*20240301~SE*3*0001~GE*1*7~IEA*1*000000042~")
        );
    }

    #[test]
    fn separators_in_data_are_refused() {
        let mut w = X12Writer::new(X12Delimiters::default(), false);
        w.isa(&fields()).unwrap();
        let e = w.segment("PID", &["F", "", "", "", "A*B"]).unwrap_err();
        assert!(matches!(e, X12WriteError::Separator { element: 5, .. }));
    }
}
