//! A private Tokio runtime on its own thread for the HTTP and SFTP sinks.
//!
//! [`super::Sink::deliver`] is synchronous and is called both from blocking
//! threads of the daemon and from inside `block_on` (`comptoir messages
//! replay`), where blocking on another future would panic. The network work
//! therefore runs on a runtime owned by a dedicated thread: `run` spawns the
//! future there and waits on a plain channel, which is allowed anywhere.
//! The runtime is created on first use and shut down (on its own thread)
//! when the owner is dropped.

use std::future::Future;
use std::sync::mpsc;
use std::sync::OnceLock;

use tokio::runtime::Handle;

use super::SinkError;

/// Owns the runtime thread; dropping it stops the thread.
#[derive(Debug, Default)]
pub struct Executor {
    inner: OnceLock<Result<(Handle, mpsc::Sender<()>), String>>,
}

impl Executor {
    pub fn new() -> Executor {
        Executor::default()
    }

    fn handle(&self) -> Result<&Handle, SinkError> {
        let r = self.inner.get_or_init(|| {
            let (htx, hrx) = mpsc::channel();
            let (stop_tx, stop_rx) = mpsc::channel::<()>();
            let spawned = std::thread::Builder::new()
                .name("comptoir-http".into())
                .spawn(move || {
                    let rt = match tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .thread_name("comptoir-http-worker")
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => rt,
                        Err(e) => {
                            let _ = htx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let _ = htx.send(Ok(rt.handle().clone()));
                    // Blocks until the Executor (and its sender) is dropped.
                    let _ = stop_rx.recv();
                    drop(rt);
                });
            if let Err(e) = spawned {
                return Err(e.to_string());
            }
            match hrx.recv() {
                Ok(Ok(h)) => Ok((h, stop_tx)),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(e.to_string()),
            }
        });
        match r {
            Ok((h, _)) => Ok(h),
            Err(e) => Err(SinkError::Transient(format!(
                "cannot start the HTTP runtime: {e}"
            ))),
        }
    }

    /// Runs `fut` on the runtime thread and waits for its output.
    pub fn run<T, F>(&self, fut: F) -> Result<T, SinkError>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.handle()?.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| SinkError::Transient("the HTTP task stopped unexpectedly".into()))
    }
}
