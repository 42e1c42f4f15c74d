//! Checks of the deployment files in `deploy/` (no container engine or
//! cluster runs here):
//!
//! - the systemd unit passes `systemd-analyze verify` (when the tool is
//!   installed; the unit's binary path is pointed at the built binary) and
//!   has the required hardening settings;
//! - the Kubernetes manifests are well-formed YAML documents (a structural
//!   check: indentation, no tabs, `apiVersion`/`kind`/`metadata`) with the
//!   probes, replicas and Secret references the deployment relies on, and
//!   the configuration embedded in the ConfigMap parses and validates;
//! - the Dockerfile is multi-stage, runs as a non-root user and has a
//!   HEALTHCHECK.

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BIN: &str = env!("CARGO_BIN_EXE_comptoir");

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn systemd_unit_is_hardened_and_verifies() {
    let unit = read("deploy/comptoir.service");
    for needed in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=",
        "NoNewPrivileges=yes",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "TimeoutStopSec=",
        "StateDirectory=comptoir",
    ] {
        assert!(unit.contains(needed), "comptoir.service lacks {needed}");
    }
    // TimeoutStopSec must exceed the default grace period.
    let stop: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim().parse().ok())
        .expect("TimeoutStopSec in seconds");
    let grace = comptoir::config::DaemonConfig::default().grace_period_secs;
    assert!(
        stop > grace,
        "TimeoutStopSec {stop} <= grace period {grace}"
    );

    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("\n*** SKIPPED systemd-analyze verify: systemd-analyze is not installed ***\n");
        return;
    };
    assert!(out.status.success());
    let dir: PathBuf = std::env::temp_dir().join(format!("comptoir-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("comptoir.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/comptoir", BIN)).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Lines about the unit itself (not about unrelated host units).
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("comptoir.service"))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Structural YAML check: returns the documents' top-level keys.
fn yaml_documents(name: &str, text: &str) -> Vec<Vec<String>> {
    let mut docs = vec![Vec::new()];
    let mut in_block: Option<usize> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        assert!(!line.contains('\t'), "{name}:{n}: tab in YAML");
        assert!(!line.ends_with(' '), "{name}:{n}: trailing space in YAML");
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if let Some(min) = in_block {
            if indent >= min {
                continue; // literal block scalar content
            }
            in_block = None;
        }
        if line == "---" {
            docs.push(Vec::new());
            continue;
        }
        assert!(indent % 2 == 0, "{name}:{n}: odd indentation");
        let body = line.trim_start().trim_start_matches("- ");
        if body.ends_with(": |") || body.ends_with(": >") {
            in_block = Some(indent + 1);
        }
        if indent == 0 {
            let key = line.split(':').next().unwrap_or_default();
            assert!(
                line.contains(':') && !key.contains(' '),
                "{name}:{n}: expected `key:` at top level"
            );
            docs.last_mut().unwrap().push(key.to_string());
        }
    }
    docs.retain(|d| !d.is_empty());
    for d in &docs {
        for k in ["apiVersion", "kind", "metadata"] {
            assert!(d.iter().any(|x| x == k), "{name}: a document lacks {k}");
        }
    }
    docs
}

#[test]
fn kubernetes_manifests_are_complete() {
    let dir = Path::new(ROOT).join("deploy/k8s");
    let mut kinds = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(&p).unwrap();
            yaml_documents(&p.display().to_string(), &text);
            for l in text.lines().filter(|l| l.starts_with("kind:")) {
                kinds.push(l["kind:".len()..].trim().to_string());
            }
        }
    }
    kinds.sort();
    assert_eq!(kinds, vec!["ConfigMap", "Deployment", "Secret"]);

    let dep = read("deploy/k8s/deployment.yaml");
    for needed in [
        "replicas: 2",
        "readinessProbe:",
        "livenessProbe:",
        "runAsNonRoot: true",
        "COMPTOIR_INSTANCE_ID",
        "COMPTOIR_JOURNAL_URL",
        "COMPTOIR_AMQP_URL",
        "secretKeyRef:",
        "terminationGracePeriodSeconds:",
    ] {
        assert!(dep.contains(needed), "deployment.yaml lacks {needed}");
    }
    let secret = read("deploy/k8s/secret.yaml");
    for key in ["journal-url:", "amqp-url:"] {
        assert!(secret.contains(key), "secret.yaml lacks {key}");
    }

    // The configuration in the ConfigMap parses and validates.
    let cm = read("deploy/k8s/configmap.yaml");
    let start = cm.find("comptoir.toml: |").expect("comptoir.toml key") + "comptoir.toml: |".len();
    let toml: String = cm[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| l.get(4..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let config = comptoir::config::Config::parse(&toml)
        .unwrap_or_else(|e| panic!("ConfigMap comptoir.toml: {e}\n{toml}"));
    let issues = config.validate(Path::new("configmap.yaml"));
    assert!(issues.is_empty(), "{issues:?}");
    assert_eq!(
        config.journal.url_env.as_deref(),
        Some("COMPTOIR_JOURNAL_URL")
    );
    let grace = config.daemon.grace_period_secs;
    let term: u64 = dep
        .lines()
        .find_map(|l| l.trim().strip_prefix("terminationGracePeriodSeconds:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap();
    assert!(
        term > grace,
        "terminationGracePeriodSeconds {term} <= {grace}"
    );
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_healthcheck() {
    let d = read("deploy/Dockerfile");
    let froms: Vec<&str> = d.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "{froms:?}");
    assert!(froms[0].contains("rust:") && froms[0].contains(" AS build"));
    assert!(froms[1].contains("debian:") && froms[1].contains("-slim"));
    assert!(d.contains("COPY --from=build"));
    let user = d
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
    assert!(d.contains("HEALTHCHECK "));
    // Every path the image copies exists in the repository.
    for l in d
        .lines()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let parts: Vec<&str> = l.split_whitespace().collect();
        for src in &parts[1..parts.len() - 1] {
            assert!(
                Path::new(ROOT).join(src).exists(),
                "COPY source {src} missing"
            );
        }
    }
}
