//! The run loop's journal work, in order: commits of processed batches and
//! claims of the next ones.
//!
//! [`JournalQueue`] runs the jobs the run loop queues one after the other,
//! in the order they were queued, on a task of its own, and answers each on
//! a channel of its own. The run loop queues the commit of a batch (with the
//! claim of one more batch after it) and goes on at once with a batch
//! claimed earlier: the workers do not wait for the journal as long as a
//! batch is ready, and the journal's work (on SQLite, one connection that
//! also takes the sources' intake) has the time of two batches to get done.
//!
//! Running the jobs in order is what makes claims without leases safe (an
//! exclusive daemon, [`Journal::claim_unleased`]): the queue knows every
//! message it handed out whose outcome is not committed yet, and leaves
//! them out of the next claim. A batch whose commit fails is left out as
//! well, for `daemon.lease_secs` (see [`Registry`]).
//!
//! When claims take leases (a journal shared by several daemons, always on
//! PostgreSQL), the leases keep a batch from being handed out twice, so
//! commits need not wait for one another: each runs on a task of its own,
//! on a connection of its own, while the queue goes on with the claims,
//! still one after the other. A commit's answer still carries the batch
//! claimed after it was queued. On PostgreSQL a commit is mostly round
//! trips and server work, so several at once use cores that would wait.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::journal::{Journal, JournalError, Message, Update};

/// How a daemon takes its batches from the journal (under the config of
/// the moment the claim was queued).
pub(super) struct Claimer {
    pub owner: String,
    pub batch_size: u32,
    pub lease_secs: u64,
    /// The only daemon on its journal ([`super::Daemon::exclusive`]):
    /// batches are taken without leases ([`Journal::claim_unleased`]), the
    /// messages in flight being left out by id.
    pub exclusive: bool,
}

/// One job of the queue.
enum Job {
    /// Commit a batch's outcomes, then claim the next batch (when asked
    /// and the commit went through).
    Commit {
        updates: Vec<Update>,
        then_claim: Option<Claimer>,
        /// How long a batch whose commit fails stays out of the claims.
        park_for: Duration,
    },
    /// Claim a batch.
    Claim(Claimer),
}

/// What the queue answers for a job.
pub(super) struct Done {
    /// The commit, for a commit job: its result, the outcomes it wrote,
    /// and how long it took (not the claim after it).
    pub commit: Option<(Result<(), JournalError>, Vec<Update>, Duration)>,
    /// The batch claimed: empty when no claim was asked for, when the
    /// commit before it failed, or when nothing was due.
    pub next: Vec<Message>,
}

/// A job queued and not answered yet.
pub(super) struct Pending {
    answer: oneshot::Receiver<Done>,
    /// The answer, once [`Pending::is_ready`] has seen it.
    got: Option<Done>,
    /// Whether the job will claim a batch.
    pub claims: bool,
    /// For a commit: message id → reception time (end-to-end latency).
    pub received: HashMap<i64, i64>,
}

impl Pending {
    /// Whether the answer is there (then [`Pending::wait`] does not wait).
    pub fn is_ready(&mut self) -> bool {
        if self.got.is_none() {
            match self.answer.try_recv() {
                Ok(done) => self.got = Some(done),
                Err(oneshot::error::TryRecvError::Empty) => return false,
                Err(oneshot::error::TryRecvError::Closed) => self.got = Some(lost()),
            }
        }
        true
    }

    /// The job's answer.
    pub async fn wait(self) -> Done {
        match self.got {
            Some(done) => done,
            None => self.answer.await.unwrap_or_else(|_| lost()),
        }
    }
}

/// The answer of a job lost with the queue's task: a failed commit of
/// nothing. Its messages stay leased, or out of this run's claims, and run
/// again after a restart.
fn lost() -> Done {
    Done {
        commit: Some((
            Err(JournalError::Conflict(
                "the journal queue stopped before answering".into(),
            )),
            Vec::new(),
            Duration::ZERO,
        )),
        next: Vec::new(),
    }
}

/// The queue: a task that runs the jobs in order. Dropping it lets the task
/// finish the jobs already queued and stop.
pub(super) struct JournalQueue {
    jobs: mpsc::UnboundedSender<(Job, oneshot::Sender<Done>)>,
    task: JoinHandle<()>,
}

impl JournalQueue {
    /// Starts the queue for a daemon whose claims take leases or not
    /// (`exclusive`, see [`Claimer::exclusive`]).
    pub fn start(journal: Journal, exclusive: bool) -> JournalQueue {
        let (jobs, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(journal, exclusive, rx));
        JournalQueue { jobs, task }
    }

    /// Queues the commit of `updates`, then (with `then_claim`) the claim
    /// of a batch.
    pub fn commit(
        &self,
        updates: Vec<Update>,
        received: HashMap<i64, i64>,
        then_claim: Option<Claimer>,
        park_for: Duration,
    ) -> Pending {
        let claims = then_claim.is_some();
        self.send(
            Job::Commit {
                updates,
                then_claim,
                park_for,
            },
            claims,
            received,
        )
    }

    /// Queues the claim of a batch.
    pub fn claim(&self, claimer: Claimer) -> Pending {
        self.send(Job::Claim(claimer), true, HashMap::new())
    }

    fn send(&self, job: Job, claims: bool, received: HashMap<i64, i64>) -> Pending {
        let (tx, answer) = oneshot::channel();
        // A queue whose task is gone drops the answer's sender: `wait`
        // then reports the job as failed.
        let _ = self.jobs.send((job, tx));
        Pending {
            answer,
            got: None,
            claims,
            received,
        }
    }

    /// Stops taking jobs and waits for the ones queued.
    pub async fn close(self) {
        drop(self.jobs);
        let _ = self.task.await;
    }
}

/// The messages handed out by the queue whose outcome is not committed
/// yet, and those whose commit failed, parked until a time. Both are left
/// out of claims without leases: without the parking, a journal that reads
/// but cannot write (a full disk) would have the same batch processed, and
/// delivered again, at every turn of the loop. (Leased claims keep such
/// messages leased until the lease expires.)
#[derive(Debug, Default)]
struct Registry {
    in_flight: HashSet<i64>,
    parked: Vec<(i64, Instant)>,
}

impl Registry {
    fn handed_out(&mut self, batch: &[Message]) {
        self.in_flight.extend(batch.iter().map(|m| m.id));
    }

    fn committed(&mut self, ids: &[i64]) {
        for id in ids {
            self.in_flight.remove(id);
        }
    }

    fn park(&mut self, ids: &[i64], for_: Duration) {
        let until = Instant::now() + for_;
        for &id in ids {
            self.in_flight.remove(&id);
            self.parked.push((id, until));
        }
    }

    /// The ids to leave out of a claim without leases.
    fn excluded(&mut self) -> Vec<i64> {
        let now = Instant::now();
        self.parked.retain(|(_, until)| *until > now);
        let mut ids: Vec<i64> = self.in_flight.iter().copied().collect();
        ids.extend(self.parked.iter().map(|(id, _)| *id));
        ids
    }
}

/// The queue's task. Commits run in order on this task when claims take
/// no leases (`exclusive`), each on a task of its own otherwise.
async fn run(
    journal: Journal,
    exclusive: bool,
    mut jobs: mpsc::UnboundedReceiver<(Job, oneshot::Sender<Done>)>,
) {
    let mut registry = Registry::default();
    // Commits running beside the queue, each answering its own job.
    let mut beside = JoinSet::new();
    while let Some((job, answer)) = jobs.recv().await {
        let done = match job {
            Job::Claim(claimer) => Done {
                commit: None,
                next: claim(&journal, &claimer, &mut registry).await,
            },
            Job::Commit {
                updates,
                then_claim,
                park_for,
            } if exclusive => {
                let ids: Vec<i64> = updates.iter().map(|u| u.id).collect();
                let (result, updates, took) = commit(&journal, updates).await;
                if result.is_ok() {
                    registry.committed(&ids);
                } else {
                    registry.park(&ids, park_for);
                }
                let next = match then_claim {
                    Some(claimer) if result.is_ok() => {
                        claim(&journal, &claimer, &mut registry).await
                    }
                    _ => Vec::new(),
                };
                Done {
                    commit: Some((result, updates, took)),
                    next,
                }
            }
            Job::Commit {
                updates,
                then_claim,
                ..
            } => {
                // Leased: the commit goes on beside the queue; the claim is
                // made now, in its turn. A failed commit leaves its batch
                // leased until the lease expires.
                let (claimed, next) = oneshot::channel();
                let j = journal.clone();
                beside.spawn(async move {
                    let commit = commit(&j, updates).await;
                    let next = next.await.unwrap_or_default();
                    let _ = answer.send(Done {
                        commit: Some(commit),
                        next,
                    });
                });
                let batch = match then_claim {
                    Some(claimer) => claim(&journal, &claimer, &mut registry).await,
                    None => Vec::new(),
                };
                let _ = claimed.send(batch);
                continue;
            }
        };
        // The run loop may be gone (aborted at the end of the grace period).
        let _ = answer.send(done);
    }
    while beside.join_next().await.is_some() {}
}

/// A commit's result, the outcomes it wrote, and how long it took.
type Committed = (Result<(), JournalError>, Vec<Update>, Duration);

/// Applies `updates` on a task of its own: a panic in the journal code
/// fails this commit, not the queue.
async fn commit(journal: &Journal, updates: Vec<Update>) -> Committed {
    let start = Instant::now();
    let j = journal.clone();
    let (result, updates) = match tokio::spawn(async move {
        let r = j.apply(&updates).await;
        (r, updates)
    })
    .await
    {
        Ok(done) => done,
        Err(e) => (
            Err(JournalError::Conflict(format!(
                "journal commit task failed: {e}"
            ))),
            Vec::new(),
        ),
    };
    (result, updates, start.elapsed())
}

/// The next batch of due messages, the registry's left out; leased to the
/// claimer's owner unless exclusive. Empty on error (logged).
async fn claim(journal: &Journal, c: &Claimer, registry: &mut Registry) -> Vec<Message> {
    let claimed = if c.exclusive {
        journal
            .claim_unleased(c.batch_size, &registry.excluded())
            .await
    } else {
        journal
            .claim(&c.owner, c.batch_size, (c.lease_secs * 1000) as i64)
            .await
    };
    match claimed {
        Ok(batch) => {
            if c.exclusive {
                registry.handed_out(&batch);
            }
            batch
        }
        Err(e) => {
            tracing::error!("journal claim failed: {e}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Incoming, State};

    fn claimer(batch_size: u32) -> Claimer {
        Claimer {
            owner: "test".into(),
            batch_size,
            lease_secs: 60,
            exclusive: true,
        }
    }

    fn leased(batch_size: u32) -> Claimer {
        Claimer {
            exclusive: false,
            ..claimer(batch_size)
        }
    }

    /// A fresh SQLite journal holding `n` received messages.
    async fn journal(n: usize) -> Journal {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "comptoir-queue-{}-{}-{}",
            std::process::id(),
            crate::journal::now_ms(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let url = format!("sqlite://{}/j.db", dir.display());
        let j = Journal::open(&url, 1, None).await.unwrap();
        let batch = (0..n)
            .map(|i| Incoming {
                source: "test".into(),
                source_ref: None,
                partner: None,
                raw: format!("message {i}").into_bytes(),
            })
            .collect();
        j.receive(batch).await.unwrap();
        j
    }

    /// Queues the commit of `batch` moved to `state`, with a claim of up
    /// to `claim` messages after it, and waits for the answer.
    async fn commit_as(q: &JournalQueue, batch: &[Message], state: State, claim: u32) -> Done {
        let updates = batch.iter().map(|m| Update::new(m.id, state, 1)).collect();
        q.commit(
            updates,
            HashMap::new(),
            Some(claimer(claim)),
            Duration::from_secs(60),
        )
        .wait()
        .await
    }

    /// Makes every outcome fail to commit (a trigger refuses the update).
    async fn refuse_updates(j: &Journal) {
        if let Journal::Sqlite { writer: p, .. } = j {
            sqlx::query(
                "CREATE TRIGGER refuse BEFORE UPDATE ON messages \
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END",
            )
            .execute(p)
            .await
            .unwrap();
        }
    }

    fn ids(batch: &[Message]) -> Vec<i64> {
        batch.iter().map(|m| m.id).collect()
    }

    #[test]
    fn the_registry_leaves_out_messages_in_flight_and_parked_ones_until_their_time() {
        let mut r = Registry::default();
        r.in_flight.extend([1, 2, 3, 4]);
        r.committed(&[1]);
        r.park(&[2], Duration::from_secs(60));
        r.park(&[3], Duration::ZERO);
        let mut out = r.excluded();
        out.sort_unstable();
        // 1 committed, 3 parked until now (expired), 2 parked, 4 in flight.
        assert_eq!(out, vec![2, 4]);
        assert!(
            !r.in_flight.contains(&2),
            "a parked message is not in flight"
        );
    }

    #[tokio::test]
    async fn claims_queued_one_after_another_never_hand_out_a_message_twice() {
        let j = journal(10).await;
        let q = JournalQueue::start(j.clone(), true);
        let a = q.claim(claimer(4));
        let b = q.claim(claimer(4));
        let c = q.claim(claimer(4));
        let (a, b, c) = (
            a.wait().await.next,
            b.wait().await.next,
            c.wait().await.next,
        );
        assert_eq!((a.len(), b.len(), c.len()), (4, 4, 2));
        let mut all: Vec<i64> = [ids(&a), ids(&b), ids(&c)].concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10, "every message handed out once");
        // Nothing left: all ten are in flight.
        assert!(q.claim(claimer(4)).wait().await.next.is_empty());
        // Batch a committed as delivered, with the claim after it: the
        // others are still in flight, so nothing comes.
        let done = commit_as(&q, &a, State::Delivered, 4).await;
        assert!(matches!(done.commit, Some((Ok(()), ref u, _)) if u.len() == 4));
        assert!(done.next.is_empty());
        // Batch b committed back to `received` (due again at once): the
        // claim after the commit hands b out again, and only b.
        let done = commit_as(&q, &b, State::Received, 10).await;
        assert_eq!(ids(&done.next), ids(&b));
        q.close().await;
    }

    #[tokio::test]
    async fn a_batch_whose_commit_fails_is_parked_not_handed_out_again() {
        let j = journal(3).await;
        let q = JournalQueue::start(j.clone(), true);
        let a = q.claim(claimer(10)).wait().await.next;
        assert_eq!(a.len(), 3);
        refuse_updates(&j).await;
        let done = commit_as(&q, &a, State::Received, 10).await;
        assert!(matches!(done.commit, Some((Err(_), _, _))));
        assert!(done.next.is_empty(), "no claim after a failed commit");
        // Still `received` and due, but parked: not handed out again.
        assert!(q.claim(claimer(10)).wait().await.next.is_empty());
        q.close().await;
    }

    #[tokio::test]
    async fn leased_commits_run_beside_the_claims_and_never_hand_a_message_out_twice() {
        let j = journal(10).await;
        let q = JournalQueue::start(j.clone(), false);
        let a = q.claim(leased(4)).wait().await.next;
        let b = q.claim(leased(4)).wait().await.next;
        assert_eq!((a.len(), b.len()), (4, 4));
        // Both commits queued at once, each with a claim after it: the
        // claims take what is not leased (the last two, then nothing).
        let updates = |batch: &[Message]| {
            batch
                .iter()
                .map(|m| Update::new(m.id, State::Delivered, 1))
                .collect()
        };
        let ca = q.commit(
            updates(&a),
            HashMap::new(),
            Some(leased(4)),
            Duration::from_secs(60),
        );
        let cb = q.commit(
            updates(&b),
            HashMap::new(),
            Some(leased(4)),
            Duration::from_secs(60),
        );
        let (da, db) = (ca.wait().await, cb.wait().await);
        for d in [&da, &db] {
            assert!(matches!(d.commit, Some((Ok(()), ref u, _)) if u.len() == 4));
        }
        let mut all: Vec<i64> = [ids(&a), ids(&b), ids(&da.next), ids(&db.next)].concat();
        assert_eq!(all.len(), 10, "every message handed out");
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10, "and only once");
        for m in a.iter().chain(&b) {
            assert_eq!(j.get(m.id).await.unwrap().state, State::Delivered);
        }
        q.close().await;
    }

    #[tokio::test]
    async fn a_leased_batch_whose_commit_fails_stays_leased() {
        let j = journal(3).await;
        let q = JournalQueue::start(j.clone(), false);
        let a = q.claim(leased(10)).wait().await.next;
        assert_eq!(a.len(), 3);
        refuse_updates(&j).await;
        let updates = a
            .iter()
            .map(|m| Update::new(m.id, State::Received, 1))
            .collect();
        let done = q
            .commit(
                updates,
                HashMap::new(),
                Some(leased(10)),
                Duration::from_secs(60),
            )
            .wait()
            .await;
        assert!(matches!(done.commit, Some((Err(_), _, _))));
        assert!(done.next.is_empty(), "still leased: not claimed again");
        assert!(q.claim(leased(10)).wait().await.next.is_empty());
        q.close().await;
    }
}
