//! The daemon: sources → journal → workers (parse, map, price) → sinks.
//!
//! [`Daemon::open`] loads and checks the configuration, the mappings and the
//! pricing terms, opens the journal and releases the leases this instance's
//! previous run left (by instance id, see [`instance_id`]; other instances
//! sharing the journal keep theirs, which expire on their own). [`Daemon::run`]
//! starts the sources and the worker loop: claim a batch of due messages
//! under a lease, process them on blocking threads ([`process::begin`]:
//! parse, map, price, start every sink), await the batch's AMQP publisher
//! confirms together ([`process::InFlight::settle`]), record the outcomes
//! ([`process::finish`]), and commit them all in one journal transaction,
//! queued on the journal queue (`queue`) while the next batch, claimed
//! ahead, is processed. Shutdown is explicit:
//! a `watch` channel turned to `true` stops intake; the batch in flight is
//! finished and committed, anything else stays non-final in the journal and
//! resumes at the next start. [`run_until_signal`] wires SIGTERM/SIGINT
//! (stop, bounded by the grace period) and SIGHUP ([`Daemon::reload`]:
//! configuration, mappings and terms swapped atomically; in-flight work
//! keeps its snapshot).

pub mod process;
mod queue;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use queue::{Claimer, JournalQueue, Pending};

use crate::config::{Config, ConfigError, SourceKind};
use crate::journal::{Journal, JournalError, Message, State, Update};
use crate::sources::{AmqpSourceTask, DirectorySourceTask, HttpSourceTask, SftpSourceTask};

pub use process::{process, Runtime};

/// Batches kept coming after a full one being processed (a backlog):
/// claimed, or to be claimed by a journal job queued. With two, the commit
/// of a batch and the claim after it have the processing time of two
/// batches to get done. Without a backlog (the batch was not full) nothing
/// is claimed ahead: the next batch is the claim that follows this batch's
/// commit, which takes the messages that arrived meanwhile. Claiming ahead
/// there only took the few messages there were earlier, and those arriving
/// just after waited one batch more (AMQP bench at 1,000 msg/s, 5 runs
/// each: p99 71–175 ms, median 80, against 91–636 ms, median 167, when
/// one batch was kept coming; benches/README.md, "AMQP").
const BATCHES_AHEAD: usize = 2;

/// Journal jobs (commits, claims) the run loop lets wait in the queue
/// before it waits for them itself.
const MAX_PENDING_JOBS: usize = 3;

/// Why the daemon could not start or stopped on error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Journal(#[from] JournalError),
    #[error("source {name}: {kind} sources are not available yet")]
    UnsupportedSource { name: String, kind: &'static str },
    #[error("signal handling: {0}")]
    Signal(std::io::Error),
    #[error("instance id file {path}: {error}")]
    InstanceId {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("admin server: cannot listen on {addr}: {source}")]
    Admin {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// Counts of a run, per final state reached.
#[derive(Debug, Default, Clone)]
pub struct RunStats {
    pub received: u64,
    pub processed: u64,
    pub by_state: BTreeMap<String, u64>,
}

/// A configured daemon, ready to run.
#[derive(Debug)]
pub struct Daemon {
    config_path: PathBuf,
    journal: Journal,
    runtime: Arc<RwLock<Arc<Runtime>>>,
    owner: String,
    metrics: Arc<crate::admin::Metrics>,
    tap: tokio::sync::broadcast::Sender<crate::admin::TapEvent>,
}

/// Loads and checks a configuration and everything it refers to.
pub fn load_runtime(config_path: &Path) -> Result<Runtime, ConfigError> {
    let config = Config::load(config_path)?;
    let (registry, terms) = config.check_references(config_path)?;
    Ok(Runtime::new(config, registry, Arc::new(terms)))
}

impl Daemon {
    /// Loads the configuration and opens the journal.
    pub async fn open(config_path: &Path) -> Result<Daemon, DaemonError> {
        let runtime = load_runtime(config_path)?;
        for s in &runtime.config.sources {
            if !matches!(
                s.kind,
                SourceKind::Directory(_)
                    | SourceKind::Sftp(_)
                    | SourceKind::Amqp(_)
                    | SourceKind::Http(_)
            ) {
                return Err(DaemonError::UnsupportedSource {
                    name: s.name.clone(),
                    kind: s.kind.name(),
                });
            }
        }
        let j = &runtime.config.journal;
        let journal = Journal::open_config(j).await?;
        let owner = if journal.backend() == "sqlite"
            && runtime.config.daemon.instance_id.is_none()
            && std::env::var_os("COMPTOIR_INSTANCE_ID").is_none()
        {
            // A SQLite journal is a local file with one daemon on it:
            // whatever a previous run held is ours.
            "local".to_string()
        } else {
            instance_id(&runtime.config.daemon)?
        };
        let released = journal.release_own_leases(&owner).await?;
        if released > 0 {
            tracing::info!("resuming {released} message(s) leased by a previous run of {owner}");
        }
        Ok(Daemon {
            config_path: config_path.to_path_buf(),
            journal,
            runtime: Arc::new(RwLock::new(Arc::new(runtime))),
            owner,
            metrics: Arc::default(),
            tap: tokio::sync::broadcast::channel(1024).0,
        })
    }

    /// This instance's id (owner of its leases).
    pub fn instance(&self) -> &str {
        &self.owner
    }

    /// True when this daemon is the only one on its journal: a SQLite
    /// file without a configured instance id (owner `local`). Its
    /// directory sources then need no file leases.
    pub fn exclusive(&self) -> bool {
        self.owner == "local" && self.journal.backend() == "sqlite"
    }

    /// The journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Pipeline metrics (for `/metrics`).
    pub fn metrics(&self) -> Arc<crate::admin::Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The channel every committed outcome is published on (`/api/tap`).
    pub fn tap(&self) -> tokio::sync::broadcast::Sender<crate::admin::TapEvent> {
        self.tap.clone()
    }

    /// The admin server's state over this daemon (journal, runtime, tokens).
    pub fn admin_state(&self) -> crate::admin::AdminState {
        let rt = Arc::clone(&self.runtime);
        let handle: crate::admin::RuntimeHandle = Arc::new(move || match rt.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        });
        let tokens = self
            .runtime()
            .config
            .admin
            .as_ref()
            .map(|a| a.tokens.clone())
            .unwrap_or_default();
        crate::admin::AdminState::new(
            self.journal.clone(),
            &tokens,
            Some(handle),
            self.metrics(),
            self.tap(),
        )
    }

    /// Starts the admin server (when `[admin]` is configured) and the alert
    /// evaluator (when rules are), both stopping with `shutdown`.
    async fn start_admin(
        &self,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<Vec<JoinHandle<()>>, DaemonError> {
        let rt = self.runtime();
        let mut handles = Vec::new();
        if let Some(admin) = &rt.config.admin {
            let listener =
                crate::admin::bind(&admin.listen)
                    .await
                    .map_err(|source| DaemonError::Admin {
                        addr: admin.listen.clone(),
                        source,
                    })?;
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| admin.listen.clone());
            tracing::info!(%addr, "admin server listening");
            let state = self.admin_state();
            let rx = shutdown.clone();
            handles.push(tokio::spawn(async move {
                if let Err(e) = crate::admin::serve(listener, state, rx).await {
                    tracing::error!("admin server stopped: {e}");
                }
            }));
        }
        if !rt.config.alerts.rules.is_empty() {
            let alerts = rt.config.alerts.clone();
            let journal = self.journal.clone();
            let rx = shutdown.clone();
            handles.push(tokio::spawn(async move {
                crate::alerts::run(alerts, journal, rx).await;
            }));
        }
        Ok(handles)
    }

    /// Starts one scheduled task per `[[export]]` with an interval (ERP →
    /// partners), each stopping with `shutdown`.
    fn start_exports(&self, shutdown: &watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
        let rt = self.runtime();
        rt.config
            .exports
            .iter()
            .filter(|e| e.interval_secs > 0)
            .map(|e| {
                let shared = Arc::clone(&self.runtime);
                let current = move || match shared.read() {
                    Ok(g) => Arc::clone(&g),
                    Err(p) => Arc::clone(&p.into_inner()),
                };
                let task = crate::exports::run_schedule(
                    e.name.clone(),
                    current,
                    self.journal.clone(),
                    shutdown.clone(),
                );
                tokio::spawn(task)
            })
            .collect()
    }

    /// The runtime in force.
    pub fn runtime(&self) -> Arc<Runtime> {
        match self.runtime.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Reloads configuration, mappings and pricing terms; on error the
    /// current ones stay in force. Sources are not restarted (a change of
    /// sources needs a restart).
    pub fn reload(&self) -> Result<(), ConfigError> {
        let fresh = Arc::new(load_runtime(&self.config_path)?);
        match self.runtime.write() {
            Ok(mut g) => *g = fresh,
            Err(p) => *p.into_inner() = fresh,
        }
        Ok(())
    }

    fn start_sources(&self, shutdown: &watch::Receiver<bool>, once: bool) -> Vec<JoinHandle<u64>> {
        let rt = self.runtime();
        let lease_ms = (rt.config.daemon.lease_secs.max(1) * 1000) as i64;
        let mut handles = Vec::new();
        for s in &rt.config.sources {
            let rx = shutdown.clone();
            match &s.kind {
                SourceKind::Directory(d) => {
                    let task = DirectorySourceTask {
                        name: s.name.clone(),
                        partner: s.partner.clone(),
                        config: d.clone(),
                        journal: self.journal.clone(),
                        owner: self.owner.clone(),
                        lease_ms,
                        lease_files: !self.exclusive(),
                    };
                    handles.push(tokio::spawn(async move { task.run(rx, once).await }));
                }
                SourceKind::Sftp(f) => {
                    let task = SftpSourceTask {
                        name: s.name.clone(),
                        partner: s.partner.clone(),
                        config: f.clone(),
                        journal: self.journal.clone(),
                        owner: self.owner.clone(),
                        lease_ms,
                    };
                    handles.push(tokio::spawn(async move { task.run(rx, once).await }));
                }
                _ => {}
            }
            if let SourceKind::Http(h) = &s.kind {
                let task = HttpSourceTask {
                    name: s.name.clone(),
                    config: h.clone(),
                    partners: rt.config.partners.iter().map(|p| p.id.clone()).collect(),
                    journal: self.journal.clone(),
                };
                let rx = shutdown.clone();
                handles.push(tokio::spawn(async move { task.run(rx, once).await }));
            }
            if let SourceKind::Amqp(a) = &s.kind {
                let task = AmqpSourceTask {
                    name: s.name.clone(),
                    partner: s.partner.clone(),
                    config: a.clone(),
                    journal: self.journal.clone(),
                };
                let rx = shutdown.clone();
                handles.push(tokio::spawn(async move { task.run(rx, once).await }));
            }
        }
        handles
    }

    /// Runs until `shutdown` turns true (or, with `once`, until the sources
    /// are drained and nothing is due). The batch in flight when shutdown is
    /// requested is finished and committed.
    pub async fn run(
        &self,
        mut shutdown: watch::Receiver<bool>,
        once: bool,
    ) -> Result<RunStats, DaemonError> {
        // A one-shot run (`--once`) serves nothing and sends no alerts.
        let admin = if once {
            Vec::new()
        } else {
            self.start_admin(&shutdown).await?
        };
        let sources = self.start_sources(&shutdown, once);
        let exports = if once {
            Vec::new()
        } else {
            self.start_exports(&shutdown)
        };
        let (stop_checkpoints, checkpoints_stopped) = watch::channel(false);
        let checkpointer = self.start_checkpointer(checkpoints_stopped).await;
        let mut stats = RunStats::default();
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Batches are processed one at a time, in claim order (a batch's
        // deliveries, confirms included, are all done before the next
        // starts). The journal's work runs beside them, in order, on the
        // queue's task: the commit of each processed batch, followed by
        // the claim of one more. Two batches are kept coming after the one
        // being processed (claimed, or claimed by a job queued), so the
        // journal has the time of two batches to commit one.
        let queue = JournalQueue::start(self.journal.clone(), self.exclusive());
        let mut ahead: VecDeque<Vec<Message>> = VecDeque::new();
        let mut pending: VecDeque<Pending> = VecDeque::new();
        loop {
            let rt = self.runtime();
            // Batches claimed but not started are given back (below).
            if *shutdown.borrow() {
                break;
            }
            // Answers already there: counted and published now.
            while pending.front_mut().is_some_and(|p| p.is_ready()) {
                if let Some(p) = pending.pop_front() {
                    ahead.push_back(self.settle(p, &mut stats).await);
                }
            }
            ahead.retain(|b| !b.is_empty());
            let Some(batch) = ahead.pop_front() else {
                if let Some(p) = pending.pop_front() {
                    // A commit's outcomes may make messages due, and it may
                    // bring the next batch: look again at once.
                    ahead.push_back(self.settle(p, &mut stats).await);
                    continue;
                }
                // Nothing is in flight: claim now.
                let next = self
                    .settle(queue.claim(self.claimer(&rt)), &mut stats)
                    .await;
                if next.is_empty() {
                    if once && sources.iter().all(|h| h.is_finished()) {
                        break;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(rt.config.daemon.idle_poll_ms)) => {}
                        _ = shutdown.changed() => {}
                    }
                } else {
                    ahead.push_back(next);
                }
                continue;
            };
            let full = batch.len() >= rt.config.daemon.batch_size as usize;
            let coming = ahead.len() + pending.iter().filter(|p| p.claims).count();
            for _ in coming..if full { BATCHES_AHEAD } else { 0 } {
                pending.push_back(queue.claim(self.claimer(&rt)));
            }
            let received: HashMap<i64, i64> = batch.iter().map(|m| (m.id, m.received_at)).collect();
            let updates = self.process_batch(Arc::clone(&rt), batch, workers).await;
            let stopping = *shutdown.borrow();
            let park_for = Duration::from_secs(rt.config.daemon.lease_secs);
            pending.push_back(queue.commit(
                updates,
                received,
                (!stopping).then(|| self.claimer(&rt)),
                park_for,
            ));
            // The journal falls behind: wait for it.
            while pending.len() > MAX_PENDING_JOBS {
                if let Some(p) = pending.pop_front() {
                    ahead.push_back(self.settle(p, &mut stats).await);
                }
            }
        }
        for p in pending {
            ahead.push_back(self.settle(p, &mut stats).await);
        }
        queue.close().await;
        // Claimed but not processed (stopping): give the leases back (an
        // exclusive daemon took none).
        let ids: Vec<i64> = ahead.iter().flatten().map(|m| m.id).collect();
        if !ids.is_empty() && !self.exclusive() {
            if let Err(e) = self.journal.release_leases(&ids).await {
                tracing::warn!("cannot release {} lease(s), they expire: {e}", ids.len());
            }
        }
        for h in sources {
            if let Ok(n) = h.await {
                stats.received += n;
            }
        }
        let _ = stop_checkpoints.send(true);
        if let Some(h) = checkpointer {
            let _ = h.await;
        }
        // An export pass in flight finishes (its sends are recorded).
        for h in exports {
            let _ = h.await;
        }
        for h in admin {
            h.abort();
        }
        Ok(stats)
    }

    /// Starts the SQLite journal's background checkpoints (see
    /// `journal::Checkpointer`), until `stop` turns true. None on
    /// PostgreSQL, when `journal.sqlite_background_checkpoints` is false, or
    /// when the second connection cannot be opened (logged:
    /// the writer's own checkpoints then do all the work, as before).
    async fn start_checkpointer(&self, stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
        let journal = &self.runtime().config.journal;
        if !journal.sqlite_background_checkpoints {
            return None;
        }
        let pages = journal.sqlite_checkpoint_pages;
        let c = match self.journal.checkpointer(pages).await {
            Ok(c) => c?,
            Err(e) => {
                tracing::warn!("no background WAL checkpoints: {e}");
                return None;
            }
        };
        Some(tokio::spawn(c.run(stop)))
    }

    /// How batches are taken from the journal under the current config.
    fn claimer(&self, rt: &Runtime) -> Claimer {
        let d = &rt.config.daemon;
        Claimer {
            owner: self.owner.clone(),
            batch_size: d.batch_size,
            lease_secs: d.lease_secs,
            exclusive: self.exclusive(),
        }
    }

    /// Waits for a journal job's answer, counts, logs and publishes the
    /// outcomes it committed, and returns the batch it claimed. A failed
    /// commit leaves the messages leased, or parked by the queue when
    /// claims take no leases: they run again after `daemon.lease_secs`.
    async fn settle(&self, mut p: Pending, stats: &mut RunStats) -> Vec<Message> {
        let received = std::mem::take(&mut p.received);
        let done = p.wait().await;
        let Some((result, updates, took)) = done.commit else {
            return done.next;
        };
        if let Err(e) = result {
            tracing::error!(
                "journal commit failed, {} message(s) will be retried: {e}",
                received.len()
            );
            return done.next;
        }
        self.metrics.commit.observe(took);
        let now = crate::journal::now_ms();
        for u in &updates {
            stats.processed += 1;
            *stats.by_state.entry(u.state.to_string()).or_default() += 1;
            log_update(u);
            self.record(u, received.get(&u.id).copied(), now);
        }
        done.next
    }

    /// Updates metrics and publishes a committed outcome on the tap.
    fn record(&self, u: &Update, received_at: Option<i64>, now: i64) {
        use std::sync::atomic::Ordering;
        self.metrics.processed.fetch_add(1, Ordering::Relaxed);
        match u.state {
            State::Failed => {
                self.metrics.retries.fetch_add(1, Ordering::Relaxed);
            }
            State::Dead => {
                self.metrics.dead_letters.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        if u.state.is_final() {
            if let Some(r) = received_at {
                self.metrics
                    .end_to_end
                    .observe(Duration::from_millis((now - r).max(0) as u64));
            }
        }
        // The event (which parses the canonical JSON) is built only when
        // someone listens.
        if self.tap.receiver_count() > 0 {
            let _ = self.tap.send(crate::admin::TapEvent::from_update(u));
        }
    }

    async fn process_batch(
        &self,
        rt: Arc<Runtime>,
        batch: Vec<Message>,
        workers: usize,
    ) -> Vec<Update> {
        let mut delivered = Vec::with_capacity(batch.len());
        for m in &batch {
            if m.attempts > 0 {
                match self.journal.delivered_sinks(m.id).await {
                    Ok(d) => delivered.push(d),
                    Err(e) => {
                        tracing::warn!(
                            message_id = m.id,
                            "cannot read deliveries, delivering to every sink again: {e}"
                        );
                        delivered.push(Vec::new());
                    }
                }
            } else {
                delivered.push(Vec::new());
            }
        }
        let today = chrono::Local::now().date_naive();
        let items: Vec<(Message, Vec<String>)> = batch.into_iter().zip(delivered).collect();
        let chunk = items.len().div_ceil(workers.max(1)).max(1);
        let mut chunks: Vec<Vec<(Message, Vec<String>)>> = Vec::new();
        let mut it = items.into_iter().peekable();
        while it.peek().is_some() {
            chunks.push(it.by_ref().take(chunk).collect());
        }
        // Phase 1 (blocking threads): parse, map, price and start every
        // sink; AMQP publishes go out without waiting for their confirms.
        let mut begun = Vec::new();
        for c in chunks {
            let rt = Arc::clone(&rt);
            let ids: Vec<(i64, i64)> = c.iter().map(|(m, _)| (m.id, m.attempts)).collect();
            let h = tokio::task::spawn_blocking(move || {
                c.into_iter()
                    .map(|(m, d)| {
                        let span = message_span(&rt, &m);
                        let _g = span.enter();
                        let start = std::time::Instant::now();
                        let f = process::begin(&rt, &m, &d, today);
                        (m, d, f, start)
                    })
                    .collect::<Vec<_>>()
            });
            begun.push((ids, h));
        }
        // Phase 2 (here): await the confirms, all in flight together.
        // Phase 3 (blocking threads): record outcomes, send answers.
        let mut finishing = Vec::new();
        let mut out = Vec::new();
        for (ids, h) in begun {
            let items = match h.await {
                Ok(items) => items,
                Err(e) => {
                    out.extend(panicked(ids, &e));
                    continue;
                }
            };
            let mut settled = Vec::with_capacity(items.len());
            for (m, d, f, start) in items {
                settled.push((m, d, f.settle().await, start));
            }
            let rt = Arc::clone(&rt);
            let metrics = Arc::clone(&self.metrics);
            let h = tokio::task::spawn_blocking(move || {
                settled
                    .into_iter()
                    .map(|(m, d, s, start)| {
                        let span = message_span(&rt, &m);
                        let _g = span.enter();
                        let mut u = process::finish(&rt, &m, &d, today, s);
                        // Compressed here, in parallel, not in the commit.
                        u.pack();
                        metrics.process.observe(start.elapsed());
                        tracing::debug!(
                            state = %u.state,
                            elapsed_us = start.elapsed().as_micros() as u64,
                            "message processed"
                        );
                        u
                    })
                    .collect::<Vec<Update>>()
            });
            finishing.push((ids, h));
        }
        for (ids, h) in finishing {
            match h.await {
                Ok(mut u) => out.append(&mut u),
                Err(e) => out.extend(panicked(ids, &e)),
            }
        }
        out
    }
}

/// The tracing span of one message.
fn message_span(rt: &Runtime, m: &Message) -> tracing::Span {
    tracing::info_span!(
        "message",
        message_id = m.id,
        partner = process::partner_of(&rt.config, m)
            .map(|p| p.id.as_str())
            .or(m.partner.as_deref())
            .unwrap_or("-")
    )
}

/// Outcomes for messages whose processing panicked: kept, retried later.
fn panicked(ids: Vec<(i64, i64)>, e: &tokio::task::JoinError) -> Vec<Update> {
    ids.into_iter()
        .map(|(id, attempts)| {
            let mut u = Update::new(id, State::Failed, attempts + 1);
            u.error = Some(format!("internal error: {e}"));
            u.next_attempt_at = crate::journal::now_ms() + 60_000;
            u.events
                .push((State::Failed, format!("internal error: {e}")));
            u
        })
        .collect()
}

/// This instance's id: `COMPTOIR_INSTANCE_ID`, else `daemon.instance_id`,
/// else the id kept in `daemon.instance_id_file` (generated and written
/// there the first time).
pub fn instance_id(d: &crate::config::DaemonConfig) -> Result<String, DaemonError> {
    if let Ok(v) = std::env::var("COMPTOIR_INSTANCE_ID") {
        if !v.trim().is_empty() {
            return Ok(v.trim().to_string());
        }
    }
    if let Some(v) = &d.instance_id {
        return Ok(v.clone());
    }
    let path = &d.instance_id_file;
    let err = |error| DaemonError::InstanceId {
        path: path.clone(),
        error,
    };
    match std::fs::read_to_string(path) {
        Ok(s) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    use sha2::Digest;
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "comptoir".into());
    let seed = format!(
        "{host}/{}/{}/{:?}",
        std::process::id(),
        crate::journal::now_ms(),
        std::time::Instant::now()
    );
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let suffix: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    let id = format!("{host}-{suffix}");
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{id}\n")).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    Ok(id)
}

fn log_update(u: &Update) {
    let partner = u.partner.as_deref().unwrap_or("-");
    let keys = u.business_keys.as_deref().unwrap_or("-");
    match u.state {
        State::Delivered => {
            tracing::info!(message_id = u.id, partner, keys, state = %u.state, "processed")
        }
        _ => tracing::warn!(
            message_id = u.id,
            partner,
            keys,
            state = %u.state,
            error = u.error.as_deref().unwrap_or(""),
            "processed"
        ),
    }
}

/// Runs the daemon until SIGTERM/SIGINT (or, with `once`, until drained);
/// SIGHUP reloads. After a stop signal, in-flight work gets
/// `daemon.grace_period_secs` to finish; past that the process returns
/// anyway and unfinished messages resume at the next start.
pub async fn run_until_signal(daemon: Arc<Daemon>, once: bool) -> Result<RunStats, DaemonError> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(false);
    let mut term = signal(SignalKind::terminate()).map_err(DaemonError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DaemonError::Signal)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DaemonError::Signal)?;
    let d = Arc::clone(&daemon);
    let mut run = tokio::spawn(async move { d.run(rx, once).await });
    loop {
        tokio::select! {
            r = &mut run => return flatten(r),
            _ = term.recv() => { tracing::info!("SIGTERM: stopping intake"); break; }
            _ = int.recv() => { tracing::info!("SIGINT: stopping intake"); break; }
            _ = hup.recv() => match daemon.reload() {
                Ok(()) => tracing::info!("SIGHUP: configuration, mappings and pricing reloaded"),
                Err(e) => tracing::error!("SIGHUP: reload failed, keeping the current configuration:\n{e}"),
            },
        }
    }
    let _ = tx.send(true);
    let grace = Duration::from_secs(daemon.runtime().config.daemon.grace_period_secs);
    match tokio::time::timeout(grace, &mut run).await {
        Ok(r) => flatten(r),
        Err(_) => {
            tracing::warn!("grace period over: unfinished messages will resume at the next start");
            run.abort();
            Ok(RunStats::default())
        }
    }
}

fn flatten(
    r: Result<Result<RunStats, DaemonError>, tokio::task::JoinError>,
) -> Result<RunStats, DaemonError> {
    match r {
        Ok(r) => r,
        Err(e) => Err(DaemonError::Signal(std::io::Error::other(e.to_string()))),
    }
}
