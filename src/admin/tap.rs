//! `GET /api/tap`: a server-sent-events stream of the documents passing
//! through the pipeline, fed by a tokio broadcast channel the daemon
//! publishes every committed outcome on. A slow reader that falls behind
//! is told how many events it missed (`event: lagged`) instead of slowing
//! the pipeline down. Optional filters: `partner`, `document_type`, `state`.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::auth::authorize;
use super::{AdminState, ApiError};
use crate::config::TokenRole;

/// One processed message as the tap shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TapEvent {
    pub message_id: i64,
    pub partner: Option<String>,
    pub document_type: Option<String>,
    pub state: String,
    pub business_keys: Option<String>,
    pub error: Option<String>,
    /// Canonical documents (JSON array), when mapped.
    pub canonical: Option<serde_json::Value>,
}

/// Tap filters.
#[derive(Debug, Default, Deserialize)]
pub struct TapParams {
    pub partner: Option<String>,
    pub document_type: Option<String>,
    pub state: Option<String>,
}

impl TapParams {
    fn accepts(&self, e: &TapEvent) -> bool {
        let eq = |want: &Option<String>, got: &Option<String>| {
            want.as_ref().is_none_or(|w| got.as_deref() == Some(w))
        };
        eq(&self.partner, &e.partner)
            && eq(&self.document_type, &e.document_type)
            && self.state.as_ref().is_none_or(|s| *s == e.state)
    }
}

/// A stream over an mpsc receiver.
struct Events(mpsc::Receiver<Event>);

impl futures_core::Stream for Events {
    type Item = Result<Event, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|e| e.map(Ok))
    }
}

/// `GET /api/tap`.
pub async fn tap(
    State(state): State<AdminState>,
    headers: HeaderMap,
    params: Result<Query<TapParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err(e) = authorize(&state, &headers, TokenRole::Read) {
        return e.into_response();
    }
    let params = match params {
        Ok(Query(p)) => p,
        Err(e) => return ApiError::bad_request(e.body_text()).into_response(),
    };
    let mut rx = state.inner.tap.subscribe();
    let (tx, out) = mpsc::channel::<Event>(256);
    tokio::spawn(async move {
        let _ = tx
            .send(Event::default().event("hello").data("tap started"))
            .await;
        loop {
            let ev = match rx.recv().await {
                Ok(e) if params.accepts(&e) => {
                    match Event::default().event("message").json_data(&e) {
                        Ok(ev) => ev,
                        Err(_) => continue,
                    }
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    Event::default().event("lagged").data(n.to_string())
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if tx.send(ev).await.is_err() {
                break;
            }
        }
    });
    Sse::new(Events(out))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

impl TapEvent {
    /// The event of a committed outcome.
    pub fn from_update(u: &crate::journal::Update) -> TapEvent {
        TapEvent {
            message_id: u.id,
            partner: u.partner.clone(),
            document_type: u.document_type.clone(),
            state: u.state.as_str().to_string(),
            business_keys: u.business_keys.clone(),
            error: u.error.clone(),
            canonical: u
                .canonical_json
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }
}
