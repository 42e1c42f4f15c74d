//! A minimal HTTP/1.1 client over tokio TCP, for the CLI talking to a
//! running daemon (`messages --url`, `top`, `tap`), the alert webhooks
//! and the tests. Plain `http://` only (the admin server listens on a
//! local or internal address); one request per connection
//! (`Connection: close`); fixed-length and chunked bodies.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0:?}: only http://host:port/path URLs are supported")]
    BadUrl(String),
    #[error("{url}: {source}")]
    Io {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: malformed HTTP response")]
    Malformed(String),
    #[error("{0}: no answer in time")]
    Timeout(String),
}

/// A response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `(host:port, path-and-query)` of an `http://` URL.
pub fn split_url(url: &str) -> Result<(String, String), ClientError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ClientError::BadUrl(url.to_string()))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host.is_empty() {
        return Err(ClientError::BadUrl(url.to_string()));
    }
    let host = if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_string()))
}

async fn send_head(
    url: &str,
    method: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
    accept: &str,
) -> Result<BufReader<TcpStream>, ClientError> {
    let (host, path) = split_url(url)?;
    let io = |source| ClientError::Io {
        url: url.to_string(),
        source,
    };
    let mut s = TcpStream::connect(&host).await.map_err(io)?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nAccept: {accept}\r\nUser-Agent: comptoir\r\n"
    );
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    match body {
        Some((ct, b)) => req.push_str(&format!(
            "Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            b.len()
        )),
        None => req.push_str("Content-Length: 0\r\n\r\n"),
    }
    s.write_all(req.as_bytes()).await.map_err(io)?;
    if let Some((_, b)) = body {
        s.write_all(b).await.map_err(io)?;
    }
    s.flush().await.map_err(io)?;
    Ok(BufReader::new(s))
}

async fn read_head(
    url: &str,
    r: &mut BufReader<TcpStream>,
) -> Result<(u16, Vec<(String, String)>), ClientError> {
    let io = |source| ClientError::Io {
        url: url.to_string(),
        source,
    };
    let mut line = String::new();
    r.read_line(&mut line).await.map_err(io)?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Malformed(url.to_string()))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.map_err(io)? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok((status, headers))
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    })
}

/// One request; the whole body is read. `body` is `(content type, bytes)`.
pub async fn request(
    url: &str,
    method: &str,
    token: Option<&str>,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<HttpResponse, ClientError> {
    let fut = async {
        let mut r = send_head(url, method, token, body, "*/*").await?;
        let (status, headers) = read_head(url, &mut r).await?;
        let io = |source| ClientError::Io {
            url: url.to_string(),
            source,
        };
        let mut body = Vec::new();
        if is_chunked(&headers) {
            let mut line = String::new();
            loop {
                line.clear();
                r.read_line(&mut line).await.map_err(io)?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| ClientError::Malformed(url.to_string()))?;
                if size == 0 {
                    break;
                }
                let mut chunk = vec![0; size];
                r.read_exact(&mut chunk).await.map_err(io)?;
                body.extend_from_slice(&chunk);
                line.clear();
                r.read_line(&mut line).await.map_err(io)?;
            }
        } else if let Some(n) = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
        {
            body.resize(n, 0);
            r.read_exact(&mut body).await.map_err(io)?;
        } else {
            r.read_to_end(&mut body).await.map_err(io)?;
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| ClientError::Timeout(url.to_string()))?
}

/// Opens a server-sent-events stream and calls `on_event(event, data)` for
/// each event until it returns false or the stream ends. Returns the
/// status when it is not 200 (with the body's first line), else 200.
pub async fn stream_events(
    url: &str,
    token: Option<&str>,
    mut on_event: impl FnMut(&str, &str) -> bool,
) -> Result<(u16, String), ClientError> {
    let mut r = send_head(url, "GET", token, None, "text/event-stream").await?;
    let (status, headers) = read_head(url, &mut r).await?;
    let io = |source| ClientError::Io {
        url: url.to_string(),
        source,
    };
    if status != 200 {
        let mut rest = String::new();
        let _ = r.read_to_string(&mut rest).await;
        return Ok((status, rest));
    }
    let chunked = is_chunked(&headers);
    let mut line = String::new();
    let mut event = String::from("message");
    let mut data = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await.map_err(io)? == 0 {
            break;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        // Chunk sizes of a chunked body come on their own lines; SSE
        // fields always contain a colon, so hex-only lines are skipped.
        if chunked && !l.is_empty() && l.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        if l.is_empty() {
            if !data.is_empty() && !on_event(&event, &data) {
                break;
            }
            event = "message".into();
            data.clear();
        } else if let Some(v) = l.strip_prefix("event:") {
            event = v.trim().to_string();
        } else if let Some(v) = l.strip_prefix("data:") {
            if !data.is_empty() {
                data.push('\n');
            }
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    Ok((200, String::new()))
}
