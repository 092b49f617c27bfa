//! This crate's implementation of the shared suite's [`PauseSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use bothways_spec::pause::{Error as Spec, Item, Log, PANIC_MESSAGE, PauseSpec, PauseWorker};
use crossbeam_channel::Sender;

use crate::{Error, PauseGuard, Worker};

/// The threads pause, as the suite drives it: each started worker is a thread of its own.
///
/// ```
/// use bothways_spec::pause::{Item, Log, PauseSpec, PauseWorker};
/// let imp = bothways_pause_threads::conformance::Conformance::new()?;
/// let log = Log::new();
/// let worker = imp.start(4, &log)?;
/// worker.send(Item::quick(0))?;
/// worker.finish()?;
/// assert_eq!(log.ids(), vec![0]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Conformance;

impl Conformance {
    /// Nothing to build: a threads worker needs no runtime.
    pub fn new() -> Result<Self, Error> {
        Ok(Conformance)
    }
}

/// A started worker and the sending half of its input.
#[derive(Debug)]
pub struct Started {
    input: Mutex<Option<Sender<Item>>>,
    worker: Mutex<Option<Worker>>,
    handle: crate::PauseHandle,
}

impl PauseSpec for Conformance {
    type Worker = Started;

    fn start(&self, capacity: usize, log: &Log) -> Result<Started, Spec> {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let log = log.clone();
        let worker = Worker::spawn(rx, move |item: Item| {
            log.begin(&item);
            if !item.work.is_zero() {
                thread::sleep(item.work);
            }
            if item.panics {
                panic!("{PANIC_MESSAGE}");
            }
            log.end(&item);
        })
        .map_err(to_spec)?;
        Ok(Started {
            input: Mutex::new(Some(tx)),
            handle: worker.handle(),
            worker: Mutex::new(Some(worker)),
        })
    }
}

impl PauseWorker for Started {
    type Guard = PauseGuard;

    fn send(&self, item: Item) -> Result<(), Spec> {
        // Cloned out of the lock, so a send blocked on a full input does not block `close`.
        let input = lock(&self.input).clone();
        let input = input.ok_or(Spec::Stopped)?;
        input.send(item).map_err(|_| Spec::Stopped)
    }

    fn pause(&self) -> Result<PauseGuard, Spec> {
        self.handle.pause().map_err(to_spec)
    }

    fn pause_within(&self, limit: Duration) -> Result<PauseGuard, Spec> {
        self.handle.pause_within(limit).map_err(to_spec)
    }

    fn close(&self) {
        lock(&self.input).take();
    }

    fn finish(&self) -> Result<(), Spec> {
        self.close();
        match lock(&self.worker).take() {
            Some(worker) => worker.join().map_err(to_spec),
            None => Err(Spec::Stopped),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Each critical section is one take or clone: a poisoned lock still guards whole data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn to_spec(error: Error) -> Spec {
    match error {
        Error::PauseTimeout { waited } => Spec::PauseTimeout { waited },
        Error::Panicked { message } => Spec::Panicked { message },
        Error::Stopped => Spec::Stopped,
        other => Spec::Other(other.to_string()),
    }
}
