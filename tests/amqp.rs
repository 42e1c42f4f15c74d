//! AMQP source and sink against a real RabbitMQ (`COMPTOIR_TEST_AMQP`, e.g.
//! `amqp://guest:guest@127.0.0.1:5672/%2f`). Without it every test prints a
//! loud SKIPPED notice and returns; with `COMPTOIR_REQUIRE_SERVICES` set
//! they fail instead. Every test uses its own queues and exchanges.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use comptoir::config::AmqpSource;
use comptoir::journal::{Journal, State};
use comptoir::sinks::{AmqpSink, Payload, SinkError};
use comptoir::sources::AmqpSourceTask;
use futures_lite::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicPublishOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::watch;

/// The broker URL, or `None` after a loud notice.
fn amqp_url() -> Option<String> {
    match std::env::var("COMPTOIR_TEST_AMQP") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var_os("COMPTOIR_REQUIRE_SERVICES").is_some() {
                panic!("COMPTOIR_TEST_AMQP is unset but COMPTOIR_REQUIRE_SERVICES is set");
            }
            eprintln!(
                "\n*** SKIPPED AMQP test: set COMPTOIR_TEST_AMQP \
                 (e.g. amqp://guest:guest@127.0.0.1:5672/%2f) ***\n"
            );
            None
        }
    }
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("comptoir-test-{name}-{}-{nanos}", std::process::id())
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(unique(name));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn journal(dir: &std::path::Path) -> Journal {
    Journal::open(&format!("sqlite://{}/journal.db", dir.display()), 1, None)
        .await
        .unwrap()
}

async fn channel(url: &str) -> (Connection, Channel) {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .unwrap();
    let ch = conn.create_channel().await.unwrap();
    (conn, ch)
}

async fn publish(ch: &Channel, queue: &str, body: &[u8], props: BasicProperties) {
    ch.basic_publish(
        "".into(),
        queue.into(),
        BasicPublishOptions::default(),
        body,
        props,
    )
    .await
    .unwrap()
    .await
    .unwrap();
}

/// Ready (not unacknowledged) messages in a queue.
async fn ready(ch: &Channel, queue: &str) -> u32 {
    ch.queue_declare(
        queue.into(),
        QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap()
    .message_count()
}

async fn delete(ch: &Channel, queues: &[&str]) {
    for q in queues {
        let _ = ch
            .queue_delete((*q).into(), QueueDeleteOptions::default())
            .await;
    }
}

fn source(url: &str, queue: &str) -> AmqpSource {
    AmqpSource {
        url: url.to_string(),
        queue: queue.to_string(),
        prefetch: 16,
        dead_letter_exchange: None,
        partner_header: None,
        declare: true,
        batch_size: 0,
        max_message_bytes: 1 << 20,
        reconnect_initial_ms: 50,
        reconnect_max_ms: 500,
    }
}

fn order(i: usize) -> Vec<u8> {
    format!(
        "UNA:+.? 'UNB+UNOC:3+5412345000013:14+5400000000000:14+260101:1200+AMQ{i:06}'\
         UNH+1+ORDERS:D:96A:UN:EAN008'BGM+220+PO-AMQP-{i:06}+9'UNT+3+1'UNZ+1+AMQ{i:06}'"
    )
    .into_bytes()
}

async fn wait_until<F: Fn() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, f: F) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_acks_only_after_the_journal_commit() {
    let Some(url) = amqp_url() else { return };
    let queue = unique("ack");
    let dir = workdir("ack");
    let (_conn, ch) = channel(&url).await;
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    for i in 0..3 {
        publish(&ch, &queue, &order(i), BasicProperties::default()).await;
    }
    // A journal that fails: its pool is closed, every commit errors.
    let broken = journal(&dir).await;
    broken.close().await;
    let (tx, rx) = watch::channel(false);
    let task = AmqpSourceTask {
        name: "q".into(),
        partner: Some("acme".into()),
        config: source(&url, &queue),
        journal: broken,
    };
    let h = tokio::spawn(async move { task.run(rx, false).await });
    // The consumer takes the messages (none ready) but acks none.
    wait_until("deliveries taken", || async {
        ready(&ch, &queue).await == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(true).unwrap();
    assert_eq!(h.await.unwrap(), 0);
    // Stopped without a commit: everything is back in the queue.
    wait_until("deliveries requeued", || async {
        ready(&ch, &queue).await == 3
    })
    .await;

    // A working journal: all three journaled, then acked; a duplicate too.
    publish(&ch, &queue, &order(1), BasicProperties::default()).await;
    let j = journal(&dir).await;
    let task = AmqpSourceTask {
        name: "q".into(),
        partner: Some("acme".into()),
        config: source(&url, &queue),
        journal: j.clone(),
    };
    let (_tx, rx) = watch::channel(false);
    assert_eq!(task.run(rx, true).await, 4);
    assert_eq!(ready(&ch, &queue).await, 0);
    let all = j.list(None, 100).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all.iter().filter(|m| m.state == State::Duplicate).count(),
        1
    );
    assert!(all.iter().all(|m| m.partner.as_deref() == Some("acme")));
    assert!(all.iter().all(|m| m.source == "q"));
    delete(&ch, &[&queue]).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstorable_messages_go_to_the_dead_letter_exchange() {
    let Some(url) = amqp_url() else { return };
    let queue = unique("dlx");
    let dlx = format!("{queue}.dlx");
    let dead = format!("{queue}.dead");
    let dir = workdir("dlx");
    let (_conn, ch) = channel(&url).await;
    let mut cfg = source(&url, &queue);
    cfg.dead_letter_exchange = Some(dlx.clone());
    cfg.partner_header = Some("partner".into());
    cfg.max_message_bytes = 1000;
    let j = journal(&dir).await;
    let task = AmqpSourceTask {
        name: "q".into(),
        partner: None,
        config: cfg.clone(),
        journal: j.clone(),
    };
    // First run declares the topology (queue with its DLX, dead queue).
    let (_tx, rx) = watch::channel(false);
    assert_eq!(task.run(rx, true).await, 0);
    let mut headers = FieldTable::default();
    headers.insert(
        "partner".into(),
        AMQPValue::LongString(LongString::from("acme")),
    );
    publish(&ch, &queue, b"", BasicProperties::default()).await;
    publish(&ch, &queue, &vec![b'x'; 5000], BasicProperties::default()).await;
    publish(
        &ch,
        &queue,
        &order(7),
        BasicProperties::default()
            .with_headers(headers)
            .with_message_id("m-7".into()),
    )
    .await;
    let (_tx, rx) = watch::channel(false);
    assert_eq!(task.run(rx, true).await, 1);
    assert_eq!(ready(&ch, &queue).await, 0);
    assert_eq!(
        ready(&ch, &dead).await,
        2,
        "empty and oversized dead-lettered"
    );
    let all = j.list(None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].partner.as_deref(), Some("acme"));
    assert_eq!(
        all[0].source_ref.as_deref(),
        Some(format!("{queue}:m-7").as_str())
    );
    delete(&ch, &[&queue, &dead]).await;
    let _ = ch
        .exchange_delete(dlx.as_str().into(), Default::default())
        .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_waits_for_the_broker_with_backoff() {
    let Some(url) = amqp_url() else { return };
    // An address where nothing listens: the source retries until stopped.
    let dir = workdir("backoff");
    let j = journal(&dir).await;
    let mut cfg = source("amqp://guest:guest@127.0.0.1:1/%2f", "nowhere");
    cfg.reconnect_initial_ms = 20;
    cfg.reconnect_max_ms = 100;
    let task = AmqpSourceTask {
        name: "q".into(),
        partner: None,
        config: cfg,
        journal: j,
    };
    let (tx, rx) = watch::channel(false);
    let h = tokio::spawn(async move { task.run(rx, false).await });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!h.is_finished());
    tx.send(true).unwrap();
    let n = tokio::time::timeout(Duration::from_secs(5), h)
        .await
        .expect("stops promptly")
        .unwrap();
    assert_eq!(n, 0);
    let _ = url;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Consumes up to `n` messages from `queue` (acking them).
async fn take(ch: &Channel, queue: &str, n: usize) -> Vec<lapin::message::Delivery> {
    let tag = unique("take");
    let mut c = ch
        .basic_consume(
            queue.into(),
            tag.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), c.next()).await {
            Ok(Some(Ok(d))) => {
                d.acker.ack(BasicAckOptions::default()).await.unwrap();
                out.push(d);
            }
            _ => break,
        }
    }
    // A consumer left registered would keep receiving (and hiding) the
    // messages a later `take` waits for.
    let _ = ch
        .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
        .await;
    out
}

fn sink(url: &str, routing_key: &str) -> AmqpSink {
    AmqpSink::new(
        "out",
        comptoir::config::AmqpSink {
            url: url.to_string(),
            exchange: String::new(),
            routing_key: routing_key.to_string(),
            priced: true,
            confirm_timeout_ms: 5_000,
        },
    )
}

fn payload(id: i64) -> Payload<'static> {
    Payload {
        message_id: id,
        partner: Some("acme".into()),
        canonical_json: format!("[{{\"canonical\":{id}}}]").into(),
        priced_json: Some(format!("[{{\"priced\":{id}}}]").into()),
    }
}

/// Runs a blocking delivery on a blocking thread of the runtime.
async fn deliver(s: &std::sync::Arc<AmqpSink>, p: Payload<'static>) -> Result<(), SinkError> {
    let s = std::sync::Arc::clone(s);
    tokio::task::spawn_blocking(move || s.deliver(&p))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_publishes_with_confirms_and_message_ids() {
    let Some(url) = amqp_url() else { return };
    let queue = unique("sink");
    let (_conn, ch) = channel(&url).await;
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let s = std::sync::Arc::new(sink(&url, &queue));
    deliver(&s, payload(41)).await.unwrap();
    let mut p = payload(42);
    p.priced_json = None;
    deliver(&s, p).await.unwrap();
    let got = take(&ch, &queue, 2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].data, b"[{\"priced\":41}]");
    assert_eq!(got[1].data, b"[{\"canonical\":42}]");
    let ids: Vec<String> = got
        .iter()
        .map(|d| d.properties.message_id().as_ref().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["comptoir-41", "comptoir-42"]);
    assert_eq!(*got[0].properties.delivery_mode(), Some(2));

    // Unroutable (no such queue): returned by the broker, a retryable error.
    let lost = std::sync::Arc::new(sink(&url, &unique("nowhere")));
    let e = deliver(&lost, payload(43)).await.unwrap_err();
    assert!(matches!(e, SinkError::Transient(_)), "{e}");
    assert!(e.to_string().contains("unroutable"), "{e}");
    delete(&ch, &[&queue]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_nack_is_a_retryable_error() {
    let Some(url) = amqp_url() else { return };
    let queue = unique("nack");
    let (_conn, ch) = channel(&url).await;
    // A full queue that refuses publishes: the broker nacks them.
    let mut args = FieldTable::default();
    args.insert("x-max-length".into(), AMQPValue::LongInt(1));
    args.insert(
        "x-overflow".into(),
        AMQPValue::LongString(LongString::from("reject-publish")),
    );
    ch.queue_declare(queue.as_str().into(), QueueDeclareOptions::default(), args)
        .await
        .unwrap();
    let s = std::sync::Arc::new(sink(&url, &queue));
    deliver(&s, payload(1)).await.unwrap();
    let e = deliver(&s, payload(2)).await.unwrap_err();
    assert!(matches!(e, SinkError::Transient(_)), "{e}");
    assert!(e.to_string().contains("nacked"), "{e}");
    // Room again: the retry goes through on the same sink.
    assert_eq!(take(&ch, &queue, 1).await.len(), 1);
    deliver(&s, payload(2)).await.unwrap();
    let got = take(&ch, &queue, 1).await;
    assert_eq!(
        got[0].properties.message_id().as_ref().unwrap().as_str(),
        "comptoir-2"
    );
    delete(&ch, &[&queue]).await;
}

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A daemon configuration: AMQP source → SQLite journal → file sink, with
/// the partner answered in a directory channel.
fn daemon_config(dir: &std::path::Path, url: &str, queue: &str) -> PathBuf {
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
[[source]]
name = "queue"
type = "amqp"
url = "{url}"
queue = "{queue}"
prefetch = 32
[[partner]]
id = "acme"
identifiers = ["5412345000013"]
pricing_client = "ACME"
outbound_channel = "answers"
[partner.acknowledgements]
contrl = true
aperak = true
ordrsp = true
[[route]]
name = "orders"
price = true
sinks = ["outbox"]
[[sink]]
name = "outbox"
type = "file"
path = "{d}/outbox"
fsync = false
[[sink]]
name = "answers"
type = "file"
path = "{d}/answers"
fsync = false
"#,
        d = dir.display(),
        root = ROOT,
    );
    let p = dir.join("comptoir.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_consumes_amqp_and_answers_the_partner_once() {
    let Some(url) = amqp_url() else { return };
    let queue = unique("daemon");
    let dir = workdir("daemon");
    let cfg = daemon_config(&dir, &url, &queue);
    let (_conn, ch) = channel(&url).await;
    // Same declaration as the source's (durable, no arguments).
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    let daemon = std::sync::Arc::new(comptoir::pipeline::Daemon::open(&cfg).await.unwrap());
    let (tx, rx) = watch::channel(false);
    let d = std::sync::Arc::clone(&daemon);
    let run = tokio::spawn(async move { d.run(rx, false).await });
    let (_conn, ch) = channel(&url).await;
    let edi = std::fs::read(format!("{ROOT}/fixtures/edifact/orders_demo.edi")).unwrap();
    publish(&ch, &queue, &edi, BasicProperties::default()).await;
    let j = daemon.journal().clone();
    wait_until("delivered", || async {
        j.list(Some(State::Delivered), 10)
            .await
            .map(|l| l.len() == 1)
            .unwrap_or(false)
    })
    .await;
    let id = j.list(Some(State::Delivered), 10).await.unwrap()[0].id;
    assert!(dir.join(format!("outbox/{id}.json")).is_file());
    for kind in ["contrl", "aperak", "ordrsp"] {
        let f = dir.join(format!("answers/{id}.{kind}.1.edi"));
        // UNOC answers are Latin-1.
        let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("UNA"), "{text}");
        assert!(text.contains(&kind.to_uppercase()), "{text}");
        // Addressed back to the sender.
        assert!(text.contains("+5412345000013"), "{text}");
    }
    let answers: Vec<_> = j
        .deliveries(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.sink.starts_with("answer:"))
        .collect();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert!(answers.iter().all(|d| d.outcome == "ok"));
    tx.send(true).unwrap();
    let stats = run.await.unwrap().unwrap();
    assert_eq!(stats.received, 1);
    delete(&ch, &[&queue]).await;
    let _ = std::fs::remove_dir_all(&dir);
}
