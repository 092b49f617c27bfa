//! This crate's implementation of the shared suite's [`PauseSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use async_channel::Sender;
use bothways_spec::Flavour;
use bothways_spec::pause::{Error as Spec, Item, Log, PANIC_MESSAGE, PauseSpec, PauseWorker};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::oneshot;

use crate::{Error, PauseGuard, PauseHandle, Worker};

/// How many worker threads the `multi_thread` runtime runs: the machine's two cores.
pub const WORKERS: usize = 2;

/// The async pause, as the suite drives it: a runtime of the given flavour that the workers
/// run on, blocked on for each pause — the suite's trait is blocking so one check body drives
/// both styles.
///
/// ```
/// use bothways_spec::Flavour;
/// use bothways_spec::pause::{Item, Log, PauseSpec, PauseWorker};
/// let imp = bothways_pause_async::conformance::Conformance::new(Flavour::CurrentThread)?;
/// let log = Log::new();
/// let worker = imp.start(4, &log)?;
/// worker.send(Item::quick(0))?;
/// worker.finish()?;
/// assert_eq!(log.ids(), vec![0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    runtime: Arc<Runtime>,
    /// Async: a `current_thread` runtime runs its tasks only while a thread is inside its
    /// `block_on`, and the suite's producers are plain threads; this one drives it until drop.
    driver: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Conformance {
    /// Builds the runtime, and for `current_thread` the thread that drives it.
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
                        .name("pause-driver".into())
                        .spawn(move || {
                            let _ = runtime.block_on(stopped);
                        })?;
                Some((stop, thread))
            }
        };
        Ok(Conformance { runtime, driver })
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

/// A started worker and the sending half of its input.
#[derive(Debug)]
pub struct Started {
    runtime: Arc<Runtime>,
    input: Sender<Item>,
    worker: Mutex<Option<Worker>>,
    handle: PauseHandle,
}

impl PauseSpec for Conformance {
    type Worker = Started;

    fn start(&self, capacity: usize, log: &Log) -> Result<Started, Spec> {
        let (tx, rx) = async_channel::bounded(capacity);
        let log = log.clone();
        let worker = {
            let _inside = self.runtime.enter();
            Worker::spawn(rx, move |item: Item| {
                let log = log.clone();
                async move {
                    log.begin(&item);
                    if !item.work.is_zero() {
                        tokio::time::sleep(item.work).await;
                    }
                    if item.panics {
                        panic!("{PANIC_MESSAGE}");
                    }
                    log.end(&item);
                }
            })
            .map_err(to_spec)?
        };
        Ok(Started {
            runtime: Arc::clone(&self.runtime),
            input: tx,
            handle: worker.handle(),
            worker: Mutex::new(Some(worker)),
        })
    }
}

impl PauseWorker for Started {
    type Guard = PauseGuard;

    fn send(&self, item: Item) -> Result<(), Spec> {
        // The producers are plain threads: async-channel's blocking send needs no runtime.
        self.input.send_blocking(item).map_err(|_| Spec::Stopped)
    }

    fn pause(&self) -> Result<PauseGuard, Spec> {
        self.runtime.block_on(self.handle.pause()).map_err(to_spec)
    }

    fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Spec> {
        self.runtime
            .block_on(self.handle.pause_within(limit))
            .map_err(to_spec)
    }

    fn close(&self) {
        // Closing, not dropping: what is already in the input is still received.
        self.input.close();
    }

    fn finish(&self) -> Result<(), Spec> {
        self.close();
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match worker {
            Some(worker) => self.runtime.block_on(worker.join()).map_err(to_spec),
            None => Err(Spec::Stopped),
        }
    }
}

fn to_spec(error: Error) -> Spec {
    match error {
        Error::PauseTimeout { waited } => Spec::PauseTimeout { waited },
        Error::Panicked { message } => Spec::Panicked { message },
        Error::Stopped => Spec::Stopped,
        other => Spec::Other(other.to_string()),
    }
}
