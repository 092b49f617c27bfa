//! The pause pattern's contract: a worker that consumes a bounded input provably makes no
//! progress between `pause()` returning and the guard being dropped, never splits an item, and
//! answers every call with a value or a typed error — never a hang.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{Check, CheckResult, Failure, Figure, ensure, panic_text};
use crate::recorder::Recorder;

/// How long a "no progress" window is held open in the checks.
pub const WINDOW: Duration = Duration::from_millis(30);
/// How long any call may take to answer before the check calls it a hang.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// The pause latency the issue sets when items are short: the median must stay below it.
pub const QUICK: Duration = Duration::from_millis(10);
/// How late a `PauseTimeout` may come after its deadline: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(150);
/// How many pause/resume cycles the "nothing lost" check runs under load.
pub const CYCLES: usize = 1000;
/// The message a panicking item panics with.
pub const PANIC_MESSAGE: &str = "boom";

/// What a pause, or the worker, can end in, in words both styles share. Each implementation's
/// adapter maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The worker was still inside an item when the pause's deadline passed; the pause was
    /// withdrawn and the worker left running.
    #[error("could not pause: an item was still in progress after {waited:?}")]
    PauseTimeout {
        /// How long the caller waited.
        waited: Duration,
    },
    /// The worker panicked; callers get this instead of a hang.
    #[error("the worker panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// The worker has stopped: its input was closed and drained.
    #[error("the worker has stopped")]
    Stopped,
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// One unit of work: its id, how long it takes, and whether it panics halfway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// The item's id; the checks send ids in increasing order.
    pub id: u64,
    /// How long the item takes, waited out in the style's own way (a tokio sleep, a thread
    /// sleep).
    pub work: Duration,
    /// Whether the item panics with [`PANIC_MESSAGE`] after its work, instead of ending.
    pub panics: bool,
}

impl Item {
    /// An item that takes no time.
    pub fn quick(id: u64) -> Self {
        Item::slow(id, Duration::ZERO)
    }

    /// An item that takes `work`.
    pub fn slow(id: u64, work: Duration) -> Self {
        Item {
            id,
            work,
            panics: false,
        }
    }

    /// An item that takes `work`, then panics.
    pub fn panicking(id: u64, work: Duration) -> Self {
        Item {
            id,
            work,
            panics: true,
        }
    }
}

/// The side effects a worker applies, with their timestamps: one [`Recorder`] for the start of
/// each item and one for its end, plus the ids in the order they ended.
///
/// With one worker, items run one after another, so the `i`th begin and the `i`th end belong to
/// the same item.
///
/// ```
/// use bothways_spec::pause::{Item, Log};
/// let log = Log::new();
/// let item = Item::quick(7);
/// log.begin(&item);
/// log.end(&item);
/// assert_eq!(log.ids(), vec![7]);
/// assert_eq!(log.begun().count(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Log {
    begun: Recorder,
    ended: Recorder,
    ids: Arc<Mutex<Vec<u64>>>,
}

impl Log {
    /// An empty log.
    pub fn new() -> Self {
        Log::default()
    }

    /// Records that `item` has begun.
    pub fn begin(&self, _item: &Item) {
        self.begun.record();
    }

    /// Records that `item` has ended.
    pub fn end(&self, item: &Item) {
        self.ended.record();
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(item.id);
    }

    /// When items began.
    pub fn begun(&self) -> &Recorder {
        &self.begun
    }

    /// When items ended.
    pub fn ended(&self) -> &Recorder {
        &self.ended
    }

    /// The ids of the items that ended, in the order they ended.
    pub fn ids(&self) -> Vec<u64> {
        // A poisoned lock still holds whole ids: each push is one step.
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What both styles of the pause pattern must do, stated as blocking calls: start a worker.
pub trait PauseSpec {
    /// A running worker, as the checks drive it.
    type Worker: PauseWorker;

    /// Starts a worker on a bounded input of `capacity` items. For each item it applies the
    /// effect: `log.begin(&item)`, wait `item.work` in the style's own way, panic with
    /// [`PANIC_MESSAGE`] if `item.panics`, `log.end(&item)`.
    fn start(&self, capacity: usize, log: &Log) -> Result<Self::Worker, Error>;
}

/// A running worker and its input, stated as blocking calls. Shared between the check's
/// producer, pauser and watcher threads.
pub trait PauseWorker: Send + Sync + 'static {
    /// Held while the worker is paused; dropping it resumes the worker.
    type Guard: Send + 'static;

    /// Sends one item to the input, waiting while the input is full.
    fn send(&self, item: Item) -> Result<(), Error>;

    /// Returns a guard once the worker is parked between two items.
    fn pause(&self) -> Result<Self::Guard, Error>;

    /// As [`PauseWorker::pause`], or [`Error::PauseTimeout`] once `limit` has passed.
    fn pause_within(&self, limit: Duration) -> Result<Self::Guard, Error>;

    /// Closes the input: the worker drains what is in it, then stops.
    fn close(&self);

    /// Closes the input and waits for the worker to stop: `Ok` once it drained its input,
    /// [`Error::Panicked`] if it panicked.
    fn finish(&self) -> Result<(), Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        ///
        /// ```
        /// use bothways_spec::pause::{CHECK_NAMES, PauseSpec, checks};
        /// # struct Mine;
        /// # impl PauseSpec for Mine {
        /// #     type Worker = Never;
        /// #     fn start(&self, _: usize, _: &bothways_spec::pause::Log) -> Result<Never, bothways_spec::pause::Error> {
        /// #         Err(bothways_spec::pause::Error::Other("not implemented".into()))
        /// #     }
        /// # }
        /// # struct Never;
        /// # impl bothways_spec::pause::PauseWorker for Never {
        /// #     type Guard = ();
        /// #     fn send(&self, _: bothways_spec::pause::Item) -> Result<(), bothways_spec::pause::Error> { Ok(()) }
        /// #     fn pause(&self) -> Result<(), bothways_spec::pause::Error> { Ok(()) }
        /// #     fn pause_within(&self, _: std::time::Duration) -> Result<(), bothways_spec::pause::Error> { Ok(()) }
        /// #     fn close(&self) {}
        /// #     fn finish(&self) -> Result<(), bothways_spec::pause::Error> { Ok(()) }
        /// # }
        /// let all = checks::<Mine>();
        /// assert_eq!(all.len(), CHECK_NAMES.len());
        /// // An implementation that cannot even start a worker fails, saying so.
        /// let failure = bothways_spec::check::run_check(all[0].run, &Mine).unwrap_err();
        /// assert_eq!(failure.seen, "Other(\"not implemented\")");
        /// ```
        pub fn checks<T: PauseSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that count the whole process's threads and files, so run alone: none here.
pub const PROCESS_WIDE: &[&str] = &[];

crate::__pause_checks!([checks]);

/// Stamps out the pause suite: one `#[test]` per check.
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
///
/// ```
/// # use bothways_spec::{Flavour, pause::{Error, Item, Log, PauseSpec, PauseWorker}};
/// # struct Mine;
/// # struct W;
/// # impl PauseWorker for W {
/// #     type Guard = ();
/// #     fn send(&self, _: Item) -> Result<(), Error> { Ok(()) }
/// #     fn pause(&self) -> Result<(), Error> { Ok(()) }
/// #     fn pause_within(&self, _: std::time::Duration) -> Result<(), Error> { Ok(()) }
/// #     fn close(&self) {}
/// #     fn finish(&self) -> Result<(), Error> { Ok(()) }
/// # }
/// # impl PauseSpec for Mine {
/// #     type Worker = W;
/// #     fn start(&self, _: usize, _: &Log) -> Result<W, Error> { Ok(W) }
/// # }
/// # impl Mine {
/// #     fn new() -> std::io::Result<Self> { Ok(Mine) }
/// #     fn on(_: Flavour) -> std::io::Result<Self> { Ok(Mine) }
/// # }
/// // In a threads crate's tests/conformance.rs: one #[test] per check.
/// bothways_spec::pause_suite!(threads: Mine::new);
///
/// // In an async crate's: the same, in modules `current_thread` and `multi_thread`.
/// mod stamped_async {
///     use super::*;
///     bothways_spec::pause_suite!(async: Mine::on);
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! pause_suite {
    (threads: $make:expr) => {
        $crate::__pause_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__pause_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__pause_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __pause_tests {
    ($make:expr) => {
        $crate::__pause_checks!([$crate::__stamp] pause, $make);
    };
}

/// The one list of the pause checks, in the order the suite runs them: handed to a callback
/// macro, which either defines [`CHECK_NAMES`] and [`checks`] or stamps out the tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __pause_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            no_progress_while_paused,
            long_item_is_waited_out,
            no_item_is_split,
            thousand_cycles_lose_nothing,
            input_bounded_while_paused,
            pause_is_quick_between_short_items,
            deadline_shorter_than_item_is_typed_error,
            two_pausers_both_hold_it,
            worker_panic_is_typed_error,
            pause_after_stop_is_typed_error,
        }
    };
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn start<T: PauseSpec>(imp: &T, capacity: usize, log: &Log) -> Result<Arc<T::Worker>, Failure> {
    imp.start(capacity, log)
        .map(Arc::new)
        .map_err(|e| Failure::new("a worker to start", format!("{e:?}")))
}

fn paused<G>(what: &str, result: Result<G, Error>) -> Result<G, Failure> {
    result.map_err(|e| Failure::new(format!("a guard from {what}"), format!("{e:?}")))
}

/// Runs `call` on its own thread and waits at most `limit` for its answer, so that a call that
/// hangs fails the check instead of hanging the suite (the stuck thread is abandoned).
fn within<W: PauseWorker, R: Send + 'static>(
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
fn wait_until(limit: Duration, done: impl Fn() -> bool) -> bool {
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
struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flood {
    fn start<W: PauseWorker>(worker: &Arc<W>, make: fn(u64) -> Item) -> Flood {
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
    fn stop(mut self) -> Result<u64, Failure> {
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

/// How many of `events` fall strictly inside one of `windows`.
fn inside(events: &[Instant], windows: &[(Instant, Instant)]) -> usize {
    events
        .iter()
        .filter(|&&e| windows.iter().any(|&(from, to)| from < e && e < to))
        .count()
}

fn finish<W: PauseWorker>(worker: &Arc<W>) -> Result<(), Failure> {
    let result = within(worker, ANSWER_WITHIN, "finish()", |w| w.finish())?;
    ensure(result.is_ok(), "finish() to drain and stop: Ok", || {
        format!("{result:?}")
    })
}

fn ids_in_order(log: &Log, n: u64) -> Result<(), Failure> {
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

/// Check 1: With a producer flooding items, the worker records no side effect between `pause()`
/// returning and the guard being dropped (twenty 30 ms windows), and goes on after each resume.
pub fn no_progress_while_paused<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 100),
        "100 items done before the first pause",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let mut windows = Vec::new();
    for _ in 0..20 {
        let guard = paused("pause()", worker.pause())?;
        let from = Instant::now();
        thread::sleep(WINDOW);
        let to = Instant::now();
        drop(guard);
        windows.push((from, to));
        thread::sleep(Duration::from_millis(5));
    }
    let resumed = log.ended().count();
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() > resumed + 100),
        "100 more items done after the last resume",
        || format!("{} more in 2 s", log.ended().count() - resumed),
    )?;
    let sent = flood.stop()?;
    finish(&worker)?;
    let during = inside(&log.begun().events(), &windows) + inside(&log.ended().events(), &windows);
    ensure(
        during == 0,
        "no side effect inside any of the 20 pause windows",
        || format!("{during} side effects inside them"),
    )?;
    ids_in_order(&log, sent)?;
    Ok(vec![
        Figure::count("paused", 20, "× 30 ms"),
        Figure::count("items", i64::try_from(sent).unwrap_or(i64::MAX), ""),
    ])
}

/// Check 2: A pause asked while a 200 ms item is in progress waits it out: `pause()` returns
/// only after the item has ended, never in the middle of it.
pub fn long_item_is_waited_out<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    let work = Duration::from_millis(200);
    worker
        .send(Item::slow(0, work))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the 200 ms item to begin",
        || "it not begun after 2 s",
    )?;
    let asked = Instant::now();
    let guard = paused("pause()", worker.pause())?;
    let got = Instant::now();
    let waited = got - asked;
    let ended = log.ended().last();
    ensure(
        ended.is_some_and(|e| e <= got),
        "the item to end before pause() returned",
        || {
            format!(
                "pause() returned after {} with the item still going",
                ms(waited)
            )
        },
    )?;
    ensure(
        waited <= work + LATE,
        &format!("pause() within {} of being asked", ms(work + LATE)),
        || format!("it after {}", ms(waited)),
    )?;
    drop(guard);
    finish(&worker)?;
    Ok(vec![Figure::millis("waited", waited)])
}

/// Check 3: An item in progress when a pause is asked completes first: under a flood of 2 ms
/// items and fifty pauses, no pause window falls between an item's begin and its end.
pub fn no_item_is_split<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 16, &log)?;
    let flood = Flood::start(&worker, |id| Item::slow(id, Duration::from_millis(2)));
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 5),
        "5 items done before the first pause",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let mut windows = Vec::new();
    for i in 0..50u64 {
        let guard = paused("pause()", worker.pause())?;
        let from = Instant::now();
        thread::sleep(Duration::from_millis(3));
        let to = Instant::now();
        drop(guard);
        windows.push((from, to));
        // Vary the moment the next pause is asked, so it lands at different points of an item.
        thread::sleep(Duration::from_micros(1_000 + 370 * (i % 7)));
    }
    let sent = flood.stop()?;
    finish(&worker)?;
    let (begun, ended) = (log.begun().events(), log.ended().events());
    let split = begun
        .iter()
        .zip(&ended)
        .filter(|&(&b, &e)| windows.iter().any(|&(from, to)| b < to && from < e))
        .count();
    ensure(
        begun.len() == ended.len(),
        "every item that began to end",
        || format!("{} began, {} ended", begun.len(), ended.len()),
    )?;
    ensure(
        split == 0,
        "no item running during any of the 50 pause windows",
        || format!("{split} items split by a pause"),
    )?;
    ids_in_order(&log, sent)?;
    Ok(vec![Figure::count(
        "items",
        i64::try_from(sent).unwrap_or(i64::MAX),
        "",
    )])
}

/// Check 4: A thousand pause/resume cycles under a flood of items lose, reorder and duplicate
/// nothing: the worker goes on after every resume, and its record is exactly the ids sent, in
/// order.
pub fn thousand_cycles_lose_nothing<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 16, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    let started = Instant::now();
    for cycle in 0..CYCLES {
        let guard = paused("pause()", worker.pause())?;
        let before = log.ended().count();
        drop(guard);
        // Each resume must really resume: otherwise the next pause would find the worker still
        // parked, and the cycles would not run under load at all.
        ensure(
            wait_until(ANSWER_WITHIN, || log.ended().count() > before),
            "the worker to go on after every resume",
            || format!("no item done within 2 s of resume {cycle}"),
        )?;
    }
    let took = started.elapsed();
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    Ok(vec![
        Figure::micros(
            "per cycle",
            took / u32::try_from(CYCLES).unwrap_or(u32::MAX),
        ),
        Figure::count("items", i64::try_from(sent).unwrap_or(i64::MAX), ""),
    ])
}

/// Check 5: The input stays bounded while paused: a producer of 100 items gets no more than the
/// input's 8 slots accepted, waits, and goes on once the guard is dropped; all 100 arrive.
pub fn input_bounded_while_paused<T: PauseSpec>(imp: &T) -> CheckResult {
    let capacity = 8;
    let log = Log::new();
    let worker = start(imp, capacity, &log)?;
    let guard = paused("pause()", worker.pause())?;
    let accepted = Arc::new(AtomicU64::new(0));
    {
        let (worker, accepted) = (Arc::clone(&worker), Arc::clone(&accepted));
        thread::spawn(move || {
            for id in 0..100 {
                if worker.send(Item::quick(id)).is_err() {
                    return;
                }
                accepted.store(id + 1, Ordering::SeqCst);
            }
        });
    }
    thread::sleep(Duration::from_millis(200));
    let while_paused = accepted.load(Ordering::SeqCst);
    let begun = log.begun().count();
    drop(guard);
    ensure(
        while_paused <= capacity as u64,
        &format!("at most {capacity} items accepted while paused (the input's capacity)"),
        || format!("{while_paused}"),
    )?;
    ensure(
        while_paused > 0,
        "the producer to fill the input while paused",
        || "nothing accepted",
    )?;
    ensure(begun == 0, "no item begun while paused", || {
        format!("{begun} begun")
    })?;
    ensure(
        wait_until(ANSWER_WITHIN, || accepted.load(Ordering::SeqCst) == 100),
        "the producer to go on after the resume: 100 accepted within 2 s",
        || format!("{}", accepted.load(Ordering::SeqCst)),
    )?;
    finish(&worker)?;
    ids_in_order(&log, 100)?;
    Ok(vec![Figure::count(
        "accepted while paused",
        i64::try_from(while_paused).unwrap_or(i64::MAX),
        "of 100",
    )])
}

/// Check 6: Pause latency: with a flood of short items, the median time from asking to holding
/// the guard is under 10 ms (two hundred pauses; p99 reported).
pub fn pause_is_quick_between_short_items<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    let mut took = Vec::with_capacity(200);
    for _ in 0..200 {
        let asked = Instant::now();
        let guard = paused("pause()", worker.pause())?;
        took.push(asked.elapsed());
        drop(guard);
        thread::sleep(Duration::from_millis(1));
    }
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    took.sort();
    let median = took[took.len() / 2];
    let p99 = took[took.len() * 99 / 100];
    ensure(
        median < QUICK,
        &format!("a median pause latency under {}", ms(QUICK)),
        || format!("{} (p99 {})", ms(median), ms(p99)),
    )?;
    Ok(vec![
        Figure::micros("median", median),
        Figure::micros("p99", p99),
    ])
}

/// Check 7: A pause with a deadline shorter than the item in progress gives `PauseTimeout` near
/// its deadline, and leaves the worker running: the item ends, the next items are done, a later
/// pause works.
pub fn deadline_shorter_than_item_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 8, &log)?;
    worker
        .send(Item::slow(0, Duration::from_millis(300)))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the 300 ms item to begin",
        || "it not begun after 2 s",
    )?;
    let limit = Duration::from_millis(50);
    let asked = Instant::now();
    let result = within(&worker, ANSWER_WITHIN, "pause_within(50 ms)", move |w| {
        w.pause_within(limit).map(drop)
    })?;
    let took = asked.elapsed();
    ensure(
        matches!(result, Err(Error::PauseTimeout { waited }) if waited >= limit),
        "Err(PauseTimeout { waited >= 50 ms })",
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took <= limit + LATE,
        &format!("PauseTimeout within {}", ms(limit + LATE)),
        || format!("it after {}", ms(took)),
    )?;
    for id in 1..=5 {
        worker
            .send(Item::quick(id))
            .map_err(|e| Failure::new("more items to be sent", format!("{e:?}")))?;
    }
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() == 6),
        "the worker to go on after the failed pause: 6 items done within 2 s",
        || format!("{} done", log.ended().count()),
    )?;
    let later = within(&worker, ANSWER_WITHIN, "a later pause()", |w| {
        w.pause().map(drop)
    })?;
    ensure(later.is_ok(), "a later pause() to work", || {
        format!("{later:?}")
    })?;
    finish(&worker)?;
    ids_in_order(&log, 6)?;
    Ok(vec![Figure::millis("gave up after", took)])
}

/// Check 8: Two callers pause at once, from two threads: the worker stays parked until both
/// guards are gone, and goes on after.
pub fn two_pausers_both_hold_it<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 100),
        "100 items done before the pauses",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let barrier = std::sync::Barrier::new(2);
    let (held_tx, held_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let (release_a, a_rx) = mpsc::channel::<()>();
    let (release_b, b_rx) = mpsc::channel::<()>();
    let window = thread::scope(|s| -> Result<(Instant, Instant), Failure> {
        for (name, release) in [("a", a_rx), ("b", b_rx)] {
            let (worker, barrier) = (&worker, &barrier);
            let (held_tx, dropped_tx) = (held_tx.clone(), dropped_tx.clone());
            s.spawn(move || {
                barrier.wait();
                let guard = worker.pause();
                let _ = held_tx.send((name, guard.as_ref().map(|_| ()).map_err(Clone::clone)));
                // Held until the check says so; a closed channel (a failed check) also releases.
                let _ = release.recv();
                drop(guard);
                let _ = dropped_tx.send(name);
            });
        }
        let release = |tx: &mpsc::Sender<()>| {
            let _ = tx.send(());
        };
        for _ in 0..2 {
            let answer = held_rx.recv_timeout(ANSWER_WITHIN);
            let ok = matches!(answer, Ok((_, Ok(()))));
            if !ok {
                release(&release_a);
                release(&release_b);
            }
            ensure(ok, "Ok(guard) from both pausers within 2 s", || {
                format!("{answer:?}")
            })?;
        }
        let both = Instant::now();
        release(&release_a);
        let _ = dropped_rx.recv_timeout(ANSWER_WITHIN);
        thread::sleep(Duration::from_millis(100));
        let to = Instant::now();
        release(&release_b);
        Ok((both, to))
    })?;
    let during =
        inside(&log.begun().events(), &[window]) + inside(&log.ended().events(), &[window]);
    let resumed = log.ended().count();
    ensure(
        during == 0,
        "no side effect while either guard was held",
        || format!("{during} after the first guard was dropped"),
    )?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() > resumed + 100),
        "100 more items done once both guards were gone",
        || format!("{} more in 2 s", log.ended().count() - resumed),
    )?;
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    Ok(Vec::new())
}

/// Check 9: A worker that panics gives callers a typed error instead of a hang: a pause waiting
/// on the panicking item, a later pause and `finish()` all answer `Panicked`, and a send answers
/// an error.
pub fn worker_panic_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    worker
        .send(Item::panicking(0, Duration::from_millis(100)))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the panicking item to begin",
        || "it not begun after 2 s",
    )?;
    let is_panicked = |r: &Result<(), Error>| matches!(r, Err(Error::Panicked { message }) if message.contains(PANIC_MESSAGE));
    let waiting = within(
        &worker,
        ANSWER_WITHIN,
        "a pause waiting on the panic",
        |w| w.pause().map(drop),
    )?;
    ensure(
        is_panicked(&waiting),
        "Err(Panicked { message: \"boom\" }) for the waiting pause",
        || format!("{waiting:?}"),
    )?;
    let later = within(&worker, ANSWER_WITHIN, "a later pause()", |w| {
        w.pause().map(drop)
    })?;
    ensure(
        is_panicked(&later),
        "Err(Panicked { message: \"boom\" }) for a later pause",
        || format!("{later:?}"),
    )?;
    let sent = within(&worker, ANSWER_WITHIN, "a send to the dead worker", |w| {
        // More than the input holds: a send into a buffer nobody reads would block.
        (1..=16).try_for_each(|id| w.send(Item::quick(id)))
    })?;
    ensure(sent.is_err(), "a send to the dead worker to fail", || {
        format!("{sent:?}")
    })?;
    let finished = within(&worker, ANSWER_WITHIN, "finish()", |w| w.finish())?;
    ensure(
        is_panicked(&finished),
        "Err(Panicked { message: \"boom\" }) from finish()",
        || format!("{finished:?}"),
    )?;
    Ok(Vec::new())
}

/// Check 10: Once its input is closed and drained the worker has stopped: a pause answers
/// `Stopped` instead of waiting for an item that will never come, and nothing sent was lost.
pub fn pause_after_stop_is_typed_error<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    for id in 0..3 {
        worker
            .send(Item::quick(id))
            .map_err(|e| Failure::new("the items to be sent", format!("{e:?}")))?;
    }
    worker.close();
    let end = Instant::now() + ANSWER_WITHIN;
    let result = loop {
        let result = within(&worker, ANSWER_WITHIN, "pause() after close", |w| {
            w.pause().map(drop)
        })?;
        // A pause that lands while the worker is still draining may be granted: try again.
        if result.is_err() || Instant::now() >= end {
            break result;
        }
        thread::sleep(Duration::from_millis(1));
    };
    ensure(
        result == Err(Error::Stopped),
        "Err(Stopped) from a pause once the input is closed and drained",
        || format!("{result:?}"),
    )?;
    finish(&worker)?;
    ids_in_order(&log, 3)?;
    Ok(Vec::new())
}
