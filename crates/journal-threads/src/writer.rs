//! The writer's state and the effect the pausable worker applies to each command: buffer,
//! broadcast, flush, and fsync once for every appender waiting at the same moment.
//!
//! Why this file and its async twin differ: waking a sleeping thread costs what waking a task
//! does not, so here appenders wait for their fsync on a mutex and condvar they first nap and
//! yield around, and the writer sleeps until its group is in; the async writer moves its
//! blocking file work into `spawn_blocking` and lets appenders wait on a watch channel. The
//! group-commit rule and the poisoning are the same in both.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use bothways_journal_format::{Directory, Event, ReplayPlan, encode_record};
use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::{Durability, Error};

/// Past this many buffered bytes the writer hands them to the OS without waiting for a flush.
const BUFFER: usize = 256 << 10;
/// At most this many appenders share one fsync, so that a steady stream of appends whose input
/// is never empty still gets answered.
const GROUP_MAX: usize = 1024;

/// How many times an appender waiting for its fsync yields before it sleeps ([`Durable::wait_for`]):
/// with 16 waiters on 2 cores, about the length of an fsync here; alone, a few microseconds.
const SPIN_YIELDS: usize = 20;

/// What an acknowledgement carries: a writer failure is shared by many waiters, so as text.
pub(crate) type Ack = Sender<Result<(), String>>;

/// One command to the writer, in the order appenders took their sequence numbers.
#[derive(Debug)]
pub(crate) enum Command {
    /// Under [`Durability::Append`], its appender then waits in [`Durable::wait_for`].
    Append {
        seq: u64,
        payload: Vec<u8>,
    },
    Flush(Ack),
    Tick,
    Close(Ack),
}

/// A live subscriber's bounded queue, and the flag that tells it why the queue was closed.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) tx: Sender<Event>,
    pub(crate) lagged: Arc<AtomicBool>,
}

/// How far the file is on disk: the one value every appender under [`Durability::Append`]
/// waits on. An fsync answers its whole group by moving the mark once and waking them all;
/// no channel is made per append.
// Threads: a Mutex and a Condvar, and a copy of the mark that waiters read without the lock
// while they yield a few times before they sleep (see `wait_for`). Not a crossbeam channel per
// append: the writer would wake its appenders one `send` (one syscall) at a time. The async
// journal uses a tokio watch channel, which is this pair made for tasks.
#[derive(Debug, Default)]
pub(crate) struct Durable {
    mark: Mutex<Mark>,
    moved: Condvar,
    /// The mark's `synced`, or `u64::MAX` once it has ended: written under the lock with the
    /// mark, read without it by waiters that have not gone to sleep yet.
    glimpse: AtomicU64,
    /// While the writer gathers a group: how many commands it waits for in its input, 0 when
    /// it does not. The appender whose command completes the count unparks the writer.
    gather: AtomicUsize,
    /// The writer's thread, for that unpark.
    writer: OnceLock<Thread>,
    /// Set once the mark ended with a failure: what every append looks at, one atomic load,
    /// before it takes the lock to learn the failure.
    poisoned: AtomicBool,
    /// When the fsync under way should end, by the last one's length ([`clock`]'s
    /// nanoseconds); 0 when none is under way.
    fsync_due: AtomicU64,
}

/// How long before an fsync's expected end a waiter sleeping through it asks to be woken: the
/// kernel's default timer slack (50 µs) and a margin.
const WAKE_EARLY: Duration = Duration::from_micros(80);

/// Nanoseconds on the process's monotonic clock, for what is shared in atomics.
fn clock() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The durable mark, and why it will move no more.
#[derive(Debug, Default)]
struct Mark {
    /// Every event up to this sequence number is fsynced.
    synced: u64,
    /// Set once nothing after `synced` will reach the disk: `Err` if a write or an fsync
    /// failed, `Ok` if the writer stopped.
    ended: Option<Result<(), String>>,
}

impl Durable {
    fn mark(&self) -> MutexGuard<'_, Mark> {
        // Every critical section is an assignment or a comparison, which cannot panic halfway.
        self.mark.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, change: impl FnOnce(&mut Mark)) {
        {
            let mut mark = self.mark();
            change(&mut mark);
            let glimpse = if mark.ended.is_some() {
                u64::MAX
            } else {
                mark.synced
            };
            self.glimpse.store(glimpse, Ordering::Release);
        }
        self.moved.notify_all();
    }

    /// Waits until event `seq` is fsynced, or the writer says it never will be.
    ///
    /// Threads: a waiter that arrives while an fsync is under way naps until shortly before
    /// that fsync should end (by the last one's length), then yields its CPU up to
    /// [`SPIN_YIELDS`] times, looking at the mark between yields, and only then sleeps on the
    /// condvar until the mark moves. While it waits the writer is in `fdatasync`, in the
    /// kernel, and needs no CPU; a waiter still awake when the mark moves needs no wake-up, and
    /// waking 16 sleeping threads one by one on 2 cores, after the fsync, is what kept group
    /// commit at half the disk's rate. The nap moves each wake-up to before the fsync ends,
    /// where the disk's time hides it, and saves the yields that would fill that time: they
    /// cost CPU (twice as much per durable append with yields alone). Tasks have nothing to
    /// gain from any of this: waking one is a queue push.
    pub(crate) fn wait_for(&self, seq: u64) -> Result<(), Error> {
        // Threads: through most of an fsync under way the waiter sleeps, with a timeout, so as
        // to be awake — its wake-up paid while the disk works — when the fsync should end.
        let due = self.fsync_due.load(Ordering::Acquire);
        let early = WAKE_EARLY.as_nanos() as u64;
        let now = clock();
        if due > now + early && self.glimpse.load(Ordering::Acquire) < seq {
            let mark = self.mark();
            if mark.synced < seq && mark.ended.is_none() {
                let nap = Duration::from_nanos(due - now - early);
                let _ = self
                    .moved
                    .wait_timeout(mark, nap)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        for _ in 0..SPIN_YIELDS {
            if self.glimpse.load(Ordering::Acquire) >= seq {
                break;
            }
            thread::yield_now();
        }
        // The answer, whichever way the wait ended, is the mark's under its lock.
        let mut mark = self.mark();
        loop {
            if mark.synced >= seq {
                return Ok(());
            }
            match &mark.ended {
                Some(Err(message)) => {
                    return Err(Error::Failed {
                        message: message.clone(),
                    });
                }
                Some(Ok(())) => return Err(Error::Closed),
                None => {}
            }
            mark = self
                .moved
                .wait(mark)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Told by an appender once its command is in, with how many commands were then queued:
    /// the one that completes the group the writer gathers wakes it.
    pub(crate) fn arrived(&self, queued: usize) {
        // Pairs with the fence in `gather`: either the writer sees this command in its input
        // or this appender sees the writer's count (a store then a load on each side).
        fence(Ordering::SeqCst);
        let want = self.gather.load(Ordering::Relaxed);
        if want != 0
            && queued >= want
            && self
                .gather
                .compare_exchange(want, 0, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && let Some(writer) = self.writer.get()
        {
            writer.unpark();
        }
    }

    /// The writer sleeps until `want` commands are in `input`, or until `deadline`: a missed
    /// wake-up costs at most the deadline, never a hang.
    fn gather(&self, input: &Receiver<Command>, want: usize, deadline: Instant) {
        self.writer.get_or_init(thread::current);
        self.gather.store(want, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        loop {
            let now = Instant::now();
            if input.len() >= want || now >= deadline || self.gather.load(Ordering::Relaxed) == 0 {
                break;
            }
            thread::park_timeout(deadline - now);
        }
        self.gather.store(0, Ordering::Relaxed);
    }

    /// The failure that ended the mark, if a write or an fsync failed: the journal is poisoned
    /// and refuses every later append. (After a failed fsync the kernel may have dropped the
    /// pages it could not write, so a retried fsync could report success for data that is
    /// gone: nothing is retried.)
    // Inlined so that an append's check is the one load below, not a call that saves
    // registers and writes a large `Option<Error>` (measured: 21–32 instructions an append).
    #[inline]
    pub(crate) fn failure(&self) -> Option<Error> {
        if !self.poisoned.load(Ordering::Acquire) {
            return None;
        }
        match &self.mark().ended {
            Some(Err(message)) => Some(Error::Failed {
                message: message.clone(),
            }),
            _ => None,
        }
    }

    fn end(&self, outcome: Result<(), String>) {
        // The first ending is the one that stays: a failure is not overwritten by the close.
        self.update(|mark| {
            if mark.ended.get_or_insert(outcome).is_err() {
                self.poisoned.store(true, Ordering::Release);
            }
        });
    }
}

/// Ends [`Durable`] when the writer's effect is dropped, that is when the writer stops for
/// any reason, a panic included: no appender waits for an fsync that cannot come.
#[derive(Debug)]
struct CloseOnDrop(Arc<Durable>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.end(Ok(()));
    }
}

/// The journal's directory and everything the writer keeps. Shared with `subscribe` and
/// `prune`, which take it only while the writer is paused, so the lock is never contended on
/// the hot path.
#[derive(Debug)]
pub(crate) struct State {
    directory: Directory,
    buf: Vec<u8>,
    /// The sequence number of the next event the writer will write.
    pub(crate) next_seq: u64,
    pub(crate) subscribers: Vec<Live>,
    durable: Arc<Durable>,
    /// How many appenders wait for the next fsync.
    waiting: usize,
    /// How many appenders the last fsync answered, and how long it took: the group the writer
    /// expects back, and how long it may wait for it.
    last_group: usize,
    last_fsync: Duration,
    /// When the writer stops waiting for the rest of the group.
    group_deadline: Option<Instant>,
    failed: Option<String>,
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic inside the effect is caught by the worker; the state it leaves is whole between
    // statements that matter (the buffer is only cleared after a successful write).
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(crate) fn new(directory: Directory, durable: Arc<Durable>) -> Self {
        // What the journal held when it was opened is on disk: `open` fsynced it.
        let next_seq = directory.next_seq();
        durable.update(|mark| mark.synced = next_seq.saturating_sub(1));
        State {
            directory,
            buf: Vec::with_capacity(BUFFER),
            next_seq,
            subscribers: Vec::new(),
            durable,
            waiting: 0,
            last_group: 0,
            last_fsync: Duration::ZERO,
            group_deadline: None,
            failed: None,
        }
    }

    pub(crate) fn check(&self) -> Result<(), Error> {
        match &self.failed {
            Some(message) => Err(Error::Failed {
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Hands the buffer to the OS, and fsyncs if asked. A failure is kept: the journal refuses
    /// everything after it rather than leave a gap in the file.
    pub(crate) fn flush(&mut self, fsync: bool) -> Result<(), Error> {
        self.check()?;
        let result = self.directory.write(&self.buf).and_then(|()| {
            if fsync {
                self.directory.sync_data()
            } else {
                Ok(())
            }
        });
        match result {
            Ok(()) => {
                self.buf.clear();
                if fsync {
                    // Every event written so far is on disk: its appenders may return.
                    let synced = self.next_seq.saturating_sub(1);
                    self.durable.update(|mark| mark.synced = synced);
                    self.waiting = 0;
                }
                Ok(())
            }
            Err(e) => {
                self.fail(e.to_string());
                Err(e.into())
            }
        }
    }

    /// The last flush, at close: the zeros preallocated after the records are cut off, so a
    /// closed journal ends at its last record.
    fn close(&mut self, fsync: bool) -> Result<(), Error> {
        self.flush(fsync)?;
        self.directory.close(fsync).map_err(|e| {
            self.fail(e.to_string());
            e.into()
        })
    }

    /// Where a subscriber from `from` reads its history, taken while the writer is paused:
    /// everything appended so far is handed to the OS first, so the history ends where live
    /// events begin. `Pruned` if `from` is before the first event kept.
    pub(crate) fn plan(&mut self, from: u64) -> Result<ReplayPlan, Error> {
        self.check()?;
        self.flush(false)?;
        let first = self.directory.first();
        let from = from.max(1);
        if from < first {
            return Err(Error::Pruned { from, first });
        }
        Ok(self.directory.plan(from))
    }

    /// Keeps the first failure, and tells the appenders waiting for an fsync.
    fn fail(&mut self, message: String) {
        self.durable.end(Err(message.clone()));
        self.failed = Some(message);
    }

    fn write(&mut self, seq: u64, payload: Vec<u8>) {
        if self.failed.is_some() {
            return;
        }
        // `append` refused oversized payloads before they got a sequence number.
        if let Err(e) = encode_record(seq, &payload, &mut self.buf) {
            self.fail(e.to_string());
            return;
        }
        self.next_seq = seq + 1;
        if self.buf.len() >= BUFFER {
            let _ = self.flush(false);
        }
        self.broadcast(Event { seq, payload });
    }

    /// Offers the event to every subscriber without ever waiting: a full queue disconnects its
    /// subscriber with `Lagged`, so one slow reader neither stalls the writer nor grows memory.
    fn broadcast(&mut self, event: Event) {
        let last = self.subscribers.len().saturating_sub(1);
        let mut event = Some(event);
        let mut i = 0;
        self.subscribers.retain(|live| {
            let mine = if i == last {
                event.take()
            } else {
                event.clone()
            };
            i += 1;
            let Some(mine) = mine else { return false };
            match live.tx.try_send(mine) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    live.lagged.store(true, Ordering::Release);
                    false
                }
                Err(TrySendError::Disconnected(_)) => false,
            }
        });
    }

    fn answer_waiting(&mut self) {
        let start = Instant::now();
        self.last_group = self.waiting;
        let due = clock() + self.last_fsync.as_nanos() as u64;
        self.durable.fsync_due.store(due, Ordering::Release);
        // The outcome reaches the appenders through `durable`, a failure included.
        let _ = self.flush(true);
        self.durable.fsync_due.store(0, Ordering::Release);
        self.last_fsync = start.elapsed();
        self.group_deadline = None;
    }

    /// Keeps only the events after `after`: the low-water mark is written (synced, renamed,
    /// the directory synced), then the segments wholly below it are deleted.
    pub(crate) fn prune(&mut self, after: u64) -> Result<(), Error> {
        // Handed to the OS, not synced: the mark is clamped to what was written, and a crash
        // that loses unsynced events below it is met at open (numbers go on from the mark).
        self.flush(false)?;
        self.directory.prune(after).map_err(|e| {
            self.fail(e.to_string());
            e.into()
        })
    }
}

/// The worker's effect: applies one command, then, if appenders wait for an fsync and no
/// other command is queued behind this one, fsyncs once for all of them (group commit).
///
/// The appenders the last fsync answered are still waking up when the writer's input first
/// runs dry: fsyncing then would answer one or two of them and leave the rest for the next
/// fsync, halving the group. So while fewer than that group wait, the writer gives the rest up
/// to the last fsync's duration to come back — a late one would wait a whole fsync anyway.
pub(crate) fn effect(
    state: Arc<Mutex<State>>,
    durable: Arc<Durable>,
    input: Receiver<Command>,
    durability: Durability,
) -> impl FnMut(Command) + Send + 'static {
    let fsync_on_flush = durability != Durability::None;
    let state_arc = state;
    let closer = CloseOnDrop(durable);
    move |command| {
        let _moved_in = &closer; // so it is dropped with the effect, when the writer stops
        let mut state = lock(&state_arc);
        match command {
            Command::Append { seq, payload } => {
                state.write(seq, payload);
                if durability == Durability::Append {
                    state.waiting += 1;
                }
            }
            Command::Flush(ack) => {
                let _ = ack.send(state.flush(fsync_on_flush).map_err(|e| e.to_string()));
            }
            Command::Tick => {
                let _ = state.flush(fsync_on_flush);
            }
            Command::Close(ack) => {
                let _ = ack.send(state.close(fsync_on_flush).map_err(|e| e.to_string()));
                // Dropping the queues ends every subscription once it has drained.
                state.subscribers.clear();
            }
        }
        if state.waiting == 0 || state.failed.is_some() {
            return; // nobody waits, or they were told of the failure
        }
        if state.waiting < GROUP_MAX {
            if !input.is_empty() {
                return; // take what is queued first: it shares this fsync
            }
            if state.waiting < state.last_group {
                let patience = state.last_fsync;
                let deadline = *state
                    .group_deadline
                    .get_or_insert_with(|| Instant::now() + patience);
                let want = state.last_group - state.waiting;
                let durable = Arc::clone(&state.durable);
                drop(state);
                // Threads: the writer sleeps until the rest of the group is in its input or
                // the deadline passes, without taking the commands: the worker's loop takes
                // them, so a pause still falls between two commands. Waking at each command
                // instead would cost a context switch per appender, on two cores a large part
                // of the time between two fsyncs.
                durable.gather(&input, want, deadline);
                if !input.is_empty() {
                    return;
                }
                state = lock(&state_arc);
            }
        }
        state.answer_waiting();
    }
}
