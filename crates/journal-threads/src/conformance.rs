//! This crate's implementation of the shared suite's [`JournalSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_journal_format::Storage;
use bothways_spec::journal::{
    CRASH_IMPL_VAR, CRASH_PATH_VAR, Durability as SpecDurability, Error as Spec, JournalSpec,
    Settings, SpecJournal, SpecSubscription,
};

use crate::{Durability, Error, Journal, Options, Subscription, tcp};

/// The threads journal, as the suite drives it.
///
/// ```
/// use bothways_spec::journal::{Durability, JournalSpec, SpecJournal};
/// let imp = bothways_journal_threads::conformance::Conformance::new()?;
/// let dir = tempfile::tempdir()?;
/// let journal = imp.open(&dir.path().join("events"), Durability::Flush, 16)?;
/// assert_eq!(journal.append(b"x")?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Conformance {
    crash_child: bool,
}

impl Conformance {
    /// The implementation, without a crash child: what the `bothways` runner uses, as it cannot
    /// re-execute itself as a test binary.
    pub fn new() -> Result<Self, Error> {
        Ok(Conformance { crash_child: false })
    }

    /// The same, for a test binary that stamps the suite: the crash check re-executes it,
    /// running its `journal_crash_child` test.
    pub fn with_crash_child(self) -> Self {
        Conformance { crash_child: true }
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

/// An open journal, shared with the TCP servers the suite may start for it.
#[derive(Debug)]
pub struct Opened {
    journal: Arc<Journal>,
    servers: Mutex<Vec<Server>>,
}

/// A TCP server the suite started: how to stop it, and its thread.
type Server = (tcp::Stop, JoinHandle<Result<(), Error>>);

impl Drop for Opened {
    fn drop(&mut self) {
        // Threads: a TCP server thread may still hold the journal, so dropping this handle
        // would not drop (and so close) it; closing twice is harmless. The servers are told
        // to stop, not waited for: each ends once its clients are gone.
        for (stop, _) in self
            .servers
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            stop.stop();
        }
        let _ = self.journal.close();
    }
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
        let journal = Journal::open_on(storage, path, options).map_err(to_spec)?;
        Ok(Opened {
            journal: Arc::new(journal),
            servers: Mutex::default(),
        })
    }

    fn name(&self) -> String {
        "threads".to_owned()
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
    type Subscription = Subscription;

    fn append(&self, event: &[u8]) -> Result<u64, Spec> {
        self.journal.append(event).map_err(to_spec)
    }

    fn flush(&self) -> Result<(), Spec> {
        self.journal.flush().map_err(to_spec)
    }

    fn subscribe(&self, from: u64) -> Result<Subscription, Spec> {
        self.journal.subscribe(from).map_err(to_spec)
    }

    fn prune(&self, after: u64) -> Result<(), Spec> {
        self.journal.prune(after).map_err(to_spec)
    }

    fn close(&self) -> Result<(), Spec> {
        self.journal.close().map_err(to_spec)
    }

    fn serve_tcp(&self, listener: TcpListener, stall_limit: Duration) -> Result<(), Spec> {
        let journal = Arc::clone(&self.journal);
        let stop = tcp::Stop::new();
        // Threads: the accept loop runs on a thread of its own, until `stop_tcp` or drop.
        let server = thread::Builder::new()
            .name("journal-tcp".into())
            .spawn({
                let stop = stop.clone();
                move || tcp::serve_until(journal, listener, stall_limit, stop)
            })
            .map_err(|e| to_spec(e.into()))?;
        self.servers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((stop, server));
        Ok(())
    }

    fn stop_tcp(&self) -> Result<(), Spec> {
        let servers =
            std::mem::take(&mut *self.servers.lock().unwrap_or_else(PoisonError::into_inner));
        // All told first, then waited for: they let their clients go side by side.
        for (stop, _) in &servers {
            stop.stop();
        }
        for (_, server) in servers {
            server
                .join()
                .map_err(|_| Spec::Other("the TCP server panicked".into()))?
                .map_err(to_spec)?;
        }
        Ok(())
    }
}

impl SpecSubscription for Subscription {
    fn recv_within(&mut self, limit: Duration) -> Result<Option<(u64, Vec<u8>)>, Spec> {
        self.recv_timeout(limit)
            .map(|e| e.map(|e| (e.seq, e.payload)))
            .map_err(to_spec)
    }
}
