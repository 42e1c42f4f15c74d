//! A minimal SMTP client over tokio TCP (RFC 5321): HELO, MAIL FROM, RCPT
//! TO, DATA with dot-stuffing, QUIT. Plain text to a local relay, no TLS
//! and no authentication; every reply code is checked.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::SmtpConfig;

/// Why a mail could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("SMTP {server}: {source}")]
    Io {
        server: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SMTP {server}: after {step}, expected {expected}, got {reply:?}")]
    Refused {
        server: String,
        step: &'static str,
        expected: u16,
        reply: String,
    },
    #[error("SMTP {0}: no answer in time")]
    Timeout(String),
    #[error("SMTP: invalid address {0:?}")]
    BadAddress(String),
}

struct Conn {
    server: String,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn io(&self, source: std::io::Error) -> SmtpError {
        SmtpError::Io {
            server: self.server.clone(),
            source,
        }
    }

    /// Reads a (possibly multi-line) reply; checks its code.
    async fn expect(&mut self, step: &'static str, expected: u16) -> Result<(), SmtpError> {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).await.map_err(|e| self.io(e))?;
            all.push_str(&line);
            // "250-..." continues, "250 ..." ends; EOF ends too.
            if n == 0 || line.len() < 4 || line.as_bytes()[3] != b'-' {
                break;
            }
        }
        let code: u16 = all.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if code == expected {
            Ok(())
        } else {
            Err(SmtpError::Refused {
                server: self.server.clone(),
                step,
                expected,
                reply: all.trim().to_string(),
            })
        }
    }

    async fn send(&mut self, line: &str) -> Result<(), SmtpError> {
        let s = self.r.get_mut();
        let r = s.write_all(line.as_bytes()).await;
        r.map_err(|e| self.io(e))
    }
}

fn check_address(a: &str) -> Result<(), SmtpError> {
    if a.contains(['\r', '\n', '<', '>']) || !a.contains('@') {
        return Err(SmtpError::BadAddress(a.to_string()));
    }
    Ok(())
}

/// Sends one plain-text mail to every `to` of the configuration.
pub async fn send(cfg: &SmtpConfig, subject: &str, body: &str) -> Result<(), SmtpError> {
    check_address(&cfg.from)?;
    for t in &cfg.to {
        check_address(t)?;
    }
    let server = cfg.server.clone();
    let fut = async {
        let stream = TcpStream::connect(&cfg.server)
            .await
            .map_err(|source| SmtpError::Io {
                server: server.clone(),
                source,
            })?;
        let mut c = Conn {
            server: server.clone(),
            r: BufReader::new(stream),
        };
        c.expect("connect", 220).await?;
        c.send(&format!("HELO {}\r\n", cfg.helo)).await?;
        c.expect("HELO", 250).await?;
        c.send(&format!("MAIL FROM:<{}>\r\n", cfg.from)).await?;
        c.expect("MAIL FROM", 250).await?;
        for t in &cfg.to {
            c.send(&format!("RCPT TO:<{t}>\r\n")).await?;
            c.expect("RCPT TO", 250).await?;
        }
        c.send("DATA\r\n").await?;
        c.expect("DATA", 354).await?;
        let subject: String = subject.chars().filter(|c| !c.is_control()).collect();
        let date = chrono::Utc::now().to_rfc2822();
        let mut msg = format!(
            "From: <{}>\r\nTo: {}\r\nSubject: {subject}\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            cfg.from,
            cfg.to.iter().map(|t| format!("<{t}>")).collect::<Vec<_>>().join(", ")
        );
        for line in body.lines() {
            // Dot-stuffing: a line starting with "." gets another.
            if line.starts_with('.') {
                msg.push('.');
            }
            msg.push_str(line);
            msg.push_str("\r\n");
        }
        msg.push_str(".\r\n");
        c.send(&msg).await?;
        c.expect("end of DATA", 250).await?;
        c.send("QUIT\r\n").await?;
        let _ = c.expect("QUIT", 221).await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .map_err(|_| SmtpError::Timeout(server.clone()))?
}
