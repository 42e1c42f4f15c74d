//! Acknowledgements: syntax (CONTRL, X12 997/999) and application (APERAK,
//! X12 824, UBL ApplicationResponse) answers about another interchange.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What an acknowledgement says about the thing it acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Received; content not yet checked (CONTRL action 8).
    Received,
    /// Accepted (CONTRL action 7, APERAK ERC 1 / function 29).
    Accepted,
    /// Accepted with errors or partially (X12 997 `E`/`P`).
    PartiallyAccepted,
    /// Rejected (CONTRL action 4, APERAK function 27).
    Rejected,
}

impl AckStatus {
    /// CONTRL action code (0083) for this status.
    pub fn contrl_action(self) -> &'static str {
        match self {
            AckStatus::Received => "8",
            AckStatus::Accepted | AckStatus::PartiallyAccepted => "7",
            AckStatus::Rejected => "4",
        }
    }

    /// Status for a CONTRL action code (0083).
    pub fn from_contrl_action(code: &str) -> Option<AckStatus> {
        match code {
            "8" => Some(AckStatus::Received),
            "7" => Some(AckStatus::Accepted),
            "4" => Some(AckStatus::Rejected),
            _ => None,
        }
    }
}

/// One problem reported by an acknowledgement, located as precisely as the
/// acknowledging standard allows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AckIssue {
    /// Reference of the message concerned (UNH 0062), when message-level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_ref: Option<String>,
    /// Position of the erroneous segment in its message (UNH = 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_position: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_tag: Option<String>,
    /// Position of the erroneous data element in its segment (first after the tag = 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element_position: Option<u32>,
    /// Position of the erroneous component in its element (first = 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_position: Option<u32>,
    /// Error code (EDIFACT syntax error 0085 for CONTRL, application error
    /// code for APERAK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Acknowledged message inside an acknowledged interchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AckedMessage {
    /// Message reference (UNH 0062) or business document number.
    pub reference: String,
    /// Message type (`ORDERS`, `INVOIC` …), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    pub status: AckStatus,
}

/// The acknowledgement section of a syntax or application acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Acknowledgement {
    /// Status of the acknowledged interchange or document as a whole.
    pub status: AckStatus,
    /// Control reference of the acknowledged interchange (UNB 0020).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange_ref: Option<String>,
    /// Sender of the acknowledged interchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange_sender: Option<String>,
    /// Recipient of the acknowledged interchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interchange_recipient: Option<String>,
    /// Business document acknowledged (APERAK RFF), e.g. the order number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<AckedMessage>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<AckIssue>,
}

impl Acknowledgement {
    /// An acknowledgement with only its status set.
    pub fn new(status: AckStatus) -> Acknowledgement {
        Acknowledgement {
            status,
            interchange_ref: None,
            interchange_sender: None,
            interchange_recipient: None,
            document_ref: None,
            messages: Vec::new(),
            issues: Vec::new(),
        }
    }
}
