//! Unit tests of configuration parsing and validation.

use std::path::Path;

use super::*;

#[test]
fn example_and_demo_parse_and_validate() {
    for f in ["config/comptoir.example.toml", "config/demo.toml"] {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        let c = Config::parse(&text).unwrap();
        assert!(c.validate(&p).is_empty(), "{f}: {:?}", c.validate(&p));
    }
}

#[test]
fn unknown_field_is_an_error_with_location() {
    let dir = std::env::temp_dir().join(format!("comptoir-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("bad.toml");
    std::fs::write(&p, "[journal]\nurl = \"sqlite://x.db\"\nurll = 1\n").unwrap();
    let e = Config::load(&p).unwrap_err().to_string();
    assert!(e.contains("bad.toml"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    assert!(e.contains("urll"), "{e}");
}

#[test]
fn unknown_field_in_source_or_sink_is_an_error() {
    let e = Config::parse("[[sink]]\nname = \"s\"\ntype = \"file\"\npath = \"o\"\npaht = 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("paht"), "{e}");
    let e = Config::parse("[[source]]\nname = \"s\"\ntype = \"ftp\"\npath = \"o\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("ftp"), "{e}");
}

#[test]
fn cross_references_are_checked() {
    let text = r#"
[[partner]]
id = "a"
identifiers = ["1"]
outbound_channel = "nope"
[[route]]
name = "r"
partners = ["b"]
document_types = ["ordr"]
sinks = ["missing"]
[[sink]]
name = "s"
type = "file"
path = "out"
[retry]
jitter = 2.0
"#;
    let c = Config::parse(text).unwrap();
    let issues = c.validate(Path::new("c.toml"));
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "partner[0].outbound_channel",
            "route[0].partners",
            "route[0].document_types",
            "route[0].sinks",
            "retry.jitter"
        ]
    );
}

#[test]
fn first_matching_route_wins() {
    let text = r#"
[[partner]]
id = "a"
[[route]]
name = "orders"
partners = ["a"]
document_types = ["order"]
price = true
sinks = ["s"]
[[route]]
name = "rest"
sinks = ["s"]
[[sink]]
name = "s"
type = "file"
path = "out"
"#;
    let c = Config::parse(text).unwrap();
    assert_eq!(
        c.route_for(Some("a"), DocumentType::Order).unwrap().name,
        "orders"
    );
    assert_eq!(
        c.route_for(Some("a"), DocumentType::Invoice).unwrap().name,
        "rest"
    );
    assert_eq!(c.route_for(None, DocumentType::Order).unwrap().name, "rest");
}

#[test]
fn references_into_mappings_and_pricing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = format!(
        r#"
[paths]
mappings = "{m}"
pricing = "{p}"
[[partner]]
id = "acme"
pricing_client = "ACME"
price_check = "hold"
[[partner]]
id = "ghost"
pricing_client = "NOBODY"
mapping_partner = "nobody"
[[partner]]
id = "bistrot"
pricing_client = "BISTROT"
price_check = "hold"
"#,
        m = root.join("mappings").display(),
        p = root.join("config/pricing").display()
    );
    let c = Config::parse(&text).unwrap();
    let e = c.check_references(Path::new("c.toml")).unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "partner[1].mapping_partner",
            "partner[1].pricing_client",
            "partner[2].price_check"
        ]
    );
}

#[test]
fn retry_delays_grow_and_cap() {
    let r = RetryConfig {
        max_attempts: 5,
        base_delay_ms: 100,
        max_delay_ms: 1_000,
        jitter: 0.0,
    };
    assert_eq!(r.delay_ms(1, 0.5), 100);
    assert_eq!(r.delay_ms(2, 0.5), 200);
    assert_eq!(r.delay_ms(5, 0.5), 1_000);
    assert_eq!(r.delay_ms(60, 0.5), 1_000);
    let j = RetryConfig { jitter: 0.5, ..r };
    assert_eq!(j.delay_ms(1, 0.0), 50);
    assert!(j.delay_ms(1, 0.999) <= 150);
}

#[test]
fn sftp_source_needs_pinned_host_keys_and_auth() {
    let base =
        "[[source]]\nname = \"s\"\ntype = \"sftp\"\nhost = \"h\"\nuser = \"u\"\npath = \"/out\"\n";
    let c = Config::parse(base).unwrap();
    let issues = c.validate(Path::new("c.toml"));
    let text: Vec<String> = issues.iter().map(|i| i.to_string()).collect();
    assert!(text.iter().any(|t| t.contains("host_keys")), "{text:?}");
    assert!(
        text.iter().any(|t| t.contains("key_file or password_env")),
        "{text:?}"
    );
    let ok = format!(
        "{base}key_file = \"k\"\nhost_keys = [\"SHA256:abc\"]\npattern = \"*.edi\"\narchive = \"/out/archive\"\n"
    );
    let c = Config::parse(&ok).unwrap();
    assert!(c.validate(Path::new("c.toml")).is_empty());
    let SourceKind::Sftp(s) = &c.sources[0].kind else {
        panic!("sftp expected")
    };
    assert_eq!(
        (s.port, s.poll_interval_ms, s.pattern.as_str()),
        (22, 500, "*.edi")
    );
    let bad = ok.replace("SHA256:abc", "MD5:aa:bb");
    let issues = Config::parse(&bad).unwrap().validate(Path::new("c.toml"));
    assert_eq!(issues.len(), 1, "{issues:?}");
}

#[test]
fn journal_url_from_environment() {
    let dir = std::env::temp_dir().join(format!("comptoir-cfg-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("env.toml");
    std::fs::write(
        &p,
        "[journal]\nurl_env = \"COMPTOIR_TEST_UNSET_JOURNAL_URL_VAR\"\n",
    )
    .unwrap();
    let e = Config::load(&p).unwrap_err().to_string();
    assert!(e.contains("COMPTOIR_TEST_UNSET_JOURNAL_URL_VAR"), "{e}");
    // PATH is always set; its value is not a journal URL, so validation
    // reports the URL that was read from the variable.
    std::fs::write(&p, "[journal]\nurl_env = \"PATH\"\n").unwrap();
    let e = Config::load(&p).unwrap_err().to_string();
    assert!(e.contains("journal.url"), "{e}");
}

#[test]
fn sftp_sink_needs_pinned_host_keys_and_auth() {
    let base =
        "[[sink]]\nname = \"s\"\ntype = \"sftp\"\nhost = \"h\"\nuser = \"u\"\npath = \"/in\"\n";
    let issues = Config::parse(base).unwrap().validate(Path::new("c.toml"));
    let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
    assert_eq!(fields, ["sink[0].host_keys", "sink[0]"], "{issues:?}");
    let ok =
        format!("{base}password_env = \"P\"\nhost_keys = [\"SHA256:abc\"]\ncontent = \"priced\"\n");
    let c = Config::parse(&ok).unwrap();
    assert!(c.validate(Path::new("c.toml")).is_empty());
    let SinkKind::Sftp(s) = &c.sinks[0].kind else {
        panic!("sftp expected")
    };
    assert_eq!((s.port, s.timeout_secs), (22, 30));
    assert_eq!(s.content, Some(SftpContent::Priced));
    assert!(Config::parse(&format!("{ok}contnet = 1\n")).is_err());
}

#[test]
fn outbound_channel_must_carry_answers() {
    let text = r#"
[[partner]]
id = "a"
outbound_channel = "hook"
[[partner]]
id = "b"
outbound_channel = "drop"
[[sink]]
name = "hook"
type = "webhook"
url = "http://h/x"
[[sink]]
name = "drop"
type = "sftp"
host = "h"
user = "u"
key_file = "k"
host_keys = ["SHA256:abc"]
path = "/in"
"#;
    let issues = Config::parse(text).unwrap().validate(Path::new("c.toml"));
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].field, "partner[0].outbound_channel");
    assert!(
        issues[0].message.contains("file, amqp or sftp"),
        "{issues:?}"
    );
}

#[test]
fn sap_modes_are_checked() {
    let sap = "[[sink]]\nname = \"sap\"\ntype = \"sap\"\n";
    let odata = format!(
        "{sap}mode = \"odata\"\nurl = \"https://s4/x\"\nsales_organization = \"1\"\n\
         distribution_channel = \"1\"\norganization_division = \"1\"\n"
    );
    let fields = |text: &str| -> Vec<String> {
        Config::parse(text)
            .unwrap()
            .validate(Path::new("c.toml"))
            .into_iter()
            .map(|i| i.field)
            .collect()
    };
    // Neither basic nor OAuth2.
    assert_eq!(fields(&odata), ["sink[0].user"]);
    let basic = format!("{odata}user = \"u\"\npassword_env = \"P\"\n");
    assert!(fields(&basic).is_empty());
    let oauth = format!(
        "{odata}oauth2 = {{ token_url = \"https://t/oauth/token\", client_id = \"c\", \
         client_secret_env = \"S\", scope = \"API\" }}\n"
    );
    assert!(fields(&oauth).is_empty());
    let both = format!("{oauth}user = \"u\"\n");
    assert_eq!(fields(&both), ["sink[0].oauth2"]);
    let bad_url = oauth.replace("https://t/oauth/token", "t/oauth/token");
    assert_eq!(fields(&bad_url), ["sink[0].oauth2.token_url"]);
    // IDoc over SFTP: the SFTP sink's settings, without `content`.
    let sftp = format!(
        "{sap}mode = \"idoc_sftp\"\nhost = \"h\"\nuser = \"u\"\npath = \"/idoc\"\n\
         key_file = \"k\"\nhost_keys = [\"SHA256:abc\"]\n"
    );
    assert!(fields(&sftp).is_empty());
    assert_eq!(
        fields(&format!("{sftp}content = \"both\"\n")),
        ["sink[0].content"]
    );
    assert_eq!(
        fields(&sftp.replace("[\"SHA256:abc\"]", "[]")),
        ["sink[0].host_keys"]
    );
    assert!(Config::parse(&format!("{sftp}bogus = 1\n")).is_err());
}
