//! Located problems: what went wrong, and exactly where.
//!
//! Every stage (syntax, envelope, mapping, validation) reports problems as
//! [`Diagnostic`]s. A diagnostic names the file, the interchange and message
//! (by index and reference), the segment (position in its message, as UNT
//! counts, and tag), the element and component (1-based, the first element
//! after the tag being 1) and the line and byte offset in the file, followed
//! by a plain-language reason. The same record feeds `comptoir validate`,
//! the journal's rejection reasons and the CONTRL/APERAK answers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; the message is still processed.
    Warning,
    /// The message (or the interchange, for envelope errors) is rejected.
    Error,
}

/// Where a problem is. Every field is optional: a diagnostic says as much
/// as is known at the point it is raised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based interchange index in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange: Option<u32>,
    /// 1-based message index in the interchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<u32>,
    /// Message reference (UNH 0062).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ref: Option<String>,
    /// Segment position: in its message (UNH = 1) for message segments, in
    /// the interchange (UNB = 1) for service segments outside messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// 1-based data element position after the tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<u32>,
    /// 1-based component position in the element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<u32>,
    /// 1-based line in the file where the segment starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Byte offset in the file where the segment starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Location {
    /// The same location narrowed to an element and component.
    pub fn at_element(&self, element: u32, component: Option<u32>) -> Location {
        Location {
            element: Some(element),
            component,
            ..self.clone()
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(i) = self.interchange {
            parts.push(format!("interchange {i}"));
        }
        if let Some(m) = self.message {
            match &self.message_ref {
                Some(r) => parts.push(format!("message {m} (ref {r})")),
                None => parts.push(format!("message {m}")),
            }
        }
        match (self.segment, &self.tag) {
            (Some(s), Some(t)) => parts.push(format!("segment {s} {t}")),
            (Some(s), None) => parts.push(format!("segment {s}")),
            (None, Some(t)) => parts.push(format!("segment {t}")),
            (None, None) => {}
        }
        if let Some(e) = self.element {
            parts.push(format!("element {e}"));
        }
        if let Some(c) = self.component {
            parts.push(format!("component {c}"));
        }
        let mut out = String::new();
        if let Some(file) = &self.file {
            out.push_str(file);
            if let Some(line) = self.line {
                out.push_str(&format!(":{line}"));
            }
            if !parts.is_empty() {
                out.push_str(": ");
            }
        } else if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        out.push_str(&parts.join(", "));
        f.write_str(&out)
    }
}

/// One located problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `unt-count`, `not-a-number`.
    pub code: String,
    /// EDIFACT syntax error code (0085) to report in a CONTRL, when one fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syntax_error: Option<String>,
    pub location: Location,
    /// Plain-language reason.
    pub message: String,
}

impl Diagnostic {
    /// An error at `location`.
    pub fn error(code: &str, location: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code: code.to_string(),
            syntax_error: None,
            location,
            message: message.into(),
        }
    }

    /// A warning at `location`.
    pub fn warning(code: &str, location: Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            code: code.to_string(),
            syntax_error: None,
            location,
            message: message.into(),
        }
    }

    /// Attaches the EDIFACT syntax error code (0085) for CONTRL answers.
    pub fn with_syntax_error(mut self, code: &str) -> Diagnostic {
        self.syntax_error = Some(code.to_string());
        self
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{sev}[{}]: {}", self.code, self.message)
        } else {
            write!(f, "{sev}[{}]: {loc}: {}", self.code, self.message)
        }
    }
}

/// What to do when a check fails: configurable per partner for the checks
/// real partners get wrong (control counts, control references…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Say nothing.
    Ignore,
    /// Report a warning and go on.
    Warn,
    /// Report an error: the message or interchange is rejected.
    Reject,
}

impl Default for Action {
    /// Rejecting is the safe default: a check is only relaxed on purpose.
    fn default() -> Action {
        Action::Reject
    }
}

impl Action {
    /// The severity this action gives a failed check, or `None` for ignore.
    pub fn severity(self) -> Option<Severity> {
        match self {
            Action::Ignore => None,
            Action::Warn => Some(Severity::Warning),
            Action::Reject => Some(Severity::Error),
        }
    }
}
