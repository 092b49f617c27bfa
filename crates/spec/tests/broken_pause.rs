//! Deliberately broken implementations of the pause contract, one flaw each, showing that every
//! check in `bothways_spec::pause` can fail — a check is trusted only once it has been seen to.
//!
//! The spec crate must not depend on a real implementation, so the baseline is written here with
//! std alone: a worker thread on a `sync_channel`, polling its input every millisecond so that it
//! notices pause requests while idle, and a mutex-and-condvar handshake in which the worker
//! acknowledges at a safe point between items. Module `baseline` runs the whole suite against
//! it, so when a variant fails a check, the one change that variant makes is to blame.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bothways_spec::check::panic_text;
use bothways_spec::pause::{Error, Item, Log, PANIC_MESSAGE, PauseSpec, PauseWorker};

/// How often the idle worker looks for a pause request.
const POLL: Duration = Duration::from_millis(1);

/// The one thing a broken variant gets wrong, and the check that catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// The worker's park times out after 10 ms and it goes on, guard or not:
    /// `no_progress_while_paused`.
    ParkTimesOut,
    /// `pause()` returns as soon as the request is counted, without waiting for the worker to
    /// acknowledge: `long_item_is_waited_out`, `no_item_is_split`.
    NoAck,
    /// A worker that takes an item and then sees a pause request drops the item:
    /// `thousand_cycles_lose_nothing`.
    DropsItemOnPause,
    /// The input is unbounded: `input_bounded_while_paused`.
    UnboundedInput,
    /// The worker looks for pause requests only every 20 ms: `pause_is_quick_between_short_items`.
    SlowAck,
    /// `pause_within` ignores its deadline: `deadline_shorter_than_item_is_typed_error`.
    DeadlineIgnored,
    /// A `pause_within` that gives up does not withdraw its request, so the worker parks for
    /// good after the item: `deadline_shorter_than_item_is_typed_error`.
    TimeoutLeavesPaused,
    /// Paused is a flag, not a count: the first guard dropped resumes the worker while the
    /// second is still held: `two_pausers_both_hold_it`.
    FlagNotCount,
    /// The effect's panic is not caught: the worker thread dies without saying so, and a pause
    /// waits for it forever: `worker_panic_is_typed_error`.
    PanicHangs,
    /// The panic is caught but reported as a normal stop: `worker_panic_is_typed_error`.
    PanicIsStopped,
    /// On a closed input the worker ends without saying so, and a pause waits for it forever:
    /// `pause_after_stop_is_typed_error`.
    StopHangs,
}

/// The baseline (`flaw: None`) or one broken variant of it.
#[derive(Debug)]
struct Imp {
    flaw: Option<Flaw>,
}

impl Imp {
    fn new(flaw: Option<Flaw>) -> Self {
        Imp { flaw }
    }
}

#[derive(Debug)]
enum Input {
    Bounded(SyncSender<Item>),
    Unbounded(Sender<Item>),
}

/// What the callers and the worker share.
#[derive(Debug, Default)]
struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    pausers: usize,
    parked: bool,
    exit: Option<Error>,
}

#[derive(Debug)]
struct Started {
    flaw: Option<Flaw>,
    input: Mutex<Option<Input>>,
    gate: Arc<Gate>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

#[derive(Debug)]
struct Guard {
    flaw: Option<Flaw>,
    gate: Arc<Gate>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut state = lock(&self.gate.state);
        release(&mut state, self.flaw);
        self.gate.changed.notify_all();
    }
}

fn release(state: &mut State, flaw: Option<Flaw>) {
    if flaw == Some(Flaw::FlagNotCount) {
        state.pausers = 0;
    } else {
        state.pausers = state.pausers.saturating_sub(1);
    }
}

impl PauseSpec for Imp {
    type Worker = Started;

    fn start(&self, capacity: usize, log: &Log) -> Result<Started, Error> {
        let flaw = self.flaw;
        let (input, rx) = if flaw == Some(Flaw::UnboundedInput) {
            let (tx, rx) = mpsc::channel();
            (Input::Unbounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::sync_channel(capacity);
            (Input::Bounded(tx), rx)
        };
        let gate = Arc::new(Gate::default());
        let thread = {
            let (gate, log) = (Arc::clone(&gate), log.clone());
            thread::spawn(move || work(flaw, &gate, &rx, &log))
        };
        Ok(Started {
            flaw,
            input: Mutex::new(Some(input)),
            gate,
            thread: Mutex::new(Some(thread)),
        })
    }
}

/// The worker thread.
fn work(flaw: Option<Flaw>, gate: &Gate, input: &Receiver<Item>, log: &Log) {
    let exit = loop {
        safe_point(flaw, gate);
        let item = match input.recv_timeout(POLL) {
            Ok(item) => item,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => {
                if flaw == Some(Flaw::StopHangs) {
                    return;
                }
                break Error::Stopped;
            }
        };
        if flaw == Some(Flaw::DropsItemOnPause) && lock(&gate.state).pausers > 0 {
            continue;
        }
        let apply = || {
            log.begin(&item);
            thread::sleep(item.work);
            if item.panics {
                panic!("{PANIC_MESSAGE}");
            }
            log.end(&item);
        };
        if flaw == Some(Flaw::PanicHangs) {
            apply();
            continue;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(apply)) {
            if flaw == Some(Flaw::PanicIsStopped) {
                break Error::Stopped;
            }
            break Error::Panicked {
                message: panic_text(payload.as_ref()),
            };
        }
    };
    let mut state = lock(&gate.state);
    state.exit = Some(exit);
    gate.changed.notify_all();
}

fn safe_point(flaw: Option<Flaw>, gate: &Gate) {
    let mut state = lock(&gate.state);
    if state.pausers == 0 {
        return;
    }
    if flaw == Some(Flaw::SlowAck) {
        drop(state);
        thread::sleep(Duration::from_millis(20));
        state = lock(&gate.state);
    }
    state.parked = true;
    gate.changed.notify_all();
    while state.pausers > 0 {
        if flaw == Some(Flaw::ParkTimesOut) {
            let (s, timeout) = gate
                .changed
                .wait_timeout(state, Duration::from_millis(10))
                .unwrap_or_else(PoisonError::into_inner);
            state = s;
            if timeout.timed_out() {
                break;
            }
        } else {
            state = gate
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
    state.parked = false;
}

impl Started {
    fn pause_until(&self, deadline: Option<Instant>) -> Result<Guard, Error> {
        let start = Instant::now();
        let mut state = lock(&self.gate.state);
        if let Some(exit) = &state.exit {
            return Err(exit.clone());
        }
        if self.flaw == Some(Flaw::FlagNotCount) {
            state.pausers = 1;
        } else {
            state.pausers += 1;
        }
        let guard = |gate: &Arc<Gate>| Guard {
            flaw: self.flaw,
            gate: Arc::clone(gate),
        };
        if self.flaw == Some(Flaw::NoAck) {
            return Ok(guard(&self.gate));
        }
        loop {
            if let Some(exit) = &state.exit {
                let exit = exit.clone();
                release(&mut state, self.flaw);
                self.gate.changed.notify_all();
                return Err(exit);
            }
            if state.parked {
                return Ok(guard(&self.gate));
            }
            let deadline = deadline.filter(|_| self.flaw != Some(Flaw::DeadlineIgnored));
            state = match deadline {
                None => self
                    .gate
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        self.gate
                            .changed
                            .wait_timeout(state, left)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    _ => {
                        if self.flaw != Some(Flaw::TimeoutLeavesPaused) {
                            release(&mut state, self.flaw);
                            self.gate.changed.notify_all();
                        }
                        return Err(Error::PauseTimeout {
                            waited: start.elapsed(),
                        });
                    }
                },
            };
        }
    }
}

impl PauseWorker for Started {
    type Guard = Guard;

    fn send(&self, item: Item) -> Result<(), Error> {
        let sent = match &*lock(&self.input) {
            None => return Err(Error::Stopped),
            // Cloned so that a send blocked on a full input does not hold the lock.
            Some(Input::Bounded(tx)) => Input::Bounded(tx.clone()),
            Some(Input::Unbounded(tx)) => Input::Unbounded(tx.clone()),
        };
        let sent = match sent {
            Input::Bounded(tx) => tx.send(item),
            Input::Unbounded(tx) => tx.send(item),
        };
        sent.map_err(|_| Error::Stopped)
    }

    fn pause(&self) -> Result<Guard, Error> {
        self.pause_until(None)
    }

    fn pause_within(&self, limit: Duration) -> Result<Guard, Error> {
        self.pause_until(Instant::now().checked_add(limit))
    }

    fn close(&self) {
        lock(&self.input).take();
    }

    fn finish(&self) -> Result<(), Error> {
        self.close();
        if let Some(thread) = lock(&self.thread).take() {
            thread.join().map_err(|p| Error::Panicked {
                message: panic_text(p.as_ref()),
            })?;
        }
        match &lock(&self.gate.state).exit {
            Some(Error::Stopped) | None => Ok(()),
            Some(other) => Err(other.clone()),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a few assignments: a poisoned lock still guards whole
    // data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

bothways_spec::broken_tests! {
    pattern: pause, flaws: Flaw, build: |flaw| Imp::new(Some(flaw));
    park_times_out_fails_no_progress_while_paused:
        ParkTimesOut => no_progress_while_paused, "no side effect inside any of the 20 pause windows";
    no_ack_fails_long_item_is_waited_out:
        NoAck => long_item_is_waited_out, "the item to end before pause() returned";
    no_ack_fails_no_item_is_split:
        NoAck => no_item_is_split, "no item running during any of the 50 pause windows";
    drops_item_on_pause_fails_thousand_cycles_lose_nothing:
        DropsItemOnPause => thousand_cycles_lose_nothing, "each once, in order";
    unbounded_input_fails_input_bounded_while_paused:
        UnboundedInput => input_bounded_while_paused, "at most 8 items accepted while paused";
    slow_ack_fails_pause_is_quick_between_short_items:
        SlowAck => pause_is_quick_between_short_items, "a median pause latency under 10.0 ms";
    deadline_ignored_fails_deadline_shorter_than_item_is_typed_error:
        DeadlineIgnored => deadline_shorter_than_item_is_typed_error, "PauseTimeout";
    timeout_leaves_paused_fails_deadline_shorter_than_item_is_typed_error:
        TimeoutLeavesPaused => deadline_shorter_than_item_is_typed_error, "the worker to go on after the failed pause";
    flag_not_count_fails_two_pausers_both_hold_it:
        FlagNotCount => two_pausers_both_hold_it, "no side effect while either guard was held";
    panic_hangs_fails_worker_panic_is_typed_error:
        PanicHangs => worker_panic_is_typed_error, "to answer within";
    panic_is_stopped_fails_worker_panic_is_typed_error:
        PanicIsStopped => worker_panic_is_typed_error, "Panicked";
    stop_hangs_fails_pause_after_stop_is_typed_error:
        StopHangs => pause_after_stop_is_typed_error, "to answer within";
}

/// The baseline passes the whole suite, stamped exactly as for a real implementation, so each
/// variant's failure above comes from its one flaw.
mod baseline {
    bothways_spec::pause_suite!(threads: || Ok::<_, std::convert::Infallible>(
        super::Imp::new(None)
    ));
}
