//! The pause pattern's contract: a worker that consumes a bounded input provably makes no
//! progress between `pause()` returning and the guard being dropped, never splits an item, and
//! answers every call with a value or a typed error — never a hang.

// The layout: this file holds the traits, the error, the item and log types, the constants an
// implementation needs and the suite's macros; the checks are in `checks/`, one file per theme,
// and what they share (starting a worker, calls that cannot hang the suite, a flooding producer,
// reading the log) in `fixtures.rs`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::check::Check;
use crate::recorder::Recorder;

mod checks;
mod fixtures;

pub use checks::errors::{
    deadline_shorter_than_item_is_typed_error, pause_after_stop_is_typed_error,
    worker_panic_is_typed_error,
};
pub use checks::guard::{
    WINDOW, long_item_is_waited_out, no_item_is_split, no_progress_while_paused,
    two_pausers_both_hold_it,
};
pub use checks::load::{
    CYCLES, QUICK, input_bounded_while_paused, pause_is_quick_between_short_items,
    thousand_cycles_lose_nothing,
};

/// How long any call may take to answer before the check calls it a hang.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How late a `PauseTimeout` may come after its deadline: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(150);
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
