//! The admin HTTP server built into the daemon: health and readiness
//! probes, Prometheus metrics, the JSON API over the journal (list, show,
//! replay, resolve, partners, tap), its OpenAPI document and the embedded
//! web dashboard.
//!
//! Every route is declared once in [`router`] through the `routes!` table,
//! which also yields [`ROUTES`]-style `(method, path)` pairs so a test can
//! check them against `docs/openapi.json`. API routes need a bearer token
//! from `[[admin.token]]` ([`auth`]); probes, metrics, the OpenAPI document
//! and the dashboard's static files do not (the dashboard asks for a token
//! and sends it with each API call).
//!
//! Handlers never panic on requests: every failure is a JSON error with a
//! status code ([`ApiError`]).

pub mod api;
pub mod auth;
pub mod client;
pub mod metrics;
pub mod tap;

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

use crate::config::TokenConfig;
use crate::journal::{Journal, JournalError};
use crate::pipeline::Runtime;

pub use auth::{Principal, Token};
pub use metrics::Metrics;
pub use tap::TapEvent;

/// The OpenAPI 3 document of the API (checked in as `docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// Gives the runtime (configuration, mappings, terms) in force.
pub type RuntimeHandle = Arc<dyn Fn() -> Arc<Runtime> + Send + Sync>;

/// What the handlers share.
#[derive(Clone)]
pub struct AdminState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub journal: Journal,
    pub tokens: Vec<Token>,
    pub runtime: Option<RuntimeHandle>,
    pub metrics: Arc<Metrics>,
    pub tap: broadcast::Sender<TapEvent>,
    pub started: Instant,
}

impl AdminState {
    /// State over a journal. Tokens whose value is missing (unset
    /// environment variable) are skipped with a warning naming the token,
    /// never its value. Without a runtime, replay only re-queues messages
    /// for the daemon instead of processing them at once, and raw contents
    /// are not re-validated to locate errors.
    pub fn new(
        journal: Journal,
        tokens: &[TokenConfig],
        runtime: Option<RuntimeHandle>,
        metrics: Arc<Metrics>,
        tap: broadcast::Sender<TapEvent>,
    ) -> AdminState {
        let tokens = tokens
            .iter()
            .filter_map(|t| match t.resolve() {
                Some(v) => Some(Token::new(&t.name, t.role, v)),
                None => {
                    tracing::warn!(
                        token = %t.name,
                        "admin token has no value (environment variable unset or empty): disabled"
                    );
                    None
                }
            })
            .collect();
        AdminState {
            inner: Arc::new(Inner {
                journal,
                tokens,
                runtime,
                metrics,
                tap,
                started: Instant::now(),
            }),
        }
    }
}

/// A JSON error: `{"error": code, "message": text}` with a status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> ApiError {
        match e {
            JournalError::NotFound(id) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("message {id} not found"),
            ),
            JournalError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            e => {
                tracing::error!("admin API: {e}");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "journal_unavailable",
                    "the journal could not be read; see the daemon's logs",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        (self.status, Json(body)).into_response()
    }
}

/// Builds the router and the list of `(method, path)` it serves.
pub fn router(state: AdminState) -> (Router, Vec<(&'static str, &'static str)>) {
    let mut r: Router<AdminState> = Router::new();
    let mut list: Vec<(&'static str, &'static str)> = Vec::new();
    macro_rules! routes {
        ($($m:ident $p:literal => $h:expr;)*) => {
            $(
                r = r.route($p, $m($h));
                list.push((stringify!($m), $p));
            )*
        };
    }
    routes! {
        get "/healthz" => api::healthz;
        get "/readyz" => api::readyz;
        get "/metrics" => api::metrics;
        get "/api/openapi.json" => api::openapi;
        get "/api/messages" => api::list_messages;
        get "/api/messages/{id}" => api::get_message;
        post "/api/messages/{id}/replay" => api::replay;
        post "/api/messages/{id}/resolve" => api::resolve;
        get "/api/partners" => api::partners;
        get "/api/overview" => api::overview;
        get "/api/exports" => api::list_exports;
        post "/api/exports/{id}/retry" => api::retry_export;
        get "/api/tap" => tap::tap;
        get "/" => api::dashboard_index;
        get "/assets/app.js" => api::dashboard_js;
        get "/assets/app.css" => api::dashboard_css;
    }
    let r = r
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(state);
    (r, list)
}

/// Binds the admin address.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let (app, _) = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
}
