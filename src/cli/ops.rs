//! `comptoir top` and `comptoir tap`: watching a running daemon through its
//! admin API. `top` refreshes per-partner / document-type totals, rates and
//! backlogs every second (`--once` prints one snapshot, for scripts and
//! tests); `tap` prints each processed message as one JSON line, from the
//! `/api/tap` server-sent-events stream.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::remote::{call, json_of};
use super::EXIT_ERROR;

#[derive(Debug, clap::Args)]
pub struct TopArgs {
    /// Admin URL of the daemon.
    #[arg(long, env = "COMPTOIR_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API token (prefer the COMPTOIR_TOKEN environment variable).
    #[arg(long, env = "COMPTOIR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Print one snapshot and exit.
    #[arg(long)]
    pub once: bool,
    /// Refresh interval, milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub interval_ms: u64,
}

#[derive(Debug, clap::Args)]
pub struct TapArgs {
    /// Admin URL of the daemon.
    #[arg(long, env = "COMPTOIR_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// API token (prefer the COMPTOIR_TOKEN environment variable).
    #[arg(long, env = "COMPTOIR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long)]
    pub partner: Option<String>,
    #[arg(long)]
    pub document_type: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    /// Exit after this many messages.
    #[arg(long)]
    pub limit: Option<u64>,
}

const UNFINISHED: [&str; 5] = ["received", "parsed", "mapped", "priced", "failed"];

/// One row of `top`: (partner, type) → (total, delivered, errors, held,
/// backlog, last hour).
type Rows = BTreeMap<(String, String), [i64; 6]>;

fn snapshot(url: &str, token: Option<&str>) -> Result<(Rows, Value), String> {
    let p = json_of(&call(&format!("{url}/api/partners"), "GET", token, None)?)?;
    let o = json_of(&call(&format!("{url}/api/overview"), "GET", token, None)?)?;
    let mut rows = Rows::new();
    for partner in p["partners"].as_array().into_iter().flatten() {
        let pid = partner["partner"]
            .as_str()
            .unwrap_or("(unknown)")
            .to_string();
        for d in partner["document_types"].as_array().into_iter().flatten() {
            let dt = d["document_type"].as_str().unwrap_or("-").to_string();
            let st = &d["states"];
            let n = |k: &str| st[k].as_i64().unwrap_or(0);
            let backlog: i64 = UNFINISHED.iter().map(|k| n(k)).sum();
            let last_hour = d["throughput_24h"]
                .as_array()
                .and_then(|a| a.last())
                .and_then(Value::as_i64)
                .unwrap_or(0);
            rows.insert(
                (pid.clone(), dt),
                [
                    d["total"].as_i64().unwrap_or(0),
                    n("delivered"),
                    d["errors"].as_i64().unwrap_or(0),
                    d["held"].as_i64().unwrap_or(0),
                    backlog,
                    last_hour,
                ],
            );
        }
    }
    Ok((rows, o))
}

fn render(rows: &Rows, prev: Option<(&Rows, f64)>, o: &Value) -> String {
    let mut out = String::new();
    let age = o["oldest_unfinished_age_seconds"]
        .as_f64()
        .map_or("-".to_string(), |a| format!("{a:.0}s"));
    out.push_str(&format!(
        "comptoir top — {} messages, backlog {}, oldest unfinished {}, journal {}, up {}s\n\n",
        o["total"],
        o["backlog"],
        age,
        o["journal"].as_str().unwrap_or("?"),
        o["uptime_seconds"]
    ));
    out.push_str(&format!(
        "{:<20} {:<16} {:>9} {:>9} {:>7} {:>6} {:>8} {:>7} {:>9} {:>8}\n",
        "PARTNER",
        "TYPE",
        "TOTAL",
        "DELIVERED",
        "ERRORS",
        "HELD",
        "BACKLOG",
        "ERR%",
        "LAST 1H",
        "RATE/S"
    ));
    for ((p, t), v) in rows {
        let rate = match prev {
            Some((prev, secs)) if secs > 0.0 => {
                let before = prev.get(&(p.clone(), t.clone())).map_or(0, |r| r[0]);
                format!("{:.1}", (v[0] - before).max(0) as f64 / secs)
            }
            _ => "-".into(),
        };
        let err = if v[0] > 0 {
            format!("{:.1}", v[2] as f64 * 100.0 / v[0] as f64)
        } else {
            "0.0".into()
        };
        out.push_str(&format!(
            "{:<20} {:<16} {:>9} {:>9} {:>7} {:>6} {:>8} {:>7} {:>9} {:>8}\n",
            p, t, v[0], v[1], v[2], v[3], v[4], err, v[5], rate
        ));
    }
    out
}

pub fn top(args: TopArgs) -> i32 {
    let url = args.url.trim_end_matches('/');
    let token = args.token.as_deref();
    let mut prev: Option<(Rows, Instant)> = None;
    loop {
        let (rows, o) = match snapshot(url, token) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_ERROR;
            }
        };
        let now = Instant::now();
        let text = render(
            &rows,
            prev.as_ref()
                .map(|(r, t)| (r, now.duration_since(*t).as_secs_f64())),
            &o,
        );
        if args.once {
            print!("{text}");
            return 0;
        }
        // Clear the screen and home the cursor, like top.
        print!("\x1b[2J\x1b[H{text}");
        let _ = std::io::stdout().flush();
        prev = Some((rows, now));
        std::thread::sleep(Duration::from_millis(args.interval_ms.max(100)));
    }
}

pub fn tap(args: TapArgs) -> i32 {
    let mut path = format!("{}/api/tap?", args.url.trim_end_matches('/'));
    for (k, v) in [
        ("partner", &args.partner),
        ("document_type", &args.document_type),
        ("state", &args.state),
    ] {
        if let Some(v) = v {
            path.push_str(&format!("{k}={v}&"));
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_ERROR;
        }
    };
    let mut seen = 0u64;
    let limit = args.limit;
    let r = rt.block_on(crate::admin::client::stream_events(
        &path,
        args.token.as_deref(),
        |event, data| {
            match event {
                "message" => {
                    println!("{data}");
                    let _ = std::io::stdout().flush();
                    seen += 1;
                }
                "lagged" => eprintln!("warning: tap fell behind, {data} message(s) skipped"),
                _ => {}
            }
            limit.is_none_or(|l| seen < l)
        },
    ));
    match r {
        Ok((200, _)) => 0,
        Ok((status, body)) => {
            eprintln!("error: HTTP {status}: {}", body.trim());
            EXIT_ERROR
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_ERROR
        }
    }
}
