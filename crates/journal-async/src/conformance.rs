//! This crate's implementation of the shared suite's [`JournalSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_journal_format::Storage;
use bothways_spec::Flavour;
use bothways_spec::journal::{
    CRASH_IMPL_VAR, CRASH_PATH_VAR, Durability as SpecDurability, Error as Spec, JournalSpec,
    Settings, SpecJournal, SpecSubscription,
};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle as Task;
use tokio_util::sync::CancellationToken;

use crate::{Durability, Error, Journal, Options, Subscription, tcp};

/// How many worker threads the `multi_thread` runtime runs: the machine's two cores.
pub const WORKERS: usize = 2;

/// The async journal, as the suite drives it: a runtime of the given flavour that the writer
/// runs on, blocked on for each call — the suite's trait is blocking so one check body drives
/// both styles.
///
/// ```
/// use bothways_spec::Flavour;
/// use bothways_spec::journal::{Durability, JournalSpec, SpecJournal};
/// let imp = bothways_journal_async::conformance::Conformance::new(Flavour::CurrentThread)?;
/// let dir = tempfile::tempdir()?;
/// let journal = imp.open(&dir.path().join("events"), Durability::Flush, 16)?;
/// assert_eq!(journal.append(b"x")?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    runtime: Arc<Runtime>,
    flavour: Flavour,
    /// Async: a `current_thread` runtime runs its tasks only while a thread is inside its
    /// `block_on`, and the suite's callers are plain threads; this one drives it until drop.
    driver: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    crash_child: bool,
}

impl Conformance {
    /// Builds the runtime, and for `current_thread` the thread that drives it. No crash child:
    /// what the `bothways` runner uses, as it cannot re-execute itself as a test binary.
    pub fn new(flavour: Flavour) -> Result<Self, std::io::Error> {
        let mut builder = match flavour {
            Flavour::CurrentThread => Builder::new_current_thread(),
            Flavour::MultiThread => {
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(WORKERS);
                builder
            }
        };
        let runtime = Arc::new(builder.enable_all().build()?);
        let driver = match flavour {
            Flavour::MultiThread => None,
            Flavour::CurrentThread => {
                let (stop, stopped) = oneshot::channel::<()>();
                let runtime = Arc::clone(&runtime);
                let thread =
                    thread::Builder::new()
                        .name("journal-driver".into())
                        .spawn(move || {
                            let _ = runtime.block_on(stopped);
                        })?;
                Some((stop, thread))
            }
        };
        Ok(Conformance {
            runtime,
            flavour,
            driver,
            crash_child: false,
        })
    }

    /// The same, for a test binary that stamps the suite: the crash check re-executes it,
    /// running its `journal_crash_child` test.
    pub fn with_crash_child(mut self) -> Self {
        self.crash_child = true;
        self
    }
}

impl Drop for Conformance {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.driver.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

/// Maps this crate's error onto the suite's.
pub fn to_spec(e: Error) -> Spec {
    match e {
        Error::Format(f) => Spec::Format {
            offset: f.offset(),
            message: f.to_string(),
        },
        Error::Lagged { last_seq } => Spec::Lagged { last_seq },
        Error::Pruned { from, first } => Spec::Pruned { from, first },
        Error::SequenceExhausted { .. } => Spec::SequenceExhausted,
        Error::Failed { message } => Spec::Failed(message),
        Error::Io(e) => Spec::Failed(e.to_string()),
        Error::Listener { source } => Spec::Other(source.to_string()),
        Error::Closed => Spec::Closed,
    }
}

/// An open journal and the runtime it runs on, shared with the TCP servers the suite may start
/// for it.
#[derive(Debug)]
pub struct Opened {
    runtime: Arc<Runtime>,
    journal: Arc<Journal>,
    servers: Mutex<Vec<Server>>,
}

/// A TCP server the suite started: the token that shuts it down, and its task.
type Server = (CancellationToken, Task<Result<(), Error>>);

impl Drop for Opened {
    fn drop(&mut self) {
        // The servers are told to stop, not waited for: each ends once its clients are gone.
        for (shutdown, _) in self
            .servers
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            shutdown.cancel();
        }
    }
}

/// A subscription and the runtime it is awaited on.
#[derive(Debug)]
pub struct Subscribed {
    runtime: Arc<Runtime>,
    subscription: Subscription,
}

impl JournalSpec for Conformance {
    type Journal = Opened;

    fn open_with(
        &self,
        storage: Arc<dyn Storage>,
        path: &Path,
        settings: Settings,
    ) -> Result<Opened, Spec> {
        let durability = match settings.durability {
            SpecDurability::None => Durability::None,
            SpecDurability::Flush => Durability::Flush,
            SpecDurability::Append => Durability::Append,
        };
        let options = Options {
            durability,
            subscriber_queue: settings.subscriber_queue,
            segment_size: settings.segment_size,
            ..Options::default()
        };
        let journal = self
            .runtime
            .block_on(Journal::open_on(storage, path, options))
            .map_err(to_spec)?;
        Ok(Opened {
            runtime: Arc::clone(&self.runtime),
            journal: Arc::new(journal),
            servers: Mutex::default(),
        })
    }

    fn name(&self) -> String {
        format!("async {}", self.flavour)
    }

    fn crash_child(&self, path: &Path) -> Option<Command> {
        if !self.crash_child {
            return None;
        }
        let exe = std::env::current_exe().ok()?;
        let mut command = Command::new(exe);
        command
            .args(["journal_crash_child", "--nocapture", "--test-threads=1"])
            .env(CRASH_PATH_VAR, path)
            .env(CRASH_IMPL_VAR, self.name());
        Some(command)
    }
}

impl SpecJournal for Opened {
    type Subscription = Subscribed;

    fn append(&self, event: &[u8]) -> Result<u64, Spec> {
        self.runtime
            .block_on(self.journal.append(event))
            .map_err(to_spec)
    }

    fn flush(&self) -> Result<(), Spec> {
        self.runtime.block_on(self.journal.flush()).map_err(to_spec)
    }

    fn subscribe(&self, from: u64) -> Result<Subscribed, Spec> {
        let subscription = self
            .runtime
            .block_on(self.journal.subscribe(from))
            .map_err(to_spec)?;
        Ok(Subscribed {
            runtime: Arc::clone(&self.runtime),
            subscription,
        })
    }

    fn prune(&self, after: u64) -> Result<(), Spec> {
        self.runtime
            .block_on(self.journal.prune(after))
            .map_err(to_spec)
    }

    fn close(&self) -> Result<(), Spec> {
        self.runtime.block_on(self.journal.close()).map_err(to_spec)
    }

    fn serve_tcp(
        &self,
        listener: std::net::TcpListener,
        stall_limit: Duration,
    ) -> Result<(), Spec> {
        let journal = Arc::clone(&self.journal);
        // Async: the accept loop is a task on the journal's runtime, until `stop_tcp` or drop
        // (or the runtime's end); tokio takes the std listener once it is non-blocking, inside
        // the runtime.
        listener
            .set_nonblocking(true)
            .map_err(|e| to_spec(e.into()))?;
        let _guard = self.runtime.enter();
        let listener =
            tokio::net::TcpListener::from_std(listener).map_err(|e| to_spec(e.into()))?;
        let shutdown = CancellationToken::new();
        let server = self.runtime.spawn(tcp::serve_until(
            journal,
            listener,
            stall_limit,
            shutdown.clone(),
        ));
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((shutdown, server));
        Ok(())
    }

    fn stop_tcp(&self) -> Result<(), Spec> {
        let servers =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(PoisonError::into_inner));
        // All told first, then waited for: they let their clients go side by side.
        for (shutdown, _) in &servers {
            shutdown.cancel();
        }
        for (_, server) in servers {
            self.runtime
                .block_on(server)
                .map_err(|e| Spec::Other(format!("the TCP server's task: {e}")))?
                .map_err(to_spec)?;
        }
        Ok(())
    }
}

impl SpecSubscription for Subscribed {
    fn recv_within(&mut self, limit: Duration) -> Result<Option<(u64, Vec<u8>)>, Spec> {
        self.runtime
            .block_on(self.subscription.recv_timeout(limit))
            .map(|e| e.map(|e| (e.seq, e.payload)))
            .map_err(to_spec)
    }
}
