//! Bound any operation: a pool of reusable workers runs a closure under a deadline and cancels
//! it through a token. Threads cannot drop a running call, so the operation must cooperate.
//!
//! Why this file is several times its async twin: a future can be dropped at its deadline, so
//! async needs one `tokio::time::timeout`; here a pool of workers (no thread per call), a
//! `CancelToken` the operation looks at, and the rules for an answer that comes at or after
//! the deadline (discarded, never passed off as a result) make up the difference.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender};

use crate::Error;

/// How many jobs may wait in the queue per worker. Bounded so that workers stuck in operations
/// that ignore their tokens make callers time out instead of piling up abandoned jobs.
const QUEUE_PER_WORKER: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// What a worker sends back: the operation's outcome (or its panic), and when it was produced.
type Reply<T> = (Result<T, Box<dyn Any + Send>>, Instant);

/// A fixed set of reusable worker threads that run operations under a deadline.
///
/// No thread is spawned per call: the workers are started by [`Pool::new`] and take jobs from
/// one bounded crossbeam channel. A panicking operation is caught on its worker, which lives
/// on. Dropping the pool lets each worker finish what it is running and exit; it does not wait
/// for them, since an operation that ignores its token could keep it waiting for ever.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_threads::{Error, Pool};
///
/// let pool = Pool::new(4)?;
/// assert_eq!(pool.workers(), 4);
/// let panicked = pool.run(Duration::from_secs(1), |_| -> u32 { panic!("boom") });
/// assert!(matches!(panicked, Err(Error::Panicked { .. })));
/// assert_eq!(pool.run(Duration::from_secs(1), |_| 7)?, 7); // still usable
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct Pool {
    jobs: Sender<Job>,
    workers: usize,
}

impl Pool {
    /// Starts `workers` worker threads.
    pub fn new(workers: usize) -> Result<Self, Error> {
        if workers == 0 {
            return Err(Error::NoWorkers);
        }
        let (jobs, queue) =
            crossbeam_channel::bounded::<Job>(workers.saturating_mul(QUEUE_PER_WORKER));
        for i in 0..workers {
            let queue: Receiver<Job> = queue.clone();
            thread::Builder::new()
                .name(format!("bothways-timeout-{i}"))
                .spawn(move || {
                    for job in queue {
                        // The operation's own panic is caught inside the job; this catches one from
                        // dropping what it left behind, so no panic can take a worker away.
                        let _ = catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(Pool { jobs, workers })
    }

    /// How many workers the pool runs.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Runs `operation` on a worker and waits for it, at most `limit`.
    ///
    /// At the deadline the caller gets [`Error::Elapsed`], the operation's token is cancelled,
    /// and whatever it returns at or after the deadline is discarded — so an operation that
    /// stops because its token ran out never passes off a partial result as an answer. An
    /// operation still queued at its deadline is never started; with a zero limit, none is.
    /// A panic becomes [`Error::Panicked`].
    ///
    /// A blocking call inside the operation cannot be interrupted, only bounded: give it the
    /// token's [`CancelToken::remaining`] as its own timeout. The caller's `Elapsed` does not
    /// wait for it, but the call itself may end later than the deadline by as much as the
    /// kernel rounds its timeout up (see [`fetch_line`](crate::fetch_line)); what it returns
    /// then is discarded.
    ///
    /// ```
    /// use std::io::Read;
    /// use std::time::Duration;
    /// use bothways_timeout_threads::{Error, Pool};
    ///
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let mut silent = std::net::TcpStream::connect(listener.local_addr()?)?;
    /// let pool = Pool::new(1)?;
    /// let read = pool.run(Duration::from_millis(50), move |token| {
    ///     silent.set_read_timeout(token.remaining()?)?;
    ///     let mut byte = [0u8; 1];
    ///     Ok::<usize, Error>(silent.read(&mut byte)?) // the peer never writes
    /// });
    /// assert!(matches!(read, Err(Error::Elapsed { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run<T, F>(&self, limit: Duration, operation: F) -> Result<T, Error>
    where
        // Threads: the operation goes to another thread and may outlive this call, so it must
        // own what it uses ('static) and be sendable; async borrows freely from the caller.
        F: FnOnce(&CancelToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        let token = CancelToken::after(limit);
        // Capacity 1: the worker's one send never blocks, even when the caller has gone.
        let (reply, answer) = crossbeam_channel::bounded::<Reply<T>>(1);
        let job_token = token.clone();
        let job: Job = Box::new(move || {
            if job_token.is_cancelled() {
                return; // its caller has already been told Elapsed
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| operation(&job_token)));
            // Fails only when the caller gave up: the late result is discarded right here.
            let _ = reply.send((outcome, Instant::now()));
        });
        let queued = match token.deadline() {
            Some(deadline) => self.jobs.send_deadline(job, deadline).map_err(|e| match e {
                SendTimeoutError::Timeout(_) => token.elapsed_error(),
                SendTimeoutError::Disconnected(_) => Error::WorkersGone,
            }),
            None => self.jobs.send(job).map_err(|_| Error::WorkersGone),
        };
        queued?;
        let received = match token.deadline() {
            Some(deadline) => match answer.recv_deadline(deadline) {
                // crossbeam looks for a message, then at the clock: an answer that lands in
                // between is still in the channel, so look once more before giving up.
                Err(RecvTimeoutError::Timeout) => {
                    answer.try_recv().map_err(|_| RecvTimeoutError::Timeout)
                }
                other => other,
            },
            None => answer.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let verdict = verdict(received, token.deadline());
        if verdict.is_err() {
            token.cancel();
        }
        verdict.map_err(|late| late.unwrap_or_else(|| token.elapsed_error()))
    }
}

/// Decides what the caller of [`Pool::run`] gets. `Err(None)` means `Elapsed`: the answer came
/// too late, was produced at or after the deadline, or was dropped unanswered because its
/// deadline had passed. `Err(Some(e))` is any other error.
fn verdict<T>(
    received: Result<Reply<T>, RecvTimeoutError>,
    deadline: Option<Instant>,
) -> Result<T, Option<Error>> {
    let past = |t: Instant| deadline.is_some_and(|d| t >= d);
    match received {
        // Produced at or after the deadline, while the caller was still waking up: as late as
        // if it came after, so discarded the same way.
        Ok((_, done)) if past(done) => Err(None),
        Ok((Ok(value), _)) => Ok(value),
        Ok((Err(payload), _)) => Err(Some(Error::Panicked {
            message: panic_message(payload),
        })),
        Err(RecvTimeoutError::Timeout) => Err(None),
        // A worker that found the job already out of time drops it unanswered, so past the
        // deadline a disconnect means the same as a timeout.
        Err(RecvTimeoutError::Disconnected) if past(Instant::now()) => Err(None),
        // Dropped unanswered before its deadline: the worker running it died.
        Err(RecvTimeoutError::Disconnected) => Err(Some(Error::WorkersGone)),
    }
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map_or("a non-string panic", |s| s)
            .into(),
    }
}

/// Tells an operation when to stop: at its deadline, or when cancelled.
///
/// Threads cannot interrupt a running call, so an operation run by [`Pool::run`] receives one
/// and must look at it: between steps ([`CancelToken::is_cancelled`]), while waiting
/// ([`CancelToken::sleep`], which wakes at once on cancellation) and before each blocking call
/// ([`CancelToken::remaining`], to pass on as that call's own timeout). Clones share the state.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_threads::CancelToken;
///
/// let token = CancelToken::after(Duration::from_secs(60));
/// assert!(!token.is_cancelled());
/// assert!(token.remaining()?.is_some());
/// token.cancel();
/// assert!(token.is_cancelled());
/// assert!(token.sleep(Duration::from_secs(60)).is_err()); // returns at once
/// # Ok::<(), bothways_timeout_threads::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CancelToken {
    state: Arc<TokenState>,
}

#[derive(Debug)]
struct TokenState {
    limit: Duration,
    /// `None` when `limit` is too large to add to the clock: no deadline at all.
    deadline: Option<Instant>,
    cancelled: AtomicBool,
    // The flag is also set under this lock so a sleeper cannot miss the wake-up between
    // checking the flag and starting to wait.
    lock: Mutex<()>,
    wake: Condvar,
}

impl CancelToken {
    /// A token whose deadline is `limit` from now. A limit too large to add to the clock
    /// (`Duration::MAX`) means no deadline.
    pub fn after(limit: Duration) -> Self {
        CancelToken {
            state: Arc::new(TokenState {
                limit,
                deadline: Instant::now().checked_add(limit),
                cancelled: AtomicBool::new(false),
                lock: Mutex::new(()),
                wake: Condvar::new(),
            }),
        }
    }

    /// Cancels the operation: every clone sees it, and a [`CancelToken::sleep`] returns at once.
    pub fn cancel(&self) {
        let _guard = self
            .state
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.state.cancelled.store(true, Ordering::SeqCst);
        self.state.wake.notify_all();
    }

    /// Whether the operation should stop: cancelled, or past its deadline.
    pub fn is_cancelled(&self) -> bool {
        self.state.cancelled.load(Ordering::SeqCst)
            || self.state.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The deadline, if the limit could be added to the clock.
    pub fn deadline(&self) -> Option<Instant> {
        self.state.deadline
    }

    /// The time left, to hand to a blocking call as its own timeout (`set_read_timeout`,
    /// `connect_timeout`, `recv_timeout`); `None` when there is no deadline. Never
    /// `Some(Duration::ZERO)`, which std's socket timeouts refuse: once the time is up this
    /// returns [`Error::Elapsed`] instead.
    pub fn remaining(&self) -> Result<Option<Duration>, Error> {
        if self.state.cancelled.load(Ordering::SeqCst) {
            return Err(self.elapsed_error());
        }
        match self.state.deadline {
            None => Ok(None),
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(self.elapsed_error()),
            },
        }
    }

    /// Waits `d`, or less: returns [`Error::Elapsed`] as soon as the token is cancelled or its
    /// deadline comes, whichever is first.
    pub fn sleep(&self, d: Duration) -> Result<(), Error> {
        let start = Instant::now();
        let mut guard = self
            .state
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            let left = self.remaining()?;
            let want = d.saturating_sub(start.elapsed());
            if want.is_zero() {
                return Ok(());
            }
            let wait = left.map_or(want, |left| left.min(want));
            guard = self
                .state
                .wake
                .wait_timeout(guard, wait)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
    }

    /// The error this token's operation ends in once it is cancelled or out of time:
    /// [`Error::Elapsed`] with the token's limit.
    pub fn elapsed_error(&self) -> Error {
        Error::Elapsed {
            limit: self.state.limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply<T>(value: T, done: Instant) -> Result<Reply<T>, RecvTimeoutError> {
        Ok((Ok(value), done))
    }

    #[test]
    fn an_answer_produced_before_the_deadline_counts() {
        let now = Instant::now();
        let deadline = now + Duration::from_secs(1);
        assert!(matches!(verdict(reply(7, now), Some(deadline)), Ok(7)));
        assert!(matches!(verdict(reply(7, now), None), Ok(7)));
    }

    #[test]
    fn an_answer_produced_at_or_after_the_deadline_is_late() {
        let deadline = Instant::now();
        assert!(matches!(
            verdict(reply(7, deadline), Some(deadline)),
            Err(None)
        ));
        let after = deadline + Duration::from_millis(1);
        assert!(matches!(
            verdict(reply(7, after), Some(deadline)),
            Err(None)
        ));
    }

    #[test]
    fn a_job_dropped_unanswered_is_elapsed_only_past_its_deadline() {
        let past = Instant::now();
        let gone = verdict::<u8>(Err(RecvTimeoutError::Disconnected), Some(past));
        assert!(matches!(gone, Err(None)));
        let future = Instant::now() + Duration::from_secs(60);
        let died = verdict::<u8>(Err(RecvTimeoutError::Disconnected), Some(future));
        assert!(matches!(died, Err(Some(Error::WorkersGone))));
    }

    #[test]
    fn a_panic_keeps_its_message() {
        let panicked: Result<Reply<u8>, _> = Ok((Err(Box::new("boom")), Instant::now()));
        let got = verdict(panicked, None);
        assert!(matches!(got, Err(Some(Error::Panicked { message })) if message == "boom"));
    }

    #[test]
    fn a_full_queue_times_out_instead_of_growing() {
        let pool = Pool::new(1).unwrap_or_else(|e| panic!("{e}"));
        let release = Arc::new(AtomicBool::new(false));
        let (started_tx, started) = crossbeam_channel::bounded(1);
        // Hold the only worker until released, ignoring the token.
        let hog = {
            let release = release.clone();
            move |_: &CancelToken| {
                let _ = started_tx.send(());
                while !release.load(Ordering::SeqCst) {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        };
        thread::scope(|s| {
            let first = s.spawn(|| pool.run(Duration::from_millis(10), hog));
            let _ = started.recv();
            // Fill the queue with jobs whose callers have given up.
            for _ in 0..QUEUE_PER_WORKER {
                let _ = pool.run(Duration::ZERO, |_| ());
            }
            let start = Instant::now();
            let full = pool.run(Duration::from_millis(50), |_| ());
            assert!(matches!(full, Err(Error::Elapsed { .. })), "{full:?}");
            assert!(start.elapsed() >= Duration::from_millis(50));
            release.store(true, Ordering::SeqCst);
            let _ = first.join();
        });
        // The abandoned jobs are dropped unrun and the pool works again.
        assert!(matches!(pool.run(Duration::from_secs(5), |_| 1), Ok(1)));
    }
}
