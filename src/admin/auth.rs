//! API tokens: bearer tokens from `[[admin.token]]`, compared in constant
//! time, with a role (`read` lists and shows; `operator` also replays and
//! resolves). A token's value is never logged, returned or shown by
//! `Debug`; only its name is.

use axum::http::{HeaderMap, StatusCode};

use super::{AdminState, ApiError};
use crate::config::TokenRole;

/// A configured token.
pub struct Token {
    name: String,
    role: TokenRole,
    value: Vec<u8>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Token {
    pub fn new(name: &str, role: TokenRole, value: String) -> Token {
        Token {
            name: name.to_string(),
            role,
            value: value.into_bytes(),
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The token's name (safe to log and record).
    pub name: String,
    pub role: TokenRole,
}

fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks the request's bearer token allows `need`: 401 without a valid
/// token, 403 when its role is too weak.
pub fn authorize(
    state: &AdminState,
    headers: &HeaderMap,
    need: TokenRole,
) -> Result<Principal, ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(given) = given else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an API token is required (Authorization: Bearer <token>)",
        ));
    };
    // Compare against every token, so timing does not tell which matched.
    let mut found: Option<&super::Token> = None;
    for t in &state.inner.tokens {
        if same(t.value.as_slice(), given.as_bytes()) {
            found = Some(t);
        }
    }
    let Some(t) = found else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "unknown API token",
        ));
    };
    if need == TokenRole::Operator && t.role != TokenRole::Operator {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "token {:?} is read-only: this needs an operator token",
                t.name
            ),
        ));
    }
    Ok(Principal {
        name: t.name.clone(),
        role: t.role,
    })
}
