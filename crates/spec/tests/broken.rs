//! Deliberately broken implementations of the timeout contract, one flaw each, showing that every
//! check in `bothways_spec::timeout` can fail — a check is trusted only once it has been seen to.
//!
//! The spec crate must not depend on a real implementation, so the baseline is written here with
//! std alone: a thread per bounded call with a cancel flag, a fetch that carries one deadline
//! through every blocking call and has a watchdog thread wake its read at that deadline, and an
//! accept that polls a non-blocking listener. Module
//! `baseline` runs the whole suite against it, so when a variant fails a check, the one change
//! that variant makes is to blame.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bothways_spec::check::panic_text;
use bothways_spec::recorder::Recorder;
use bothways_spec::timeout::{Error, TimeoutSpec};
use bothways_wire::Error as WireError;

/// How many bounded operations may run at once; a call waits for a free slot until its deadline.
/// As many as the suite's panics in a row, so a flaw that loses a slot per panic shows up on
/// the calls after them, the "pool survives" half of the check.
const SLOTS: usize = 16;
/// The longest nap of the polling accept: how late a connection can be noticed.
const NAP: Duration = Duration::from_millis(5);
/// How often [`Flaw::PollsForAnswer`] looks for its answer.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// The one thing a broken variant gets wrong, and the check that catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// The `i`th instant operation returns `i + 1`: `fast_operation_returns_its_value`.
    OffByOne,
    /// Gives up at half the limit: `slow_operation_elapses_within_bound`.
    ElapsesEarly,
    /// Looks for the answer every 500 ms instead of waiting on it, so both the answer and the
    /// `Elapsed` come late: `slow_operation_elapses_within_bound`,
    /// `finishing_at_the_limit_gives_one_answer`.
    PollsForAnswer,
    /// Returns the message with its newline: `whole_message_arrives_within_deadline`.
    KeepsNewline,
    /// Gives every read the whole limit, with no deadline over them all (and no watchdog): a
    /// peer that drips one byte just often enough is never cut off.
    /// `one_deadline_bounds_a_dripping_read`.
    PerReadTimeout,
    /// Ends a timed-out fetch 5% of its limit late, as a read bounded only by its socket
    /// timeout does once the kernel has rounded it up: `fetch_line_keeps_its_deadline`.
    ElapsesLate,
    /// Tells the caller `Elapsed` but never tells the worker to stop:
    /// `no_progress_after_deadline`.
    NeverCancels,
    /// Keeps a timed-out connection "for reuse" in a cache nothing takes from, so it stays open:
    /// `connection_closed_after_deadline`, and its files `no_leak_after_many_timeouts`.
    ParksTimedOutSocket,
    /// A worker, once it has answered, waits to be reused, but nothing reuses it:
    /// `no_leak_after_many_timeouts`.
    LingeringWorkers,
    /// Accepts with a fixed 1 s timeout whatever the limit:
    /// `accept_elapses_when_nobody_connects`.
    AcceptFixedTimeout,
    /// Takes the non-blocking listener's first `WouldBlock` for the deadline:
    /// `accept_returns_the_connection`.
    AcceptWouldBlockIsElapsed,
    /// Sets the shared listener back to blocking when it returns, stranding a concurrent caller
    /// in a blocking accept past its deadline: `concurrent_callers_keep_their_own_deadlines`.
    AcceptRestoresBlocking,
    /// Takes a zero limit to mean no limit, as many C APIs do: `zero_limit_elapses_at_once`.
    ZeroMeansNoLimit,
    /// Re-raises the operation's panic on the caller:
    /// `panic_becomes_typed_error_and_pool_survives`.
    PanicPropagates,
    /// Does not catch the panic on the worker, so the caller only sees its channel hang up:
    /// `panic_becomes_typed_error_and_pool_survives`.
    PanicUncaught,
    /// Frees the worker's slot on the line after the operation, which a panic skips, so the
    /// implementation runs out of slots: `panic_becomes_typed_error_and_pool_survives`.
    PanicLeaksSlot,
    /// Computes the deadline as `Instant::now() + limit`, which panics for `Duration::MAX`:
    /// `huge_limit_means_no_limit`.
    UncheckedDeadline,
    /// Buffers until the newline whatever `max_len`: `overlong_line_is_a_typed_error`.
    UnboundedLine,
    /// Returns what came before the peer closed as if it were the message:
    /// `eof_before_newline_is_a_typed_error`.
    EofIsMessage,
    /// Reports every connect error as the deadline: `refused_connection_is_a_typed_error`.
    ConnectErrorIsElapsed,
    /// The classic threads mistake: runs the fetch, with no deadline of its own, on a worker
    /// and stops waiting for it at the deadline. The caller gets `Elapsed`; the worker stays
    /// blocked in `read`, holding the connection open: `connection_closed_after_deadline`.
    AbandonsBlockedRead,
}

/// The baseline (`flaw: None`) or one broken variant of it.
#[derive(Debug)]
struct Imp {
    flaw: Option<Flaw>,
    shared: Arc<Shared>,
    /// Workers that may still be running, joined on drop.
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Where [`Flaw::ParksTimedOutSocket`] keeps its connections.
    parked: Mutex<Vec<TcpStream>>,
}

/// What the callers and the workers of one [`Imp`] share.
#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when a slot is freed or the implementation is closing.
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    busy: usize,
    /// Set when the [`Imp`] is dropped: test cleanup, so that whatever a flaw left running ends
    /// with its test instead of disturbing the tests after it in this process.
    closing: bool,
}

/// What an operation looks at to know it should stop.
#[derive(Debug, Clone)]
struct Cancel {
    call: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

impl Cancel {
    fn is_set(&self) -> bool {
        self.call.load(Ordering::SeqCst) || lock(&self.shared.state).closing
    }
}

impl Shared {
    /// Takes a slot, waiting for one until `deadline`.
    fn take_slot(&self, deadline: Option<Instant>) -> Result<(), Error> {
        let mut state = lock(&self.state);
        while state.busy >= SLOTS {
            state = match remaining(deadline)? {
                Some(left) => self
                    .changed
                    .wait_timeout(state, left)
                    .map(|(s, _)| s)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0),
                None => self
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
            };
        }
        state.busy += 1;
        Ok(())
    }

    fn free_slot(&self) {
        lock(&self.state).busy -= 1;
        self.changed.notify_all();
    }

    fn close(&self) {
        // Set under the lock, so a waiter cannot miss it between looking and waiting.
        lock(&self.state).closing = true;
        self.changed.notify_all();
    }

    fn wait_until_closing(&self) {
        let state = lock(&self.state);
        let _closing = self
            .changed
            .wait_while(state, |state| !state.closing)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

impl Imp {
    fn new(flaw: Option<Flaw>) -> Self {
        Imp {
            flaw,
            shared: Arc::default(),
            workers: Mutex::default(),
            parked: Mutex::default(),
        }
    }

    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    /// When an operation given `limit` from now must be over; `None` for no deadline.
    fn deadline(&self, limit: Duration) -> Option<Instant> {
        match self.flaw {
            Some(Flaw::ElapsesEarly) => Instant::now().checked_add(limit / 2),
            Some(Flaw::ZeroMeansNoLimit) if limit.is_zero() => None,
            Some(Flaw::UncheckedDeadline) => Some(Instant::now() + limit),
            // A limit too large to add to the clock means no deadline, not an overflow panic.
            _ => Instant::now().checked_add(limit),
        }
    }

    /// Runs `op` on a thread of its own and waits for it until the deadline; at the deadline
    /// the caller gets `Elapsed` and the operation's cancel flag is set. std threads cannot be
    /// stopped from outside, so `op` must look at the flag.
    fn run<T, F>(&self, limit: Duration, op: F) -> Result<T, Error>
    where
        F: FnOnce(&Cancel) -> T + Send + 'static,
        T: Send + 'static,
    {
        let deadline = self.deadline(limit);
        self.shared.take_slot(deadline)?;
        let cancel = Cancel {
            call: Arc::default(),
            shared: Arc::clone(&self.shared),
        };
        // Capacity 1: the worker's one send never blocks, even when its caller has gone.
        let (reply, answer) = mpsc::sync_channel(1);
        let worker = {
            let cancel = cancel.clone();
            let flaw = self.flaw;
            thread::Builder::new()
                .name("broken-worker".into())
                .spawn(move || {
                    let outcome = match flaw {
                        Some(Flaw::PanicUncaught) => Ok(op(&cancel)),
                        Some(Flaw::PanicLeaksSlot) => catch_unwind(AssertUnwindSafe(|| {
                            let value = op(&cancel);
                            cancel.shared.free_slot();
                            value
                        })),
                        _ => catch_unwind(AssertUnwindSafe(|| op(&cancel))),
                    };
                    let _ = reply.send(outcome);
                    if flaw != Some(Flaw::PanicLeaksSlot) {
                        // After the unwind was caught, so a panicking operation frees its slot too.
                        cancel.shared.free_slot();
                    }
                    if flaw == Some(Flaw::LingeringWorkers) {
                        cancel.shared.wait_until_closing();
                    }
                })
        };
        let worker = match worker {
            Ok(worker) => worker,
            Err(e) => {
                self.shared.free_slot();
                return Err(Error::Io(e.kind()));
            }
        };
        {
            let mut workers = lock(&self.workers);
            // Dropping a finished worker's handle is enough: a thread that has returned leaves
            // the process on its own, joined or not.
            workers.retain(|w| !w.is_finished());
            workers.push(worker);
        }
        match self.wait(&answer, deadline) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) if self.has(Flaw::PanicPropagates) => resume_unwind(payload),
            Ok(Err(payload)) => Err(Error::Panicked {
                message: panic_text(&*payload),
            }),
            Err(RecvTimeoutError::Timeout) => {
                if !self.has(Flaw::NeverCancels) {
                    cancel.call.store(true, Ordering::SeqCst);
                }
                Err(Error::Elapsed)
            }
            Err(RecvTimeoutError::Disconnected) => {
                Err(Error::Other("the worker ended without an answer".into()))
            }
        }
    }

    fn wait<T>(
        &self,
        answer: &Receiver<T>,
        deadline: Option<Instant>,
    ) -> Result<T, RecvTimeoutError> {
        if self.has(Flaw::PollsForAnswer) {
            loop {
                match answer.try_recv() {
                    Ok(value) => return Ok(value),
                    Err(TryRecvError::Disconnected) => return Err(RecvTimeoutError::Disconnected),
                    Err(TryRecvError::Empty) => {}
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(RecvTimeoutError::Timeout);
                }
                thread::sleep(POLL_EVERY);
            }
        }
        match deadline {
            Some(deadline) => {
                answer.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            }
            None => answer.recv().map_err(|_| RecvTimeoutError::Disconnected),
        }
    }

    // `connect` and `read_line` take the flaw rather than `&self`, so that
    // [`Flaw::AbandonsBlockedRead`] can run them on a worker thread.

    fn connect(
        flaw: Option<Flaw>,
        addr: SocketAddr,
        deadline: Option<Instant>,
    ) -> Result<TcpStream, Error> {
        let connected = match remaining(deadline)? {
            Some(left) => TcpStream::connect_timeout(&addr, left),
            None => TcpStream::connect(addr),
        };
        connected.map_err(|e| {
            if is_timeout(e.kind()) || flaw == Some(Flaw::ConnectErrorIsElapsed) {
                Error::Elapsed
            } else {
                Error::Io(e.kind())
            }
        })
    }

    fn read_line(
        flaw: Option<Flaw>,
        stream: &mut TcpStream,
        limit: Duration,
        deadline: Option<Instant>,
        max_len: usize,
    ) -> Result<Vec<u8>, Error> {
        let max = if flaw == Some(Flaw::UnboundedLine) {
            usize::MAX
        } else {
            max_len
        };
        let mut line = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            // The read timeout is recomputed from the one deadline before every read.
            let timeout = if flaw == Some(Flaw::PerReadTimeout) {
                Some(limit)
            } else {
                remaining(deadline)?
            };
            stream
                .set_read_timeout(timeout)
                .map_err(|e| Error::Io(e.kind()))?;
            // Read at most one byte past the longest line — its newline, or the proof that it
            // is too long — so nothing beyond `max + 1` bytes is ever buffered.
            let room = max
                .saturating_add(1)
                .saturating_sub(line.len())
                .min(chunk.len());
            match stream.read(&mut chunk[..room]) {
                // The watchdog's shutdown reads as EOF: past the deadline it is the deadline's.
                Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => {
                    return Err(Error::Elapsed);
                }
                Ok(0) if flaw == Some(Flaw::EofIsMessage) => return Ok(line),
                Ok(0) => {
                    return Err(Error::Wire(WireError::Closed {
                        received: line.len(),
                    }));
                }
                Ok(n) => {
                    let got = &chunk[..n];
                    if let Some(newline) = got.iter().position(|&b| b == b'\n') {
                        let end = if flaw == Some(Flaw::KeepsNewline) {
                            newline + 1
                        } else {
                            newline
                        };
                        line.extend_from_slice(&got[..end]);
                        return Ok(line);
                    }
                    line.extend_from_slice(got);
                    if line.len() > max {
                        return Err(Error::Wire(WireError::LineTooLong { max }));
                    }
                }
                // A timed-out read goes round again, and the loop re-reads the deadline.
                Err(e) if is_timeout(e.kind()) || e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Io(e.kind())),
            }
        }
    }

    fn accept_until(
        &self,
        listener: &TcpListener,
        deadline: Option<Instant>,
    ) -> Result<SocketAddr, Error> {
        loop {
            match listener.accept() {
                Ok((_stream, peer)) => return Ok(peer),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if self.has(Flaw::AcceptWouldBlockIsElapsed) {
                        return Err(Error::Elapsed);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::Io(e.kind())),
            }
            let left = remaining(deadline)?;
            thread::sleep(left.map_or(NAP, |left| left.min(NAP)));
        }
    }
}

impl TimeoutSpec for Imp {
    fn instant(&self, n: u32, limit: Duration) -> Result<u64, Error> {
        let mut sum = 0;
        for i in 0..n {
            let value = u64::from(i) + u64::from(self.has(Flaw::OffByOne));
            sum += self.run(limit, move |_| value)?;
        }
        Ok(sum)
    }

    fn steps(
        &self,
        steps: u32,
        step: Duration,
        recorder: &Recorder,
        limit: Duration,
    ) -> Result<u32, Error> {
        let recorder = recorder.clone();
        self.run(limit, move |cancel| {
            let mut done = 0;
            // The flag is read between steps; a step is short enough (≤ 10 ms in the suite)
            // that a plain sleep stops well within the 50 ms the suite allows.
            while done < steps && !cancel.is_set() {
                recorder.record();
                thread::sleep(step);
                done += 1;
            }
            done
        })
    }

    fn fetch_line(
        &self,
        addr: SocketAddr,
        limit: Duration,
        max_len: usize,
    ) -> Result<Vec<u8>, Error> {
        if self.has(Flaw::AbandonsBlockedRead) {
            let flaw = self.flaw;
            let fetch = move |_: &Cancel| {
                let mut stream = Imp::connect(flaw, addr, None)?;
                Imp::read_line(flaw, &mut stream, limit, None, max_len)
            };
            return self.run(limit, fetch).and_then(|line| line);
        }
        let deadline = self.deadline(limit);
        let mut stream = Imp::connect(self.flaw, addr, deadline)?;
        let watchdog = match deadline {
            Some(deadline) if !self.has(Flaw::PerReadTimeout) => Some(watch(&stream, deadline)?),
            _ => None,
        };
        let line = Imp::read_line(self.flaw, &mut stream, limit, deadline, max_len);
        if let Some((done, watchdog)) = watchdog {
            drop(done);
            let _ = watchdog.join();
        }
        if line == Err(Error::Elapsed)
            && self.has(Flaw::ElapsesLate)
            && let Some(late) = deadline.and_then(|d| d.checked_add(limit / 20))
        {
            thread::sleep(late.saturating_duration_since(Instant::now()));
        }
        if line == Err(Error::Elapsed) && self.has(Flaw::ParksTimedOutSocket) {
            lock(&self.parked).push(stream);
        }
        // Otherwise the stream is dropped here, and the peer sees the connection close.
        line
    }

    fn accept(&self, listener: &TcpListener, limit: Duration) -> Result<SocketAddr, Error> {
        let limit = if self.has(Flaw::AcceptFixedTimeout) {
            Duration::from_secs(1)
        } else {
            limit
        };
        let deadline = self.deadline(limit);
        // std's accept has no timeout, so poll a non-blocking listener, and leave it so: the
        // mode is the socket's, shared with any concurrent caller.
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Io(e.kind()))?;
        let accepted = self.accept_until(listener, deadline);
        if self.has(Flaw::AcceptRestoresBlocking) {
            listener
                .set_nonblocking(false)
                .map_err(|e| Error::Io(e.kind()))?;
        }
        accepted
    }

    fn panics(&self, message: &'static str, limit: Duration) -> Result<(), Error> {
        self.run(limit, move |_| explode(message))
    }
}

impl Drop for Imp {
    fn drop(&mut self) {
        // Test cleanup, not behaviour under test: end whatever a flaw left running or open.
        self.shared.close();
        for worker in std::mem::take(&mut *lock(&self.workers)) {
            let _ = worker.join();
        }
        lock(&self.parked).clear();
    }
}

fn explode(message: &str) {
    panic!("{message}");
}

/// The time left before `deadline`, to hand to a blocking call as its timeout; `None` when there
/// is no deadline. Never `Some(Duration::ZERO)`, which `set_read_timeout` refuses: once the time
/// is up this is `Elapsed`.
fn remaining(deadline: Option<Instant>) -> Result<Option<Duration>, Error> {
    match deadline {
        None => Ok(None),
        Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
            Some(left) if !left.is_zero() => Ok(Some(left)),
            _ => Err(Error::Elapsed),
        },
    }
}

/// Starts a watchdog that shuts the reading half of `stream` down at `deadline`, waking a read
/// blocked on it: a socket timeout alone ends the read only when the kernel's coarse timer
/// fires, tens of milliseconds late. Dropping the returned sender stops the watchdog early;
/// join it then. Only the reading half, so that a flaw that keeps the stream open
/// ([`Flaw::ParksTimedOutSocket`]) really does keep the connection open.
fn watch(
    stream: &TcpStream,
    deadline: Instant,
) -> Result<(mpsc::Sender<()>, JoinHandle<()>), Error> {
    let clone = stream.try_clone().map_err(|e| Error::Io(e.kind()))?;
    let (done, stop) = mpsc::channel::<()>();
    let watchdog = thread::Builder::new()
        .name("broken-watchdog".into())
        .spawn(move || {
            let left = deadline.saturating_duration_since(Instant::now());
            if stop.recv_timeout(left) == Err(RecvTimeoutError::Timeout) {
                let _ = clone.shutdown(std::net::Shutdown::Read);
            }
        })
        .map_err(|e| Error::Io(e.kind()))?;
    Ok((done, watchdog))
}

/// How std reports a socket timeout: `WouldBlock` on Unix, `TimedOut` on Windows.
fn is_timeout(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is one push, retain or assignment: a poisoned lock still
    // guards whole data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

bothways_spec::broken_tests! {
    pattern: timeout, flaws: Flaw, build: |flaw| Imp::new(Some(flaw));
    off_by_one_fails_fast_operation_returns_its_value:
        OffByOne => fast_operation_returns_its_value, "the sum of 0..";
    elapses_early_fails_slow_operation_elapses_within_bound:
        ElapsesEarly => slow_operation_elapses_within_bound, "Elapsed no earlier than";
    polls_for_answer_fails_slow_operation_elapses_within_bound:
        PollsForAnswer => slow_operation_elapses_within_bound, "Elapsed no later than";
    keeps_newline_fails_whole_message_arrives_within_deadline:
        KeepsNewline => whole_message_arrives_within_deadline, "Ok(\"hello, bothways\")";
    per_read_timeout_fails_one_deadline_bounds_a_dripping_read:
        PerReadTimeout => one_deadline_bounds_a_dripping_read, "to end in Elapsed";
    elapses_late_fails_fetch_line_keeps_its_deadline:
        ElapsesLate => fetch_line_keeps_its_deadline, "less than 15.0 ms after its 1 s limit, in one of 3 rounds";
    never_cancels_fails_no_progress_after_deadline:
        NeverCancels => no_progress_after_deadline, "no side effect later than 50 ms";
    parks_timed_out_socket_fails_connection_closed_after_deadline:
        ParksTimedOutSocket => connection_closed_after_deadline, "the server to see the connection closed";
    accept_fixed_timeout_fails_accept_elapses_when_nobody_connects:
        AcceptFixedTimeout => accept_elapses_when_nobody_connects, "Elapsed no later than";
    accept_would_block_is_elapsed_fails_accept_returns_the_connection:
        AcceptWouldBlockIsElapsed => accept_returns_the_connection, "Ok(127.0.0.1:";
    accept_restores_blocking_fails_concurrent_callers_keep_their_own_deadlines:
        AcceptRestoresBlocking => concurrent_callers_keep_their_own_deadlines, "every caller to end in Elapsed";
    abandons_blocked_read_fails_connection_closed_after_deadline:
        AbandonsBlockedRead => connection_closed_after_deadline, "the server to see the connection closed";
    lingering_workers_fail_no_leak_after_many_timeouts:
        LingeringWorkers => no_leak_after_many_timeouts, "threads";
    // Each parked socket also pins the server's reader for it, so the thread count trips
    // first; either count going up is the leak.
    parks_timed_out_socket_fails_no_leak_after_many_timeouts:
        ParksTimedOutSocket => no_leak_after_many_timeouts, "as before";
    zero_means_no_limit_fails_zero_limit_elapses_at_once:
        ZeroMeansNoLimit => zero_limit_elapses_at_once, "under a zero limit to end in Elapsed";
    polls_for_answer_fails_finishing_at_the_limit_gives_one_answer:
        PollsForAnswer => finishing_at_the_limit_gives_one_answer, "an answer within";
    panic_propagates_fails_panic_becomes_typed_error_and_pool_survives:
        PanicPropagates => panic_becomes_typed_error_and_pool_survives, "a typed error";
    panic_uncaught_fails_panic_becomes_typed_error_and_pool_survives:
        PanicUncaught => panic_becomes_typed_error_and_pool_survives, "Panicked";
    panic_leaks_slot_fails_panic_becomes_typed_error_and_pool_survives:
        PanicLeaksSlot => panic_becomes_typed_error_and_pool_survives, "after the panics";
    unchecked_deadline_fails_huge_limit_means_no_limit:
        UncheckedDeadline => huge_limit_means_no_limit, "no panic to reach the caller";
    unbounded_line_fails_overlong_line_is_a_typed_error:
        UnboundedLine => overlong_line_is_a_typed_error, "LineTooLong";
    eof_is_message_fails_eof_before_newline_is_a_typed_error:
        EofIsMessage => eof_before_newline_is_a_typed_error, "Closed { received: 7 }";
    connect_error_is_elapsed_fails_refused_connection_is_a_typed_error:
        ConnectErrorIsElapsed => refused_connection_is_a_typed_error, "ConnectionRefused";
}

/// The baseline passes the whole suite, stamped exactly as for a real implementation, so each
/// variant's failure above comes from its one flaw.
mod baseline {
    bothways_spec::timeout_suite!(threads: || Ok::<_, std::convert::Infallible>(
        super::Imp::new(None)
    ));
}
