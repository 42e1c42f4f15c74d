//! Shared by the admin and dashboard tests: a daemon configuration with an
//! admin server and tokens, a journal with one delivered, one rejected
//! (located error) and one held message, and a running daemon.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_comptoir");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub const READ_TOKEN: &str = "read-secret-0123456789";
pub const OP_TOKEN: &str = "operator-secret-9876543210";

pub fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("comptoir-admin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("inbox")).unwrap();
    d
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn config(dir: &Path, port: u16, extra: &str) -> PathBuf {
    let text = format!(
        r#"
[journal]
url = "sqlite://{d}/var/comptoir.db"
[paths]
mappings = "{root}/mappings"
pricing = "{root}/config/pricing"
[daemon]
idle_poll_ms = 20
grace_period_secs = 5
[admin]
listen = "127.0.0.1:{port}"
[[admin.token]]
name = "viewer"
role = "read"
value_env = "COMPTOIR_TEST_READ_TOKEN"
[[admin.token]]
name = "ops"
role = "operator"
value = "{op}"
[[source]]
name = "inbox"
type = "directory"
path = "{d}/inbox"
poll_interval_ms = 20
[[partner]]
id = "acme"
name = "ACME Hypermarchés"
identifiers = ["5412345000013"]
pricing_client = "ACME"
[[partner]]
id = "noterms"
name = "No Terms SA"
identifiers = ["5499999999999"]
[[route]]
name = "orders"
document_types = ["order"]
price = true
sinks = ["outbox"]
[[sink]]
name = "outbox"
type = "file"
path = "{d}/outbox"
fsync = false
{extra}
"#,
        d = dir.display(),
        root = ROOT,
        op = OP_TOKEN,
    );
    let p = dir.join("comptoir.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The demo order, its ISO 8859-1 bytes one char each.
pub fn demo() -> String {
    let b = std::fs::read(Path::new(ROOT).join("fixtures/edifact/orders_demo.edi")).unwrap();
    b.iter().map(|&c| char::from(c)).collect()
}

/// Writes text whose chars are ISO 8859-1 bytes.
pub fn write_latin1(p: &Path, s: &str) {
    let b: Vec<u8> = s.chars().map(|c| c as u32 as u8).collect();
    std::fs::write(p, b).unwrap();
}

/// Drops one delivered, one rejected and one held message into the inbox.
pub fn seed(dir: &Path) {
    write_latin1(&dir.join("inbox/1-ok.edi"), &demo());
    // A quantity that is not a number: rejected, located on line 14.
    let bad = demo()
        .replace("DEMO0001", "DEMO0002")
        .replace("PO-DEMO-0001", "PO-BAD-0002")
        .replace("QTY+21:24:PCE", "QTY+21:2X4:PCE");
    write_latin1(&dir.join("inbox/2-bad.edi"), &bad);
    // A partner without pricing terms: held.
    let held = demo()
        .replace("DEMO0001", "DEMO0003")
        .replace("5412345000013:14", "5499999999999:14")
        .replace("PO-DEMO-0001", "PO-HELD-0003");
    write_latin1(&dir.join("inbox/3-held.edi"), &held);
}

pub fn run_once(cfg: &Path) {
    let o = Command::new(BIN)
        .args(["run", "--once", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .env("COMPTOIR_TEST_READ_TOKEN", READ_TOKEN)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// A running daemon, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(cfg: &Path, port: u16, extra_env: &[(&str, &str)]) -> Daemon {
    let log = cfg.with_file_name("daemon.log");
    let mut cmd = Command::new(BIN);
    cmd.args(["run", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .env("COMPTOIR_TEST_READ_TOKEN", READ_TOKEN)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let d = Daemon { child, url, log };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "admin server never listened: {}",
            std::fs::read_to_string(&d.log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    d
}

pub struct Resp {
    pub status: u16,
    pub body: String,
    pub content_type: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<&str>) -> Resp {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt
        .block_on(comptoir::admin::client::request(
            url,
            method,
            token,
            body.map(|b| ("application/json", b.as_bytes())),
            Duration::from_secs(20),
        ))
        .unwrap();
    Resp {
        status: r.status,
        content_type: r.header("content-type").unwrap_or("").to_string(),
        body: r.text(),
    }
}
