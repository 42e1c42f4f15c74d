//! A throwaway OpenSSH server for the SFTP tests.
//!
//! [`Sshd::new`] starts `sshd` (Debian `openssh-server`) on a random
//! loopback port, with host and user keys made by `ssh-keygen` in a
//! temporary directory and its own `sshd_config`; the SFTP user is the
//! current user with the test key. The server runs as a child process
//! (`-D -e`), killed (with its session processes) when dropped.
//! [`enabled`] gates the tests on `COMPTOIR_TEST_SFTP=1`.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comptoir::config::{SftpSink, SftpSource};

pub const SSHD: &str = "/usr/sbin/sshd";

/// True when the SFTP tests should run (`COMPTOIR_TEST_SFTP=1`); prints a
/// SKIPPED notice otherwise, or panics under `COMPTOIR_REQUIRE_SERVICES`.
pub fn enabled() -> bool {
    if std::env::var("COMPTOIR_TEST_SFTP").is_ok_and(|v| v == "1") {
        return true;
    }
    if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() {
        panic!("COMPTOIR_TEST_SFTP is not 1 but COMPTOIR_REQUIRE_SERVICES is set");
    }
    eprintln!(
        "\n*** SKIPPED SFTP tests: set COMPTOIR_TEST_SFTP=1 (needs {SSHD} from \
         openssh-server and ssh-keygen; .ci/run installs them) ***\n"
    );
    false
}

/// A passphrase-less ed25519 key pair at `path` and `path.pub`.
pub fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "comptoir-test", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success(), "ssh-keygen failed");
}

/// The `SHA256:…` fingerprint of a public key file.
pub fn fingerprint(pub_key: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(pub_key)
        .output()
        .expect("ssh-keygen -lf runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_string()
}

/// A throwaway OpenSSH server.
pub struct Sshd {
    /// Its keys, configuration, log and `remote/` tree.
    pub dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
    /// The host key's fingerprint.
    pub host_fp: String,
}

impl Sshd {
    /// A server for the test `name`, started.
    pub fn new(name: &str) -> Sshd {
        let dir = std::env::temp_dir().join(format!("comptoir-sftp-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("remote/in")).unwrap();
        keygen(&dir.join("host_ed25519"));
        keygen(&dir.join("user_ed25519"));
        std::fs::copy(dir.join("user_ed25519.pub"), dir.join("authorized_keys")).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\n\
                 AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nUsePAM no\n\
                 StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nSubsystem sftp internal-sftp\nLogLevel INFO\n",
                d = dir.display()
            ),
        )
        .unwrap();
        // sshd's privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let host_fp = fingerprint(&dir.join("host_ed25519.pub"));
        let mut s = Sshd {
            dir,
            port,
            child: None,
            host_fp,
        };
        s.start();
        s
    }

    pub fn start(&mut self) {
        let log = std::fs::File::create(self.dir.join("sshd.log")).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-f"])
            .arg(self.dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("sshd starts (apt-get install openssh-server)");
        self.child = Some(child);
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("sshd exited ({st}): {}", self.log());
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "sshd did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server and the session processes it forked (found by
    /// parent pid in /proc), as a real server restart would end them.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pids = descendants(c.id());
            let _ = c.kill();
            let _ = c.wait();
            for pid in pids {
                let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            }
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.join("remote/in")
    }

    pub fn archive(&self) -> PathBuf {
        self.dir.join("remote/archive")
    }

    /// The login: the current user.
    pub fn user(&self) -> String {
        std::env::var("USER").unwrap_or_else(|_| "root".into())
    }

    /// `remote/out`, where the SFTP sink tests upload.
    pub fn outbox(&self) -> PathBuf {
        self.dir.join("remote/out")
    }

    /// An SFTP sink uploading to `remote/out` with the test key.
    pub fn sink(&self) -> SftpSink {
        SftpSink {
            host: "127.0.0.1".into(),
            port: self.port,
            user: self.user(),
            key_file: Some(self.dir.join("user_ed25519")),
            key_passphrase_env: None,
            password_env: None,
            host_keys: vec![self.host_fp.clone()],
            path: self.outbox().display().to_string(),
            content: None,
            timeout_secs: 5,
        }
    }

    /// An SFTP source polling `remote/in` with the test key.
    pub fn source(&self) -> SftpSource {
        let user = self.user();
        SftpSource {
            host: "127.0.0.1".into(),
            port: self.port,
            user,
            key_file: Some(self.dir.join("user_ed25519")),
            key_passphrase_env: None,
            password_env: None,
            host_keys: vec![self.host_fp.clone()],
            path: self.inbox().display().to_string(),
            pattern: "*.edi".into(),
            archive: Some(self.archive().display().to_string()),
            ignore_suffixes: vec![".part".into(), ".tmp".into()],
            poll_interval_ms: 50,
            batch_size: 16,
            timeout_secs: 5,
            reconnect_base_ms: 50,
            reconnect_max_ms: 400,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every process descending from `root` (by parent pid).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid …; comm may hold spaces: split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent.push((pid, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &parent {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// The sorted file names in a directory (empty when it is missing).
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|r| {
            r.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
