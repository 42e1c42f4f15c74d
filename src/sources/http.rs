//! HTTP source: `POST /api/inbound/{partner}` journals the request body.
//!
//! The answer comes only after the journal commit: **202** with
//! `{"id": <message id>}` for a new message, **200** with
//! `{"id": <original id>, "duplicate": true}` when the same content (or the
//! same interchange sender and control reference) was received before.
//! Errors are JSON `{"error": "…"}`: 400 for an empty body, 413 for a body
//! larger than `max_body_bytes`, 404 for a partner the configuration does
//! not know, 503 when the journal is unavailable (the client should retry;
//! nothing was stored) and 422 when the journal refuses the data itself.
//! The listener stops accepting on the daemon's stop signal and finishes the
//! requests in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use tokio::sync::watch;

use crate::config::HttpSource;
use crate::journal::{Incoming, Journal};

/// A running HTTP source.
#[derive(Debug)]
pub struct HttpSourceTask {
    pub name: String,
    pub config: HttpSource,
    /// Partner ids accepted in the path.
    pub partners: Vec<String>,
    pub journal: Journal,
}

#[derive(Debug)]
struct Shared {
    name: String,
    max_body: usize,
    partners: Vec<String>,
    journal: Journal,
    received: AtomicU64,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

async fn inbound(
    State(s): State<Arc<Shared>>,
    Path(partner): Path<String>,
    body: Body,
) -> Response {
    if !s.partners.iter().any(|p| p == &partner) {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown partner {partner:?}"),
        );
    }
    let raw = match axum::body::to_bytes(body, s.max_body).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {} bytes (max_body_bytes)", s.max_body),
            )
        }
    };
    if raw.is_empty() {
        return error(StatusCode::BAD_REQUEST, "empty body: nothing to receive");
    }
    let incoming = Incoming {
        source: s.name.clone(),
        source_ref: Some(format!("POST /api/inbound/{partner}")),
        partner: Some(partner),
        raw: raw.to_vec(),
    };
    match s.journal.receive(vec![incoming]).await {
        Ok(r) => match r.first() {
            Some(r) => {
                s.received.fetch_add(1, Ordering::Relaxed);
                match r.duplicate_of {
                    Some(orig) => {
                        tracing::info!(message_id = r.id, source = %s.name, "duplicate of message {orig}");
                        (
                            StatusCode::OK,
                            Json(json!({ "id": orig, "duplicate": true })),
                        )
                            .into_response()
                    }
                    None => (StatusCode::ACCEPTED, Json(json!({ "id": r.id }))).into_response(),
                }
            }
            None => error(StatusCode::INTERNAL_SERVER_ERROR, "journal returned no id"),
        },
        Err(e) if e.is_permanent() => {
            tracing::error!(source = %s.name, "journal refused a message: {e}");
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the journal cannot store this message: {e}"),
            )
        }
        Err(e) => {
            tracing::error!(source = %s.name, "journal commit failed: {e}");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "journal unavailable, nothing stored: retry later",
            )
        }
    }
}

impl HttpSourceTask {
    /// The routes, for serving or for tests.
    fn router(&self) -> (Router, Arc<Shared>) {
        let shared = Arc::new(Shared {
            name: self.name.clone(),
            max_body: self.config.max_body_bytes,
            partners: self.partners.clone(),
            journal: self.journal.clone(),
            received: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/api/inbound/{partner}", post(inbound))
            .with_state(Arc::clone(&shared));
        (router, shared)
    }

    /// Serves until `shutdown` turns true. With `once` (drain what is
    /// already there) an HTTP source has nothing to drain and returns at
    /// once. Returns the number of messages journaled.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>, once: bool) -> u64 {
        if once {
            return 0;
        }
        let listener = match tokio::net::TcpListener::bind(&self.config.listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(source = %self.name, listen = %self.config.listen, "cannot listen: {e}");
                return 0;
            }
        };
        tracing::info!(source = %self.name, listen = %self.config.listen, "HTTP source listening");
        let (router, shared) = self.router();
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(source = %self.name, "HTTP server stopped: {e}");
        }
        shared.received.load(Ordering::Relaxed)
    }
}
