//! The actor pattern's contract: sequential processes with state, connected by bounded
//! mailboxes — backpressure, asks with a deadline, stop and kill, supervision, and metrics.
//!
//! The suite drives one fixed actor, the *probe*, that each implementation builds from its own
//! `Actor` trait: it records [`Msg::Record`]s in a log that lives in its state, sleeps, panics or
//! asks itself on demand, and counts in a shared [`Tally`] what a check cannot see from outside
//! (how often its state was built, how often its stop hook ran).

// The layout: this file holds the messages, the error, the configuration, the probe, the traits,
// the constants more than one theme uses and the suite's macros; the checks are in `checks/`, one
// file per theme, and what they share (spawning a probe, reading its log, waiting for a
// condition) in `fixtures.rs`.

use std::fmt::Display;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use crate::check::Check;

mod checks;
mod fixtures;

pub use checks::messages::{
    LATE, a_refused_tell_hands_the_message_back, ask_of_self_is_an_error_not_a_deadlock,
    ask_times_out_and_the_actor_goes_on, fifo_per_sender, tell_waits_while_the_mailbox_is_full,
    try_tell_on_a_full_mailbox_is_full,
};
pub use checks::refs::{
    display_names_the_actor_not_its_figures, metrics_count_exactly_what_was_sent_and_handled,
    refs_are_equal_and_hash_alike_by_actor,
};
pub use checks::spawning::{
    MANY, SMALL_STACK, invalid_config_is_a_typed_error_not_a_panic,
    many_actors_spawn_and_stop_without_leaking_threads,
};
pub use checks::stopping::{
    dropping_every_ref_stops_the_actor, kill_drops_pending_and_answers_askers_stopped,
    kill_lets_the_running_handler_finish, stop_drains_the_mailbox_then_runs_the_stop_hook,
    wait_returns_once_the_actor_has_ended_and_how,
};
pub use checks::supervision::{
    panic_is_isolated_and_restart_builds_fresh_state, restart_limit_stops_for_good_and_is_reported,
    restarts_count_only_within_the_window,
};

/// How long the spawn-and-stop check lets ended threads take to leave `/proc/self/task`: ten
/// thousand exiting threads on a loaded 2-core machine are not gone at once.
pub const SETTLE: Duration = Duration::from_secs(10);
/// Threads the spawn-and-stop check tolerates above its baseline: test-harness threads that
/// start while it runs (libtest starts the next test's thread, which then waits for the lock).
pub const THREAD_SLACK: usize = 2;

/// A message to the probe actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Append `(sender, seq)` to the log in the actor's state; reply [`Reply::Done`].
    Record {
        /// Who sent it.
        sender: u32,
        /// The sender's sequence number.
        seq: u64,
    },
    /// Take this long to handle (blocking the actor, as a slow handler does); reply
    /// [`Reply::Done`].
    Sleep(Duration),
    /// Panic with this message.
    Panic(&'static str),
    /// Ask itself for its log, with a limit of one second, from inside the handler; reply
    /// [`Reply::SelfAsk`] with what that ask returned.
    AskSelf,
    /// Reply [`Reply::Log`] with the log.
    Log,
}

/// A reply from the probe actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The message was handled.
    Done,
    /// The log of `(sender, seq)` records since the state was built.
    Log(Vec<(u32, u64)>),
    /// What the probe's ask of itself returned (`Ok` carries nothing: it should not happen).
    SelfAsk(Result<(), Error>),
}

/// What an actor operation ended in, in words both styles share. Each implementation's adapter
/// maps its own crate's error enum onto this one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// `try_tell` found the mailbox full.
    #[error("the mailbox is full")]
    Full,
    /// No reply came within the ask's limit.
    #[error("no reply within the limit")]
    Timeout,
    /// The actor has stopped (or is stopping) and takes no more messages, or it stopped before
    /// answering.
    #[error("the actor has stopped")]
    Stopped,
    /// The handler panicked on this message.
    #[error("the handler panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// An actor asked itself, which would wait for ever.
    #[error("an actor asked itself")]
    AskSelf,
    /// `spawn` refused the configuration (a mailbox of 0, a zero restart window, ...).
    #[error("invalid configuration")]
    InvalidConfig,
    /// Anything else the implementation reports.
    #[error("{0}")]
    Other(String),
}

/// A tell that did not go through: why, and the message handed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    /// Why: [`Error::Full`] or [`Error::Stopped`].
    pub error: Error,
    /// The message the implementation handed back.
    pub msg: Msg,
}

impl From<Refused> for Error {
    fn from(refused: Refused) -> Error {
        refused.error
    }
}

/// When a failed probe is rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// Never: a panic stops the actor for good.
    Never,
    /// After a panic, build fresh state — at most `max_restarts` times within `within`.
    OnPanic {
        /// Restarts allowed inside the window.
        max_restarts: u32,
        /// The window.
        within: Duration,
    },
}

/// How to spawn a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Mailbox capacity.
    pub capacity: usize,
    /// The restart policy.
    pub restart: Restart,
    /// The stack size, where the style has stacks (threads); `None` for the default.
    pub stack_size: Option<usize>,
}

impl Config {
    /// A mailbox of `capacity`, no restarts, the default stack.
    pub fn new(capacity: usize) -> Self {
        Config {
            capacity,
            restart: Restart::Never,
            stack_size: None,
        }
    }
}

/// Why an actor ended, as its supervisor is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// It was stopped (or every reference to it was dropped): mailbox drained, stop hook run.
    Stopped,
    /// It was killed: pending messages dropped.
    Killed,
    /// It panicked past what its restart policy allows, after `restarts` restarts.
    GaveUp {
        /// Restarts it had within the window.
        restarts: u32,
    },
}

/// A snapshot of one actor's mailbox metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Metrics {
    /// Messages waiting in the mailbox.
    pub queue_depth: usize,
    /// Messages accepted into the mailbox (tells and asks).
    pub received: u64,
    /// Messages whose handler returned (not counting panics).
    pub handled: u64,
    /// Time spent in the handler, all messages.
    pub handler_time: Duration,
}

/// What the probe counts where the suite can see it, whatever state it is rebuilt with.
#[derive(Debug, Default)]
pub struct Tally {
    /// Times the factory built fresh state.
    pub built: AtomicU64,
    /// `Record` messages handled.
    pub records: AtomicU64,
    /// Times the stop hook ran.
    pub stop_hooks: AtomicU64,
    /// The log's length when the stop hook last ran.
    pub log_at_stop: AtomicU64,
    /// Times a state was dropped (replaced by a restart, or let go when the actor ended): once
    /// it equals `built`, no task or thread holds a probe's state any more.
    pub dropped: AtomicU64,
}

impl Tally {
    /// A fresh tally, shared with the probe.
    pub fn new() -> Arc<Tally> {
        Arc::new(Tally::default())
    }

    pub(crate) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::SeqCst)
    }
}

/// The probe actor's state and handler, written once for every implementation: an adapter's
/// `Actor` impl delegates to it, and only has to do [`Msg::Sleep`] and [`Msg::AskSelf`] its
/// own way (a blocking sleep or an awaited one; its own `ask`).
#[derive(Debug)]
pub struct Probe {
    log: Vec<(u32, u64)>,
    tally: Arc<Tally>,
}

impl Probe {
    /// The factory: fresh state, counted in `tally.built`.
    pub fn build(tally: &Arc<Tally>) -> Probe {
        tally.built.fetch_add(1, Ordering::SeqCst);
        Probe {
            log: Vec::new(),
            tally: Arc::clone(tally),
        }
    }

    /// Handles `Record`, `Panic` and `Log`; `Sleep` and `AskSelf` are the adapter's.
    pub fn handle(&mut self, msg: Msg) -> Reply {
        match msg {
            Msg::Record { sender, seq } => {
                self.log.push((sender, seq));
                self.tally.records.fetch_add(1, Ordering::SeqCst);
                Reply::Done
            }
            Msg::Panic(message) => panic!("{message}"),
            Msg::Log => Reply::Log(self.log.clone()),
            Msg::Sleep(d) => {
                thread::sleep(d);
                Reply::Done
            }
            Msg::AskSelf => Reply::SelfAsk(Err(Error::Other("AskSelf is the adapter's".into()))),
        }
    }

    /// The stop hook: counted, with the log's length.
    pub fn stopped(&mut self) {
        let len = u64::try_from(self.log.len()).unwrap_or(u64::MAX);
        self.tally.log_at_stop.store(len, Ordering::SeqCst);
        self.tally.stop_hooks.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.tally.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A reference to a running probe, as the suite drives it: blocking calls. Equal, hashed and
/// displayed as the implementation's own actor reference is.
pub trait ProbeRef: Clone + Eq + Hash + Display + Send + Sync + 'static {
    /// The actor's id.
    fn id(&self) -> u64;
    /// Sends, waiting while the mailbox is full; a refused message comes back.
    fn tell(&self, msg: Msg) -> Result<(), Refused>;
    /// Sends, or [`Error::Full`] at once if the mailbox is full; a refused message comes back.
    fn try_tell(&self, msg: Msg) -> Result<(), Refused>;
    /// Sends and waits for the reply, at most `limit` in all.
    fn ask(&self, msg: Msg, limit: Duration) -> Result<Reply, Error>;
    /// Stops the actor: no new messages, the mailbox drained, then the stop hook.
    fn stop(&self);
    /// Kills the actor: pending messages dropped, their askers answered `Stopped`.
    fn kill(&self);
    /// The actor's metrics now.
    fn metrics(&self) -> Metrics;
    /// Waits up to `within` for the supervisor to be told that the actor ended.
    fn exit(&self, within: Duration) -> Option<Exit>;
    /// Waits up to `limit` until the actor has ended, through the reference itself, and returns
    /// how it ended ([`Error::Timeout`] if it has not).
    fn wait(&self, limit: Duration) -> Result<Exit, Error>;
}

/// What both styles of the actor pattern must do, stated as blocking calls.
pub trait ActorSpec: Sync {
    /// A reference to a running probe.
    type Ref: ProbeRef;

    /// Spawns a probe whose factory is [`Probe::build`] over `tally`, supervised so that
    /// [`ProbeRef::exit`] reports how it ended.
    fn spawn(&self, config: Config, tally: &Arc<Tally>) -> Result<Self::Ref, Error>;
}

macro_rules! checks {
    (; $($name:ident),+ $(,)?) => {
        /// The names of the checks, in the order the suite runs them.
        pub const CHECK_NAMES: &[&str] = &[$(stringify!($name)),+];

        /// Every check, in order, for the runner.
        ///
        /// ```
        /// use bothways_spec::actor::{CHECK_NAMES, checks};
        /// # use bothways_spec::actor::*;
        /// # use std::{sync::Arc, time::Duration};
        /// # struct Nothing;
        /// # impl ActorSpec for Nothing {
        /// #     type Ref = Dead;
        /// #     fn spawn(&self, _: Config, _: &Arc<Tally>) -> Result<Dead, Error> { Ok(Dead) }
        /// # }
        /// # #[derive(Clone, PartialEq, Eq, Hash)] struct Dead;
        /// # impl std::fmt::Display for Dead {
        /// #     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("dead") }
        /// # }
        /// # impl ProbeRef for Dead {
        /// #     fn id(&self) -> u64 { 0 }
        /// #     fn tell(&self, msg: Msg) -> Result<(), Refused> { Err(Refused { error: Error::Stopped, msg }) }
        /// #     fn try_tell(&self, msg: Msg) -> Result<(), Refused> { Err(Refused { error: Error::Stopped, msg }) }
        /// #     fn ask(&self, _: Msg, _: Duration) -> Result<Reply, Error> { Err(Error::Stopped) }
        /// #     fn stop(&self) {}
        /// #     fn kill(&self) {}
        /// #     fn metrics(&self) -> Metrics { Metrics::default() }
        /// #     fn exit(&self, _: Duration) -> Option<Exit> { Some(Exit::Stopped) }
        /// #     fn wait(&self, _: Duration) -> Result<Exit, Error> { Ok(Exit::Stopped) }
        /// # }
        /// let all = checks::<Nothing>();
        /// assert_eq!(all.len(), CHECK_NAMES.len());
        /// assert_eq!(all[0].name, "fifo_per_sender");
        /// // An actor that takes nothing fails, saying what it expected and saw.
        /// let failure = bothways_spec::check::run_check(all[0].run, &Nothing).unwrap_err();
        /// assert!(failure.seen.contains("Stopped"), "{failure}");
        /// ```
        pub fn checks<T: ActorSpec>() -> Vec<Check<T>> {
            vec![$(Check { name: stringify!($name), run: $name::<T> }),+]
        }
    };
}

/// The checks that count the whole process's threads, so run alone.
pub const PROCESS_WIDE: &[&str] = &[
    "dropping_every_ref_stops_the_actor",
    "many_actors_spawn_and_stop_without_leaking_threads",
];

crate::__actor_checks!([checks]);

/// Stamps out the actor suite: one `#[test]` per check.
///
/// `threads: make` calls `make()`; `async: make` calls `make(flavour)` once per runtime
/// flavour, in modules `current_thread` and `multi_thread`. `make` returns `Result<Impl, E>`.
/// Used exactly like [`timeout_suite!`](crate::timeout_suite).
#[macro_export]
macro_rules! actor_suite {
    (threads: $make:expr) => {
        $crate::__actor_tests!($make);
    };
    (async: $make:expr) => {
        mod current_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__actor_tests!(|| ($make)($crate::Flavour::CurrentThread));
        }
        mod multi_thread {
            #[allow(unused_imports)]
            use super::*;
            $crate::__actor_tests!(|| ($make)($crate::Flavour::MultiThread));
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __actor_tests {
    ($make:expr) => {
        $crate::__actor_checks!([$crate::__stamp] actor, $make);
    };
}

/// The one list of the actor checks, in the order the suite runs them: handed to a callback
/// macro, which either defines [`CHECK_NAMES`] and [`checks`] or stamps out the tests.
#[doc(hidden)]
#[macro_export]
macro_rules! __actor_checks {
    ([$($callback:tt)*] $($args:tt)*) => {
        $($callback)*! { $($args)* ;
            fifo_per_sender,
            tell_waits_while_the_mailbox_is_full,
            try_tell_on_a_full_mailbox_is_full,
            a_refused_tell_hands_the_message_back,
            ask_times_out_and_the_actor_goes_on,
            ask_of_self_is_an_error_not_a_deadlock,
            stop_drains_the_mailbox_then_runs_the_stop_hook,
            dropping_every_ref_stops_the_actor,
            kill_drops_pending_and_answers_askers_stopped,
            kill_lets_the_running_handler_finish,
            panic_is_isolated_and_restart_builds_fresh_state,
            restart_limit_stops_for_good_and_is_reported,
            restarts_count_only_within_the_window,
            wait_returns_once_the_actor_has_ended_and_how,
            metrics_count_exactly_what_was_sent_and_handled,
            refs_are_equal_and_hash_alike_by_actor,
            display_names_the_actor_not_its_figures,
            invalid_config_is_a_typed_error_not_a_panic,
            many_actors_spawn_and_stop_without_leaking_threads,
        }
    };
}
