//! Odoo error shapes and their classification (retryable or permanent).
//!
//! Observed on real servers (see `shared/odoo-api.md`): JSON-RPC errors carry
//! the Python exception in `error.data.name` (`error.code` is 200 on 18 and 0
//! on 19, so it is not used); XML-RPC faults use codes 1 (server error,
//! including PostgreSQL serialization failures), 2 (UserError,
//! ValidationError, MissingError), 3 (access denied), 4 (AccessError,
//! private method); JSON-2 answers with HTTP 401/403/404/422/500 and a JSON
//! body naming the exception. Messages never contain credentials: they are
//! built from Odoo's answer, the model, the method and record values only.

use crate::sinks::SinkError;

/// A failed Odoo call or a document Odoo cannot take.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OdooError {
    /// No answer: connection refused or reset, timeout, DNS.
    #[error("cannot reach Odoo: {0}")]
    Connection(String),
    /// An HTTP status without an Odoo exception in the body.
    #[error("Odoo answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// A Python exception (JSON-RPC `error.data.name`, JSON-2 body `name`).
    #[error("{name}: {message}")]
    Exception { name: String, message: String },
    /// An XML-RPC fault.
    #[error("XML-RPC fault {code}: {message}")]
    Fault { code: i64, message: String },
    /// `authenticate` returned false.
    #[error("Odoo refused the credentials of login {login:?} on database {db:?}")]
    Authentication { login: String, db: String },
    /// The answer could not be understood.
    #[error("unexpected answer from Odoo: {0}")]
    Protocol(String),
    /// A record the document needs does not exist (unknown partner or
    /// product): the message is held with this precise reason.
    #[error("{0}")]
    Missing(String),
    /// The document conflicts with what Odoo holds (e.g. replacing a
    /// confirmed order).
    #[error("{0}")]
    Conflict(String),
    /// The original of a replacement or cancellation is not in Odoo yet.
    #[error("{0}")]
    NotYet(String),
}

fn is_transient_text(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s.contains("serializationfailure")
        || s.contains("could not serialize access")
        || s.contains("locknotavailable")
        || s.contains("could not obtain lock")
        || s.contains("lock timeout")
        || s.contains("deadlockdetected")
        || s.contains("deadlock detected")
        || s.contains("operationalerror")
        || s.contains("interfaceerror")
}

impl OdooError {
    /// Worth trying again (now or later).
    pub fn is_retryable(&self) -> bool {
        match self {
            OdooError::Connection(_) | OdooError::NotYet(_) => true,
            OdooError::Http { status, message } => {
                *status >= 500 || *status == 408 || *status == 429 || is_transient_text(message)
            }
            OdooError::Exception { name, message } => {
                is_transient_text(name)
                    || is_transient_text(message)
                    || name == "odoo.http.SessionExpiredException"
            }
            OdooError::Fault { code, message } => *code == 1 && is_transient_text(message),
            OdooError::Authentication { .. }
            | OdooError::Protocol(_)
            | OdooError::Missing(_)
            | OdooError::Conflict(_) => false,
        }
    }

    /// A concurrent-update conflict that an immediate retry usually solves.
    pub fn is_serialization(&self) -> bool {
        match self {
            OdooError::Exception { name, message } => {
                is_transient_text(name) || is_transient_text(message)
            }
            OdooError::Fault { code: 1, message } => is_transient_text(message),
            OdooError::Http { status, message } => *status >= 500 && is_transient_text(message),
            _ => false,
        }
    }

    /// XML-RPC's "cannot marshal None": the method ran and committed but
    /// returned nothing.
    pub fn is_marshal_none(&self) -> bool {
        matches!(self, OdooError::Fault { code: 1, message } if message.contains("cannot marshal None"))
    }

    /// Classifies a JSON-RPC `error` object.
    pub fn from_jsonrpc(error: &serde_json::Value) -> OdooError {
        let data = &error["data"];
        let name = data["name"].as_str().unwrap_or_default();
        let message = data["message"]
            .as_str()
            .or_else(|| error["message"].as_str())
            .unwrap_or("no message");
        if name.is_empty() {
            OdooError::Protocol(format!("JSON-RPC error without a name: {message}"))
        } else {
            OdooError::Exception {
                name: name.to_string(),
                message: short(message),
            }
        }
    }

    /// Classifies a JSON-2 error answer.
    pub fn from_json2(status: u16, body: &str) -> OdooError {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        let Some(name) = v["name"].as_str() else {
            return OdooError::Http {
                status,
                message: short(body),
            };
        };
        let message = short(v["message"].as_str().unwrap_or("no message"));
        if status >= 500 && !is_transient_text(name) && !name.starts_with("odoo.exceptions") {
            // An unexpected server error: retry like any 5xx.
            OdooError::Http {
                status,
                message: format!("{name}: {message}"),
            }
        } else {
            OdooError::Exception {
                name: name.to_string(),
                message,
            }
        }
    }
}

/// First line of a message, at most 300 characters (tracebacks are long).
pub fn short(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    let mut out: String = line.chars().take(300).collect();
    if line.chars().count() > 300 {
        out.push('…');
    }
    out
}

impl From<OdooError> for SinkError {
    fn from(e: OdooError) -> SinkError {
        if e.is_retryable() {
            SinkError::Transient(format!("odoo: {e}"))
        } else {
            SinkError::Permanent(format!("odoo: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonrpc_errors_are_classified_by_name_not_code() {
        for code in [200, 0] {
            let e = OdooError::from_jsonrpc(&json!({"code": code, "message": "Odoo Server Error",
                "data": {"name": "psycopg2.errors.SerializationFailure",
                         "message": "could not serialize access due to concurrent update"}}));
            assert!(e.is_retryable() && e.is_serialization(), "{e}");
            let e = OdooError::from_jsonrpc(&json!({"code": code, "message": "Odoo Server Error",
                "data": {"name": "odoo.exceptions.ValidationError", "message": "bad"}}));
            assert!(!e.is_retryable(), "{e}");
        }
        for name in [
            "odoo.exceptions.AccessDenied",
            "odoo.exceptions.AccessError",
            "odoo.exceptions.UserError",
            "odoo.exceptions.MissingError",
        ] {
            let e = OdooError::from_jsonrpc(&json!({"data": {"name": name, "message": "x"}}));
            assert!(!e.is_retryable(), "{name}");
        }
    }

    #[test]
    fn xmlrpc_faults_and_http_statuses() {
        let f = |code, m: &str| OdooError::Fault {
            code,
            message: m.into(),
        };
        assert!(f(
            1,
            "Traceback…\npsycopg2.errors.SerializationFailure: could not serialize access"
        )
        .is_retryable());
        assert!(!f(1, "ValueError: Invalid field").is_retryable());
        assert!(f(
            1,
            "TypeError: cannot marshal None unless allow_none is enabled"
        )
        .is_marshal_none());
        for c in 2..=4 {
            assert!(!f(c, "x").is_retryable());
        }
        for s in [401, 403, 404, 422] {
            assert!(!OdooError::from_json2(
                s,
                r#"{"name":"odoo.exceptions.AccessError","message":"x"}"#
            )
            .is_retryable());
            assert!(!OdooError::from_json2(s, "<html>").is_retryable());
        }
        assert!(OdooError::from_json2(500, "<html>").is_retryable());
        assert!(OdooError::from_json2(
            500,
            r#"{"name":"psycopg2.errors.SerializationFailure","message":"could not serialize"}"#
        )
        .is_serialization());
        assert!(!OdooError::from_json2(
            500,
            r#"{"name":"odoo.exceptions.UserError","message":"no"}"#
        )
        .is_retryable());
        assert!(OdooError::Connection("refused".into()).is_retryable());
    }

    #[test]
    fn short_keeps_the_first_line() {
        assert_eq!(short("\n  a\nb"), "a");
        assert_eq!(short(&"x".repeat(400)).chars().count(), 301);
    }
}
