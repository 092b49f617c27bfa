//! What the pause checks share: starting a worker, calls bounded so that a hang fails the check
//! instead of hanging the suite, waiting for a condition, a producer that floods the worker, and
//! reading its log.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{Failure, ensure, panic_text};
use crate::pause::{ANSWER_WITHIN, Error, Item, Log, PauseSpec, PauseWorker};

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn start<T: PauseSpec>(
    imp: &T,
    capacity: usize,
    log: &Log,
) -> Result<Arc<T::Worker>, Failure> {
    imp.start(capacity, log)
        .map(Arc::new)
        .map_err(|e| Failure::new("a worker to start", format!("{e:?}")))
}

pub(crate) fn paused<G>(what: &str, result: Result<G, Error>) -> Result<G, Failure> {
    result.map_err(|e| Failure::new(format!("a guard from {what}"), format!("{e:?}")))
}

/// Runs `call` on its own thread and waits at most `limit` for its answer, so that a call that
/// hangs fails the check instead of hanging the suite (the stuck thread is abandoned).
pub(crate) fn within<W: PauseWorker, R: Send + 'static>(
    worker: &Arc<W>,
    limit: Duration,
    what: &str,
    call: impl FnOnce(&W) -> R + Send + 'static,
) -> Result<R, Failure> {
    let (tx, rx) = mpsc::channel();
    let worker = Arc::clone(worker);
    thread::spawn(move || {
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&worker)));
        let _ = tx.send(answer.map_err(|p| panic_text(p.as_ref())));
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(panic)) => Err(Failure::new(
            format!("{what} to answer"),
            format!("a panic: {panic}"),
        )),
        Err(_) => Err(Failure::new(
            format!("{what} to answer within {}", ms(limit)),
            "no answer: a hang",
        )),
    }
}

/// Waits until `done` holds, at most `limit`: spinning for the first millisecond (most waits
/// are for one short item), then looking every millisecond.
pub(crate) fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        let waited = start.elapsed();
        if waited >= limit {
            return false;
        }
        if waited < Duration::from_millis(1) {
            thread::yield_now();
        } else {
            thread::sleep(Duration::from_millis(1));
        }
    }
    true
}

/// A producer flooding the worker with items from `make(id)` until told to stop; its join
/// handle answers how many it sent (ids `0..sent`).
pub(crate) struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flood {
    pub(crate) fn start<W: PauseWorker>(worker: &Arc<W>, make: fn(u64) -> Item) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let thread = {
            let (worker, stop, sent) = (Arc::clone(worker), Arc::clone(&stop), Arc::clone(&sent));
            thread::spawn(move || {
                let mut id = 0;
                while !stop.load(Ordering::SeqCst) {
                    if worker.send(make(id)).is_err() {
                        break;
                    }
                    id += 1;
                    sent.store(id, Ordering::SeqCst);
                }
            })
        };
        Flood {
            stop,
            sent,
            thread: Some(thread),
        }
    }

    /// Stops the producer and returns how many items it sent.
    pub(crate) fn stop(mut self) -> Result<u64, Failure> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .map_err(|p| Failure::new("the producer to stop", panic_text(&*p)))?;
        }
        Ok(self.sent.load(Ordering::SeqCst))
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        // On a failed check the producer is told to stop but not joined: it may be blocked on a
        // worker that will never take another item.
        self.stop.store(true, Ordering::SeqCst);
    }
}

pub(crate) fn finish<W: PauseWorker>(worker: &Arc<W>) -> Result<(), Failure> {
    let result = within(worker, ANSWER_WITHIN, "finish()", |w| w.finish())?;
    ensure(result.is_ok(), "finish() to drain and stop: Ok", || {
        format!("{result:?}")
    })
}

pub(crate) fn ids_in_order(log: &Log, n: u64) -> Result<(), Failure> {
    let ids = log.ids();
    let lost = (0..n).filter(|i| ids.binary_search(i).is_err()).count();
    ensure(
        ids.len() == ids_len(n) && ids.iter().copied().eq(0..n),
        &format!("ids 0..{n}, each once, in order"),
        || {
            let out_of_order = ids.windows(2).filter(|w| w[0] >= w[1]).count();
            format!(
                "{} ids: {lost} lost, {out_of_order} out of order or repeated",
                ids.len()
            )
        },
    )
}

fn ids_len(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}
