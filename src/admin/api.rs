//! Handlers of the admin server: probes, metrics, the JSON API over the
//! journal and the dashboard's embedded files.
//!
//! A message's detail marks where its errors are in the raw content: when
//! the daemon's runtime is at hand the raw bytes are translated again to get
//! the diagnostics' byte offsets (cheap and deterministic); otherwise the
//! line number in the stored error text is used.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::authorize;
use super::{metrics, AdminState, ApiError, TapEvent, OPENAPI};
use crate::config::TokenRole;
use crate::journal::{now_ms, Cursor, Message, MessageFilter, State as MsgState};
use crate::pipeline::process::partner_of;
use crate::pipeline::{process, Runtime};
use crate::translate::{Options, Outcome, Translator};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

type ApiResult = Result<Response, ApiError>;

fn iso(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `GET /healthz`: the process answers.
pub async fn healthz() -> Response {
    (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
}

/// `GET /readyz`: every component reachable.
pub async fn readyz(State(state): State<AdminState>) -> Response {
    let s = &state.inner;
    let journal = match s.journal.ping().await {
        Ok(()) => json!({"ok": true, "backend": s.journal.backend()}),
        Err(e) => {
            tracing::warn!("readiness: journal unreachable: {e}");
            json!({"ok": false, "backend": s.journal.backend(), "error": "journal unreachable"})
        }
    };
    let runtime = json!({"ok": true, "attached": s.runtime.is_some()});
    let ready = journal["ok"] == json!(true);
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "uptime_seconds": s.started.elapsed().as_secs(),
            "components": {"journal": journal, "runtime": runtime}
        })),
    )
        .into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AdminState>) -> ApiResult {
    let text = metrics::render(&state.inner.metrics, &state.inner.journal).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

/// `GET /`.
pub async fn dashboard_index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        INDEX_HTML,
    )
        .into_response()
}

/// `GET /assets/app.js`.
pub async fn dashboard_js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

/// `GET /assets/app.css`.
pub async fn dashboard_css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

/// Query parameters of `GET /api/messages`.
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub partner: Option<String>,
    pub document_type: Option<String>,
    pub state: Option<String>,
    pub source: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub key: Option<String>,
    pub interchange_ref: Option<String>,
    /// Any identifier: business key, interchange reference or message id.
    pub q: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Epoch milliseconds or RFC 3339.
fn parse_time(name: &str, v: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = v.parse::<i64>() {
        return Ok(ms);
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{name}: {v:?} is neither epoch milliseconds nor an RFC 3339 time"
            ))
        })
}

fn nonempty(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// A message's summary as the API returns it.
pub fn summary_json(m: &Message) -> Value {
    json!({
        "id": m.id,
        "received_at": m.received_at,
        "received_at_iso": iso(m.received_at),
        "updated_at": m.updated_at,
        "source": m.source,
        "source_ref": m.source_ref,
        "partner": m.partner,
        "format": m.format,
        "document_type": m.document_type,
        "business_keys": m.business_keys.as_deref().map(|k| k.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>()).unwrap_or_default(),
        "sender": m.sender,
        "interchange_ref": m.interchange_ref,
        "state": m.state.as_str(),
        "error": m.error,
        "attempts": m.attempts,
        "duplicate_of": m.duplicate_of,
    })
}

/// `GET /api/messages`.
pub async fn list_messages(
    State(state): State<AdminState>,
    headers: HeaderMap,
    params: Result<Query<ListParams>, QueryRejection>,
) -> ApiResult {
    authorize(&state, &headers, TokenRole::Read)?;
    let Query(p) = params.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut f = MessageFilter {
        partner: nonempty(&p.partner),
        document_type: nonempty(&p.document_type),
        source: nonempty(&p.source),
        key: nonempty(&p.key),
        interchange_ref: nonempty(&p.interchange_ref),
        ..MessageFilter::default()
    };
    if let Some(s) = nonempty(&p.state) {
        f.state = Some(MsgState::parse(&s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state: unknown state {s:?} (received, parsed, mapped, priced, delivered, held, rejected, failed, dead, duplicate, resolved)"
            ))
        })?);
    }
    if let Some(v) = nonempty(&p.from) {
        f.from = Some(parse_time("from", &v)?);
    }
    if let Some(v) = nonempty(&p.to) {
        f.to = Some(parse_time("to", &v)?);
    }
    let after = match nonempty(&p.cursor) {
        Some(c) => Some(
            Cursor::decode(&c)
                .ok_or_else(|| ApiError::bad_request(format!("cursor: {c:?} is not a cursor")))?,
        ),
        None => None,
    };
    let limit = p.limit.unwrap_or(50).clamp(1, 1000);
    let journal = &state.inner.journal;
    let page = match nonempty(&p.q) {
        None => journal.search(&f, after, limit).await?,
        Some(q) => {
            // Any identifier: a business key, else an interchange reference,
            // else a source reference... else a message id.
            let mut by_key = f.clone();
            by_key.key = Some(q.clone());
            let mut page = journal.search(&by_key, after, limit).await?;
            if page.messages.is_empty() {
                let mut by_ref = f.clone();
                by_ref.interchange_ref = Some(q.clone());
                page = journal.search(&by_ref, after, limit).await?;
            }
            if page.messages.is_empty() && after.is_none() {
                if let Ok(id) = q.trim_start_matches('#').parse::<i64>() {
                    if let Ok(m) = journal.get(id).await {
                        page.messages.push(Message {
                            raw: Vec::new(),
                            canonical_json: None,
                            priced_json: None,
                            ..m
                        });
                    }
                }
            }
            page
        }
    };
    let messages: Vec<Value> = page.messages.iter().map(summary_json).collect();
    Ok(Json(json!({
        "messages": messages,
        "next_cursor": page.next.map(|c| c.encode()),
    }))
    .into_response())
}

fn message_id(id: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    id.map(|Path(i)| i)
        .map_err(|_| ApiError::bad_request("the message id must be an integer"))
}

/// A located error in the raw content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub offset: usize,
    pub end: usize,
    pub line: Option<u32>,
    pub message: String,
}

/// Translates the raw bytes again to get the errors' byte offsets.
fn locate_by_translation(rt: &Runtime, msg: &Message) -> Vec<(usize, Option<u32>, String)> {
    let partner = partner_of(&rt.config, msg);
    let opts = Options {
        partner: partner.and_then(|p| p.mapping_partner.clone()),
        file_name: msg.source_ref.clone(),
        size_hint: Some(msg.raw.len()),
        ..Options::default()
    };
    let mut found = Vec::new();
    let mut take = |d: &crate::diagnostics::Diagnostic| {
        if d.is_error() {
            if let Some(o) = d.location.offset {
                found.push((o as usize, d.location.line, d.to_string()));
            }
        }
    };
    let result = Translator::new(&rt.registry).translate(&msg.raw[..], &opts, &mut |o| {
        if let Outcome::Rejected { diagnostics, .. } = o {
            for d in &diagnostics {
                take(d);
            }
        }
    });
    if let Ok(summary) = result {
        for d in &summary.diagnostics {
            take(d);
        }
    }
    found
}

/// The first line number written in an error text (`file:12:` or `line 12`).
fn line_in(text: &str) -> Option<u32> {
    if let Some(i) = text.find("line ") {
        let digits: String = text[i + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    let b = text.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b':' {
            let digits: String = text[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !digits.is_empty() && b.get(i + 1 + digits.len()) == Some(&b':') {
                return digits.parse().ok();
            }
        }
    }
    None
}

/// Where the segment starting at `offset` ends (its terminator included).
fn segment_end(raw: &[u8], offset: usize) -> usize {
    let start = offset.min(raw.len());
    let limit = (start + 2000).min(raw.len());
    raw[start..limit]
        .iter()
        .position(|&b| matches!(b, b'\'' | b'~' | b'\n'))
        .map_or(limit, |p| start + p + 1)
}

/// The errors of a message, located in its raw bytes.
pub fn locate_errors(rt: Option<&Runtime>, msg: &Message) -> Vec<Located> {
    let mut out: Vec<Located> = Vec::new();
    if matches!(msg.state, MsgState::Rejected) || msg.error.is_some() {
        if let Some(rt) = rt {
            for (offset, line, message) in locate_by_translation(rt, msg) {
                if offset < msg.raw.len() {
                    out.push(Located {
                        offset,
                        end: segment_end(&msg.raw, offset),
                        line,
                        message,
                    });
                }
            }
        }
        if out.is_empty() {
            if let Some(line) = msg.error.as_deref().and_then(line_in) {
                let mut start = 0;
                let mut n = 1;
                while n < line {
                    match msg.raw[start..].iter().position(|&b| b == b'\n') {
                        Some(p) => {
                            start += p + 1;
                            n += 1;
                        }
                        None => break,
                    }
                }
                if n == line && start < msg.raw.len() {
                    let end = msg.raw[start..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(msg.raw.len(), |p| start + p + 1);
                    out.push(Located {
                        offset: start,
                        end,
                        line: Some(line),
                        message: msg.error.clone().unwrap_or_default(),
                    });
                }
            }
        }
    }
    out.sort_by_key(|l| l.offset);
    // No overlaps: a later error inside an earlier one joins it.
    let mut merged: Vec<Located> = Vec::new();
    for l in out {
        match merged.last_mut() {
            Some(prev) if l.offset < prev.end => {
                prev.end = prev.end.max(l.end);
                if !prev.message.contains(&l.message) {
                    prev.message.push('\n');
                    prev.message.push_str(&l.message);
                }
            }
            _ => merged.push(l),
        }
    }
    merged
}

/// Raw bytes as text: UTF-8 when valid, else ISO 8859-1 (one char per byte,
/// which is what UNOA–UNOC files are).
fn decode(bytes: &[u8], utf8: bool) -> String {
    if utf8 {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        bytes.iter().map(|&b| char::from(b)).collect()
    }
}

/// The raw content cut into plain and error-marked parts.
fn raw_parts(raw: &[u8], errors: &[Located]) -> (Vec<Value>, &'static str) {
    let utf8 = std::str::from_utf8(raw).is_ok();
    let mut parts = Vec::new();
    let mut at = 0;
    for e in errors {
        let (s, t) = (e.offset.max(at).min(raw.len()), e.end.min(raw.len()));
        if s > at {
            parts.push(json!({"text": decode(&raw[at..s], utf8)}));
        }
        if t > s {
            parts.push(json!({"text": decode(&raw[s..t], utf8), "error": e.message, "line": e.line, "offset": e.offset}));
            at = t;
        }
    }
    if at < raw.len() {
        parts.push(json!({"text": decode(&raw[at..], utf8)}));
    }
    (parts, if utf8 { "utf-8" } else { "iso-8859-1" })
}

fn parse_json(s: &Option<String>) -> Value {
    s.as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null)
}

/// `GET /api/messages/{id}`.
pub async fn get_message(
    State(state): State<AdminState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult {
    authorize(&state, &headers, TokenRole::Read)?;
    let id = message_id(id)?;
    let s = &state.inner;
    let m = s.journal.get(id).await?;
    let events = s.journal.events(id).await?;
    let deliveries = s.journal.deliveries(id).await?;
    let rt = s.runtime.as_ref().map(|f| f());
    let (m, errors) = {
        let rt = rt.clone();
        match tokio::task::spawn_blocking(move || {
            let e = locate_errors(rt.as_deref(), &m);
            (m, e)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => {
                return Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "locating errors failed",
                ))
            }
        }
    };
    let (parts, encoding) = raw_parts(&m.raw, &errors);
    let mut body = summary_json(&m);
    body["content_sha256"] = json!(m.content_hash);
    body["raw"] = json!({"bytes": m.raw.len(), "encoding": encoding, "parts": parts});
    body["errors"] = errors
        .iter()
        .map(|e| json!({"offset": e.offset, "end": e.end, "line": e.line, "message": e.message}))
        .collect();
    body["canonical"] = parse_json(&m.canonical_json);
    body["priced"] = parse_json(&m.priced_json);
    body["events"] = events
        .iter()
        .map(|e| json!({"at": e.at, "at_iso": iso(e.at), "state": e.state, "detail": e.detail}))
        .collect();
    body["deliveries"] = deliveries
        .iter()
        .map(|d| json!({"sink": d.sink, "attempt": d.attempt, "at": d.at, "at_iso": iso(d.at), "outcome": d.outcome, "detail": d.detail}))
        .collect();
    Ok(Json(body).into_response())
}

/// `POST /api/messages/{id}/replay`.
pub async fn replay(
    State(state): State<AdminState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult {
    let who = authorize(&state, &headers, TokenRole::Operator)?;
    let id = message_id(id)?;
    let s = &state.inner;
    s.journal.replay(id).await?;
    tracing::info!(message_id = id, token = %who.name, "replay requested through the admin API");
    let Some(rt) = s.runtime.as_ref().map(|f| f()) else {
        s.journal.release(id).await?;
        return Ok(Json(json!({"id": id, "state": "received", "queued": true})).into_response());
    };
    let m = s.journal.get(id).await?;
    let delivered = Vec::new();
    let update = tokio::task::spawn_blocking(move || {
        let today = chrono::Local::now().date_naive();
        process(&rt, &m, &delivered, today)
    })
    .await
    .map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "processing failed; the message stays queued",
        )
    })?;
    s.journal.apply(std::slice::from_ref(&update)).await?;
    s.metrics.processed.fetch_add(1, Ordering::Relaxed);
    let _ = s.tap.send(TapEvent::from_update(&update));
    Ok(Json(json!({
        "id": id,
        "state": update.state.as_str(),
        "error": update.error,
        "queued": false,
    }))
    .into_response())
}

/// Body of `POST /api/messages/{id}/resolve`.
#[derive(Debug, Deserialize)]
pub struct ResolveBody {
    pub reason: String,
}

/// `POST /api/messages/{id}/resolve`.
pub async fn resolve(
    State(state): State<AdminState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> ApiResult {
    let who = authorize(&state, &headers, TokenRole::Operator)?;
    let id = message_id(id)?;
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(format!(
            "expected a JSON body {{\"reason\": \"…\"}}: {}",
            e.body_text()
        ))
    })?;
    let reason = body.reason.trim();
    if reason.is_empty() {
        return Err(ApiError::bad_request("reason: must not be empty"));
    }
    let previous = state.inner.journal.resolve(id, reason, &who.name).await?;
    tracing::info!(message_id = id, token = %who.name, previous = %previous, "message resolved by hand");
    Ok(
        Json(json!({"id": id, "previous_state": previous.as_str(), "state": "resolved"}))
            .into_response(),
    )
}

/// Final states that count as errors in rates.
fn is_error_state(s: &str) -> bool {
    matches!(s, "rejected" | "dead" | "failed")
}

/// `GET /api/partners`: counts per partner and document type, error rates,
/// hourly throughput over the last 24 hours.
pub async fn partners(State(state): State<AdminState>, headers: HeaderMap) -> ApiResult {
    authorize(&state, &headers, TokenRole::Read)?;
    let s = &state.inner;
    let counts = s.journal.group_counts(None).await?;
    let now = now_ms();
    let hour = 3_600_000;
    let since = (now / hour + 1) * hour - 24 * hour;
    let thr = s.journal.throughput(since, hour).await?;
    let rt = s.runtime.as_ref().map(|f| f());
    #[derive(Default)]
    struct Acc {
        states: BTreeMap<String, i64>,
        spark: Vec<i64>,
    }
    let mut by: BTreeMap<String, BTreeMap<String, Acc>> = BTreeMap::new();
    let name = |o: &Option<String>| o.clone().unwrap_or_default();
    for c in &counts {
        let a = by
            .entry(name(&c.partner))
            .or_default()
            .entry(name(&c.document_type))
            .or_default();
        *a.states.entry(c.state.clone()).or_default() += c.count;
    }
    for t in &thr {
        let a = by
            .entry(name(&t.partner))
            .or_default()
            .entry(name(&t.document_type))
            .or_default();
        if a.spark.is_empty() {
            a.spark = vec![0; 24];
        }
        if let Some(slot) = usize::try_from(t.bucket)
            .ok()
            .and_then(|b| a.spark.get_mut(b))
        {
            *slot += t.count;
        }
    }
    let stats = |states: &BTreeMap<String, i64>| {
        let total: i64 = states.values().sum();
        let errors: i64 = states
            .iter()
            .filter(|(k, _)| is_error_state(k))
            .map(|(_, v)| v)
            .sum();
        let held = states.get("held").copied().unwrap_or(0);
        let rate = if total > 0 {
            errors as f64 / total as f64
        } else {
            0.0
        };
        (total, errors, held, rate)
    };
    let mut out = Vec::new();
    for (partner, types) in &by {
        let mut all_states: BTreeMap<String, i64> = BTreeMap::new();
        let mut all_spark = vec![0i64; 24];
        let mut doc_types = Vec::new();
        for (dt, a) in types {
            for (k, v) in &a.states {
                *all_states.entry(k.clone()).or_default() += v;
            }
            let spark = if a.spark.is_empty() {
                vec![0; 24]
            } else {
                a.spark.clone()
            };
            for (i, v) in spark.iter().enumerate() {
                all_spark[i] += v;
            }
            let (total, errors, held, rate) = stats(&a.states);
            doc_types.push(json!({
                "document_type": if dt.is_empty() { Value::Null } else { json!(dt) },
                "total": total, "errors": errors, "held": held, "error_rate": rate,
                "states": a.states, "throughput_24h": spark,
            }));
        }
        let (total, errors, held, rate) = stats(&all_states);
        let display = rt
            .as_ref()
            .and_then(|rt| rt.config.partner(partner))
            .and_then(|p| p.name.clone());
        out.push(json!({
            "partner": if partner.is_empty() { Value::Null } else { json!(partner) },
            "name": display,
            "total": total, "errors": errors, "held": held, "error_rate": rate,
            "states": all_states, "throughput_24h": all_spark,
            "document_types": doc_types,
        }));
    }
    Ok(Json(json!({
        "partners": out,
        "throughput_window": {"from": since, "bucket_ms": hour, "buckets": 24},
    }))
    .into_response())
}

/// `GET /api/overview`: counts per state, backlog, oldest unfinished.
pub async fn overview(State(state): State<AdminState>, headers: HeaderMap) -> ApiResult {
    authorize(&state, &headers, TokenRole::Read)?;
    let s = &state.inner;
    let counts: BTreeMap<String, i64> = s.journal.counts().await?.into_iter().collect();
    let oldest = s.journal.oldest_unfinished().await?;
    let total: i64 = counts.values().sum();
    let backlog: i64 = counts
        .iter()
        .filter(|(k, _)| MsgState::parse(k).is_some_and(|s| !s.is_final()))
        .map(|(_, v)| v)
        .sum();
    Ok(Json(json!({
        "states": counts,
        "total": total,
        "backlog": backlog,
        "oldest_unfinished_age_seconds": oldest.map(|t| (now_ms() - t).max(0) as f64 / 1000.0),
        "journal": s.journal.backend(),
        "uptime_seconds": s.started.elapsed().as_secs(),
        "processed_total": s.metrics.processed.load(Ordering::Relaxed),
    }))
    .into_response())
}

/// Query of `GET /api/exports`.
#[derive(Debug, Deserialize)]
pub struct ExportsQuery {
    /// At most this many rows (1–1000, default 100).
    pub limit: Option<u32>,
    /// Only this state: `pending`, `sent` or `dead`.
    pub state: Option<String>,
}

/// `GET /api/exports`: documents sent (or being sent) from the ERP to
/// partners, newest first.
pub async fn list_exports(
    State(state): State<AdminState>,
    headers: HeaderMap,
    query: Result<Query<ExportsQuery>, QueryRejection>,
) -> ApiResult {
    authorize(&state, &headers, TokenRole::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if let Some(s) = q.state.as_deref() {
        if !matches!(s, "pending" | "sent" | "dead") {
            return Err(ApiError::bad_request(format!(
                "state: {s:?} is not one of pending, sent, dead"
            )));
        }
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows = state.inner.journal.exports_list(limit).await?;
    let items: Vec<Value> = rows
        .iter()
        .filter(|r| q.state.as_deref().is_none_or(|s| r.state.as_str() == s))
        .map(|r| {
            json!({
                "id": r.id,
                "export": r.export,
                "key": r.key,
                "partner": r.partner,
                "kind": r.kind,
                "number": r.number,
                "file_name": r.file_name,
                "state": r.state.as_str(),
                "attempts": r.attempts,
                "error": r.error,
                "created_at": iso(r.created_at),
                "updated_at": iso(r.updated_at),
                "sent_at": r.sent_at.map(iso),
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })).into_response())
}

/// `POST /api/exports/{id}/retry`: a dead export goes out again at the next
/// pass.
pub async fn retry_export(
    State(state): State<AdminState>,
    headers: HeaderMap,
    id: Result<Path<i64>, PathRejection>,
) -> ApiResult {
    let who = authorize(&state, &headers, TokenRole::Operator)?;
    let Path(id) =
        id.map_err(|e| ApiError::bad_request(format!("export id: {}", e.body_text())))?;
    state.inner.journal.export_retry(id).await?;
    tracing::info!(export_id = id, token = %who.name, "export retry requested through the admin API");
    Ok(Json(json!({"id": id, "state": "pending"})).into_response())
}
