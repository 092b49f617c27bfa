//! The actor pattern's contract: sequential processes with state, connected by bounded
//! mailboxes — backpressure, asks with a deadline, stop and kill, supervision, and metrics.
//!
//! The suite drives one fixed actor, the *probe*, that each implementation builds from its own
//! `Actor` trait: it records [`Msg::Record`]s in a log that lives in its state, sleeps, panics or
//! asks itself on demand, and counts in a shared [`Tally`] what a check cannot see from outside
//! (how often its state was built, how often its stop hook ran).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fmt::Display;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{Check, CheckResult, Failure, Figure, ensure};
use crate::resources::thread_count;

/// How late an answer may come after the time it was due: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(250);
/// How many actors the spawn-and-stop check starts.
pub const MANY: usize = 10_000;
/// The stack each of the [`MANY`] actors gets where the style has stacks (threads).
pub const SMALL_STACK: usize = 64 * 1024;
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

    fn get(counter: &AtomicU64) -> u64 {
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

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn spawn<T: ActorSpec>(imp: &T, config: Config, tally: &Arc<Tally>) -> Result<T::Ref, Failure> {
    imp.spawn(config, tally)
        .map_err(|e| Failure::new("the probe to spawn", format!("{e:?}")))
}

fn log<R: ProbeRef>(probe: &R) -> Result<Vec<(u32, u64)>, Failure> {
    match probe.ask(Msg::Log, Duration::from_secs(5)) {
        Ok(Reply::Log(log)) => Ok(log),
        other => Err(Failure::new(
            "Ok(Log(..)) from an ask for the log",
            format!("{other:?}"),
        )),
    }
}

/// Polls `done` every millisecond for up to `within`.
fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + within;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Four senders on their own threads each tell 1,000 numbered records: the log holds all
/// 4,000, and each sender's appear in the order it sent them.
pub fn fifo_per_sender<T: ActorSpec>(imp: &T) -> CheckResult {
    const SENDERS: u32 = 4;
    const EACH: u64 = 1_000;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(16), &tally)?;
    let sent: Vec<Result<(), Error>> = thread::scope(|s| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let probe = probe.clone();
                s.spawn(move || {
                    (0..EACH)
                        .try_for_each(|seq| probe.tell(Msg::Record { sender, seq }))
                        .map_err(Error::from)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or(Err(Error::Other("a sender panicked".into())))
            })
            .collect()
    });
    for result in sent {
        ensure(result.is_ok(), "every tell Ok", || format!("{result:?}"))?;
    }
    let log = log(&probe)?;
    ensure(log.len() == 4_000, "4000 records in the log", || {
        format!("{}", log.len())
    })?;
    let mut next: HashMap<u32, u64> = HashMap::new();
    for &(sender, seq) in &log {
        let expected = next.entry(sender).or_insert(0);
        ensure(
            seq == *expected,
            &format!("sender {sender}'s record {expected} next"),
            || format!("its record {seq}"),
        )?;
        *expected += 1;
    }
    probe.stop();
    Ok(vec![Figure::count("records", 4_000, "")])
}

/// Backpressure: with a mailbox of 4 and the actor busy for 300 ms, a sender telling 50
/// messages gets no further than the mailbox holds until the actor takes some; then all 50
/// are handled.
pub fn tell_waits_while_the_mailbox_is_full<T: ActorSpec>(imp: &T) -> CheckResult {
    const CAPACITY: usize = 4;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(CAPACITY), &tally)?;
    let busy = Duration::from_millis(300);
    probe
        .tell(Msg::Sleep(busy))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let progress = AtomicU64::new(0);
    let (during, depth, result) = thread::scope(|s| {
        let sender = s.spawn(|| {
            for seq in 0..50 {
                probe.tell(Msg::Record { sender: 0, seq })?;
                progress.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, Error>(())
        });
        thread::sleep(busy / 2);
        let during = progress.load(Ordering::SeqCst);
        let depth = probe.metrics().queue_depth;
        let result = sender
            .join()
            .unwrap_or(Err(Error::Other("the sender panicked".into())));
        (during, depth, result)
    });
    ensure(
        during <= CAPACITY as u64,
        &format!("at most {CAPACITY} tells through while the actor was busy"),
        || format!("{during}"),
    )?;
    ensure(
        depth <= CAPACITY,
        &format!("a queue depth of at most {CAPACITY}"),
        || format!("{depth}"),
    )?;
    ensure(result.is_ok(), "every tell Ok in the end", || {
        format!("{result:?}")
    })?;
    let log = log(&probe)?;
    ensure(log.len() == 50, "50 records handled", || {
        format!("{}", log.len())
    })?;
    probe.stop();
    Ok(vec![Figure::count("through while busy", during as i64, "")])
}

/// `try_tell` on a full mailbox is `Full` at once, and what it did accept is all handled.
pub fn try_tell_on_a_full_mailbox_is_full<T: ActorSpec>(imp: &T) -> CheckResult {
    const CAPACITY: usize = 2;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(CAPACITY), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let mut accepted = 0u64;
    let mut last = Ok(());
    for seq in 0..10 {
        let start = Instant::now();
        last = probe
            .try_tell(Msg::Record { sender: 0, seq })
            .map_err(Error::from);
        ensure(
            start.elapsed() < Duration::from_millis(100),
            "try_tell to return at once",
            || format!("it took {}", ms(start.elapsed())),
        )?;
        match &last {
            Ok(()) => accepted += 1,
            Err(_) => break,
        }
    }
    ensure(
        last == Err(Error::Full),
        "Err(Full) once the mailbox is full",
        || format!("{last:?} after {accepted} accepted"),
    )?;
    ensure(
        accepted <= CAPACITY as u64 + 1,
        &format!("at most {} accepted before Full", CAPACITY + 1),
        || format!("{accepted}"),
    )?;
    let log = log(&probe)?;
    ensure(
        log.len() as u64 == accepted,
        &format!("the {accepted} accepted records handled"),
        || format!("{}", log.len()),
    )?;
    probe.stop();
    Ok(vec![Figure::count("accepted", accepted as i64, "")])
}

/// A tell that does not go through hands its message back unchanged: `try_tell` on a full
/// mailbox with `Full`, and `tell` and `try_tell` after a stop with `Stopped`.
pub fn a_refused_tell_hands_the_message_back<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(1), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    // A mailbox of 1 behind a busy actor is full after at most two more.
    let mut refused = None;
    for seq in 0..5 {
        if let Err(back) = probe.try_tell(Msg::Record { sender: 7, seq }) {
            refused = Some((seq, back));
            break;
        }
    }
    let Some((seq, back)) = refused else {
        return Err(Failure::new(
            "Err(Full) within 5 try_tells on a mailbox of 1",
            "5 accepted".to_owned(),
        ));
    };
    let full = Refused {
        error: Error::Full,
        msg: Msg::Record { sender: 7, seq },
    };
    ensure(
        back == full,
        &format!("{full:?} from the refused try_tell"),
        || format!("{back:?}"),
    )?;
    probe.stop();
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped),
        "the supervisor told Stopped",
        || format!("{exit:?}"),
    )?;
    let told = probe.tell(Msg::Record { sender: 8, seq: 1 });
    let tried = probe.try_tell(Msg::Record { sender: 9, seq: 2 });
    let stopped = |sender, seq| {
        Err(Refused {
            error: Error::Stopped,
            msg: Msg::Record { sender, seq },
        })
    };
    ensure(
        told == stopped(8, 1) && tried == stopped(9, 2),
        "Stopped with each message back from a tell and a try_tell after the stop",
        || format!("{told:?} and {tried:?}"),
    )?;
    Ok(Vec::new())
}

/// An ask whose handler takes 500 ms, with a limit of 100 ms, is `Timeout` after about 100 ms;
/// the actor goes on answering.
pub fn ask_times_out_and_the_actor_goes_on<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let result = probe.ask(Msg::Sleep(Duration::from_millis(500)), limit);
    let took = start.elapsed();
    ensure(result == Err(Error::Timeout), "Err(Timeout)", || {
        format!("{result:?} after {}", ms(took))
    })?;
    ensure(
        took >= limit && took <= limit + LATE,
        "Timeout between 100 and 350 ms",
        || format!("it after {}", ms(took)),
    )?;
    let log = log(&probe)?;
    ensure(log.is_empty(), "an empty log from a later ask", || {
        format!("{log:?}")
    })?;
    probe.stop();
    Ok(vec![Figure::millis("late by", took - limit)])
}

/// A handler that asks its own actor gets the typed `AskSelf` error at once, not a deadlock
/// (nor a timeout).
pub fn ask_of_self_is_an_error_not_a_deadlock<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let start = Instant::now();
    let result = probe.ask(Msg::AskSelf, Duration::from_secs(5));
    let took = start.elapsed();
    ensure(
        result == Ok(Reply::SelfAsk(Err(Error::AskSelf))),
        "Ok(SelfAsk(Err(AskSelf)))",
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took < Duration::from_millis(500),
        "the answer within 500 ms",
        || format!("it after {}", ms(took)),
    )?;
    probe.stop();
    Ok(vec![Figure::millis("answered after", took)])
}

/// `stop` with 20 records queued behind a slow message: all 20 are handled, then the stop hook
/// runs once (seeing all 20), the supervisor is told `Stopped`, and later messages are refused
/// with `Stopped`.
pub fn stop_drains_the_mailbox_then_runs_the_stop_hook<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    let sent = probe
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .and_then(|()| (0..20).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq })));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    probe.stop();
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped),
        "the supervisor told Stopped",
        || format!("{exit:?}"),
    )?;
    let records = Tally::get(&tally.records);
    ensure(records == 20, "all 20 queued records handled", || {
        format!("{records}")
    })?;
    let hooks = Tally::get(&tally.stop_hooks);
    let seen = Tally::get(&tally.log_at_stop);
    ensure(
        hooks == 1 && seen == 20,
        "the stop hook run once, after the 20 records",
        || format!("{hooks} runs, the last seeing {seen} records"),
    )?;
    let tell = probe.tell(Msg::Log).map_err(Error::from);
    let ask = probe.ask(Msg::Log, Duration::from_secs(1));
    ensure(
        tell == Err(Error::Stopped) && ask == Err(Error::Stopped),
        "Err(Stopped) for a tell and an ask after the stop",
        || format!("{tell:?} and {ask:?}"),
    )?;
    Ok(Vec::new())
}

/// Dropping every reference stops the actor as `stop` does: with a slow message and 5 records
/// still queued, a clone keeps it running, and once the last reference is gone it drains the
/// mailbox, runs its stop hook once (seeing all 5 records), lets go of its state, and its thread
/// (where it has one) ends: the process's thread count comes back to where it was.
pub fn dropping_every_ref_stops_the_actor<T: ActorSpec>(imp: &T) -> CheckResult {
    let before =
        thread_count().map_err(|e| Failure::new("the thread count", format!("I/O error {e}")))?;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    let clone = probe.clone();
    drop(probe);
    let sent = clone
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .and_then(|()| (0..5).try_for_each(|seq| clone.tell(Msg::Record { sender: 0, seq })));
    ensure(
        sent.is_ok(),
        "every tell through a clone Ok after the original was dropped",
        || format!("{sent:?}"),
    )?;
    let start = Instant::now();
    drop(clone);
    let hooked = wait_until(Duration::from_secs(5), || {
        Tally::get(&tally.stop_hooks) >= 1
    });
    let took = start.elapsed();
    let hooks = Tally::get(&tally.stop_hooks);
    let seen = Tally::get(&tally.log_at_stop);
    ensure(
        hooked && hooks == 1 && seen == 5,
        "the stop hook run once, after the 5 queued records, once every reference was dropped",
        || format!("{hooks} runs within 5 s, the last seeing {seen} records"),
    )?;
    let released = wait_until(Duration::from_secs(5), || {
        Tally::get(&tally.dropped) == Tally::get(&tally.built)
    });
    ensure(
        released,
        "the actor's state dropped: its task or thread ended",
        || {
            format!(
                "{} states built, {} dropped",
                Tally::get(&tally.built),
                Tally::get(&tally.dropped)
            )
        },
    )?;
    let mut after = before;
    let settled = wait_until(SETTLE, || {
        after = thread_count().unwrap_or(usize::MAX);
        after <= before
    });
    ensure(
        settled || after <= before + THREAD_SLACK,
        &format!("at most {before} threads afterwards, as before (+{THREAD_SLACK} harness)"),
        || format!("{after}"),
    )?;
    Ok(vec![Figure::millis("stop hook after the last drop", took)])
}

/// `kill` with 20 records and an ask queued behind a slow message: none of them is handled,
/// the asker is answered `Stopped` long before its 5 s limit, and the supervisor is told
/// `Killed`.
pub fn kill_drops_pending_and_answers_askers_stopped<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(32), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let (asked, took) = thread::scope(|s| {
        let asker = s.spawn(|| {
            let start = Instant::now();
            let got = probe.ask(Msg::Log, Duration::from_secs(5));
            (got, start.elapsed())
        });
        // Let the ask reach the mailbox before the records and the kill.
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 2);
        for seq in 0..20 {
            let _ = probe.tell(Msg::Record { sender: 0, seq });
        }
        probe.kill();
        asker.join().unwrap_or((
            Err(Error::Other("the asker panicked".into())),
            Duration::ZERO,
        ))
    });
    ensure(
        asked == Err(Error::Stopped),
        "Err(Stopped) for the waiting asker",
        || format!("{asked:?} after {}", ms(took)),
    )?;
    ensure(
        took < Duration::from_secs(2),
        "the asker answered within 2 s",
        || format!("it after {}", ms(took)),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Killed),
        "the supervisor told Killed",
        || format!("{exit:?}"),
    )?;
    let records = Tally::get(&tally.records);
    ensure(
        records == 0,
        "none of the 20 pending records handled",
        || format!("{records} handled"),
    )?;
    let after = probe.tell(Msg::Log).map_err(Error::from);
    ensure(
        after == Err(Error::Stopped),
        "Err(Stopped) for a tell after the kill",
        || format!("{after:?}"),
    )?;
    Ok(vec![Figure::millis("asker answered after", took)])
}

/// `kill` cannot interrupt a handler that is running: killed while it handles a 300 ms ask, the
/// actor finishes that message and its asker gets the real reply; the ask queued behind it is
/// answered `Stopped`; `kill` itself returns at once; the stop hook runs once and the
/// supervisor is told `Killed`.
pub fn kill_lets_the_running_handler_finish<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let busy = Duration::from_millis(300);
    let (running, queued, kill_took) = thread::scope(|s| {
        let first = s.spawn(|| probe.ask(Msg::Sleep(busy), Duration::from_secs(5)));
        // The slow message is in hand once it has left the mailbox.
        wait_until(Duration::from_secs(2), || {
            let m = probe.metrics();
            m.received >= 1 && m.queue_depth == 0
        });
        let second = s.spawn(|| probe.ask(Msg::Log, Duration::from_secs(5)));
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 2);
        let start = Instant::now();
        probe.kill();
        let kill_took = start.elapsed();
        let lost = || Err(Error::Other("the asker panicked".into()));
        (
            first.join().unwrap_or_else(|_| lost()),
            second.join().unwrap_or_else(|_| lost()),
            kill_took,
        )
    });
    ensure(
        running == Ok(Reply::Done),
        "Ok(Done) for the ask whose handler was running when the kill came",
        || format!("{running:?}"),
    )?;
    ensure(
        queued == Err(Error::Stopped),
        "Err(Stopped) for the ask queued behind it",
        || format!("{queued:?}"),
    )?;
    ensure(
        kill_took < Duration::from_millis(100),
        "kill to return at once, not wait for the handler",
        || format!("it took {}", ms(kill_took)),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Killed),
        "the supervisor told Killed",
        || format!("{exit:?}"),
    )?;
    let hooks = Tally::get(&tally.stop_hooks);
    ensure(hooks == 1, "the stop hook run once after the kill", || {
        format!("{hooks} runs")
    })?;
    Ok(vec![Figure::millis("kill returned after", kill_took)])
}

/// A panic in the handler reaches its asker as `Panicked`, not the caller's thread; with a
/// restart policy the actor goes on with fresh state from the factory (an empty log) and keeps
/// its mailbox (a record told after the panicking message is still handled).
pub fn panic_is_isolated_and_restart_builds_fresh_state<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 3,
            within: Duration::from_secs(10),
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    let sent = (0..5).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq }));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    let (asked, queued) = thread::scope(|s| {
        let asker = s.spawn(|| probe.ask(Msg::Panic("boom"), Duration::from_secs(5)));
        wait_until(Duration::from_secs(1), || probe.metrics().received >= 6);
        let queued = probe.tell(Msg::Record { sender: 1, seq: 0 });
        let asked = asker.join().unwrap_or(Err(Error::Other(
            "the panic reached the asker's thread".into(),
        )));
        (asked, queued)
    });
    ensure(
        matches!(&asked, Err(Error::Panicked { message }) if message.contains("boom")),
        "Err(Panicked { message: \"boom\" })",
        || format!("{asked:?}"),
    )?;
    ensure(queued.is_ok(), "Ok from a tell during the panic", || {
        format!("{queued:?}")
    })?;
    let log = log(&probe)?;
    ensure(
        log == [(1, 0)],
        "a fresh log holding only the record told after the panic",
        || format!("{log:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(built == 2, "state built twice (start, restart)", || {
        format!("built {built} times")
    })?;
    probe.stop();
    Ok(Vec::new())
}

/// Past its restart limit (2 within 10 s) the actor stops for good: the third panic ends it,
/// the supervisor is told `GaveUp { restarts: 2 }`, later messages get `Stopped`. With
/// `Restart::Never` the first panic does the same, with 0 restarts.
pub fn restart_limit_stops_for_good_and_is_reported<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 2,
            within: Duration::from_secs(10),
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    for i in 0..3 {
        let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
        ensure(
            matches!(asked, Err(Error::Panicked { .. })),
            &format!("Err(Panicked) from panic {}", i + 1),
            || format!("{asked:?}"),
        )?;
    }
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 2 }),
        "the supervisor told GaveUp { restarts: 2 }",
        || format!("{exit:?}"),
    )?;
    let after = probe.ask(Msg::Log, Duration::from_secs(1));
    ensure(
        after == Err(Error::Stopped),
        "Err(Stopped) after giving up",
        || format!("{after:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(
        built == 3,
        "state built 3 times (start, 2 restarts)",
        || format!("built {built} times"),
    )?;

    let never = Tally::new();
    let probe = spawn(imp, Config::new(8), &never)?;
    let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
    ensure(
        matches!(asked, Err(Error::Panicked { .. })),
        "Err(Panicked) under Restart::Never",
        || format!("{asked:?}"),
    )?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 0 }),
        "the supervisor told GaveUp { restarts: 0 } under Restart::Never",
        || format!("{exit:?}"),
    )?;
    Ok(Vec::new())
}

/// The restart limit counts panics within a sliding window, not for ever: with one restart
/// allowed per second, a panic 1.5 s after the first is restarted again; a third panic right
/// after it is past the limit, and the supervisor is told `GaveUp { restarts: 1 }` — the one
/// restart still inside the window.
pub fn restarts_count_only_within_the_window<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let within = Duration::from_secs(1);
    let config = Config {
        restart: Restart::OnPanic {
            max_restarts: 1,
            within,
        },
        ..Config::new(8)
    };
    let probe = spawn(imp, config, &tally)?;
    let panic = |which: &str| {
        let asked = probe.ask(Msg::Panic("boom"), Duration::from_secs(5));
        ensure(
            matches!(asked, Err(Error::Panicked { .. })),
            &format!("Err(Panicked) from the {which} panic"),
            || format!("{asked:?}"),
        )
    };
    panic("first")?;
    // Sleeping is a lower bound: the first restart is surely outside the window after this.
    thread::sleep(within + within / 2);
    panic("second")?;
    let log = probe.ask(Msg::Log, Duration::from_secs(5));
    ensure(
        log == Ok(Reply::Log(Vec::new())),
        "Ok(Log([])) after the second panic: restarted, the first restart out of the window",
        || format!("{log:?}"),
    )?;
    panic("third")?;
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::GaveUp { restarts: 1 }),
        "the supervisor told GaveUp { restarts: 1 } after the third panic",
        || format!("{exit:?}"),
    )?;
    let built = Tally::get(&tally.built);
    ensure(
        built == 3,
        "state built 3 times (start, 2 restarts)",
        || format!("built {built} times"),
    )?;
    Ok(Vec::new())
}

/// `wait` through the reference returns how the actor ended, once it has: on a running actor it
/// is `Timeout` after its limit; after a stop with a slow message queued it returns `Stopped`,
/// only once the stop hook has run; again at once, from a clone; `Killed` after a kill;
/// `GaveUp` after a panic under `Restart::Never`.
pub fn wait_returns_once_the_actor_has_ended_and_how<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let early = probe.wait(limit);
    let took = start.elapsed();
    ensure(
        early == Err(Error::Timeout),
        "Err(Timeout) from a wait on a running actor",
        || format!("{early:?} after {}", ms(took)),
    )?;
    ensure(took >= limit, "the wait to last its 100 ms limit", || {
        format!("it returned after {}", ms(took))
    })?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the tell", format!("{e:?}")))?;
    probe.stop();
    let start = Instant::now();
    let ended = probe.wait(Duration::from_secs(5));
    let took = start.elapsed();
    let hooks = Tally::get(&tally.stop_hooks);
    ensure(
        ended == Ok(Exit::Stopped) && hooks == 1,
        "Ok(Stopped) once the stop hook had run",
        || {
            format!(
                "{ended:?} after {}, the stop hook run {hooks} times",
                ms(took)
            )
        },
    )?;
    let start = Instant::now();
    let again = probe.clone().wait(Duration::from_secs(5));
    let again_took = start.elapsed();
    ensure(
        again == Ok(Exit::Stopped) && again_took < Duration::from_millis(500),
        "Ok(Stopped) at once from a clone, afterwards",
        || format!("{again:?} after {}", ms(again_took)),
    )?;

    let killed = spawn(imp, Config::new(8), &tally)?;
    killed
        .tell(Msg::Sleep(Duration::from_millis(50)))
        .map_err(|e| Failure::new("Ok from the tell", format!("{e:?}")))?;
    killed.kill();
    let exit = killed.wait(Duration::from_secs(5));
    ensure(exit == Ok(Exit::Killed), "Ok(Killed) after a kill", || {
        format!("{exit:?}")
    })?;

    let gave_up = spawn(imp, Config::new(8), &tally)?;
    let _ = gave_up.ask(Msg::Panic("boom"), Duration::from_secs(5));
    let exit = gave_up.wait(Duration::from_secs(5));
    ensure(
        exit == Ok(Exit::GaveUp { restarts: 0 }),
        "Ok(GaveUp { restarts: 0 }) after a panic under Restart::Never",
        || format!("{exit:?}"),
    )?;
    Ok(vec![Figure::millis("stopped after", took)])
}

/// While the actor is busy, metrics read from outside show exactly what was sent and not yet
/// handled; afterwards, exactly what was handled, and the handler time of the slow message.
pub fn metrics_count_exactly_what_was_sent_and_handled<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(128), &tally)?;
    let busy = Duration::from_millis(200);
    let first = probe.tell(Msg::Sleep(busy));
    ensure(first.is_ok(), "Ok from the first tell", || {
        format!("{first:?}")
    })?;
    // Once the actor has taken the slow message, the mailbox holds exactly what follows.
    let taken = wait_until(Duration::from_secs(2), || probe.metrics().queue_depth == 0);
    ensure(taken, "the actor to take the first message", || {
        format!("{:?}", probe.metrics())
    })?;
    let sent = (0..100).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq }));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    let during = probe.metrics();
    ensure(
        during.received == 101 && during.handled == 0 && during.queue_depth == 100,
        "received 101, handled 0, queued 100 while the first is handled",
        || format!("{during:?}"),
    )?;
    let _ = log(&probe)?;
    let after = probe.metrics();
    ensure(
        after.received == 102 && after.handled == 102 && after.queue_depth == 0,
        "received 102, handled 102, queued 0 after an ask",
        || format!("{after:?}"),
    )?;
    ensure(
        after.handler_time >= busy,
        "a handler time of at least 200 ms",
        || ms(after.handler_time),
    )?;
    probe.stop();
    Ok(vec![Figure::millis("handler time", after.handler_time)])
}

fn hash_of<H: Hash>(value: &H) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// References are equal, and hash alike, exactly when they reach the same actor: a clone equals
/// its original, before and after the actor stops, with the same hash; another actor's does not;
/// a set of the three holds two.
pub fn refs_are_equal_and_hash_alike_by_actor<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let one = spawn(imp, Config::new(8), &tally)?;
    let other = spawn(imp, Config::new(8), &tally)?;
    let clone = one.clone();
    ensure(
        clone == one && hash_of(&clone) == hash_of(&one),
        "a clone equal to its original, with the same hash",
        || {
            format!(
                "equal: {}, hashes {:x} and {:x}",
                clone == one,
                hash_of(&clone),
                hash_of(&one)
            )
        },
    )?;
    ensure(one != other, "two actors' references unequal", || {
        format!("{one} equal to {other}")
    })?;
    let set: HashSet<T::Ref> = [one.clone(), clone.clone(), other.clone()].into();
    ensure(set.len() == 2, "a set of the three holding two", || {
        format!("{} references", set.len())
    })?;
    one.stop();
    let exit = one.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped) && clone == one && set.contains(&clone),
        "a clone still equal to its original, and found in the set, once the actor stopped",
        || {
            format!(
                "{exit:?}, equal: {}, found: {}",
                clone == one,
                set.contains(&clone)
            )
        },
    )?;
    other.stop();
    Ok(Vec::new())
}

/// `Display` names the actor — its id, and no two actors alike — and shows nothing that changes
/// as it runs: the same text before and after it has handled messages.
pub fn display_names_the_actor_not_its_figures<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let one = spawn(imp, Config::new(8), &tally)?;
    let other = spawn(imp, Config::new(8), &tally)?;
    let before = one.to_string();
    ensure(
        before.contains(&one.id().to_string()),
        &format!("the text naming actor {}", one.id()),
        || format!("{before:?}"),
    )?;
    ensure(
        before != other.to_string(),
        "two actors shown apart",
        || format!("both {before:?}"),
    )?;
    for seq in 0..3 {
        one.tell(Msg::Record { sender: 0, seq })
            .map_err(|e| Failure::new("every tell Ok", format!("{e:?}")))?;
    }
    let _ = log(&one)?;
    let after = one.to_string();
    ensure(
        after == before,
        "the same text after 4 messages were handled",
        || format!("{before:?}, then {after:?}"),
    )?;
    one.stop();
    other.stop();
    Ok(Vec::new())
}

/// A configuration that cannot work — a mailbox of 0, one too large to allocate (`usize::MAX`),
/// a zero restart window — is refused by `spawn` with the typed `InvalidConfig`, never a panic,
/// and no state is built; a valid one right after spawns as usual.
pub fn invalid_config_is_a_typed_error_not_a_panic<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let zero_window = Config {
        restart: Restart::OnPanic {
            max_restarts: 3,
            within: Duration::ZERO,
        },
        ..Config::new(8)
    };
    let cases = [
        ("a mailbox capacity of 0", Config::new(0)),
        ("a mailbox capacity of usize::MAX", Config::new(usize::MAX)),
        ("a zero restart window", zero_window),
    ];
    for (what, config) in cases {
        // A panic here is caught by the harness and reported as one.
        let got = imp.spawn(config, &tally);
        ensure(
            matches!(got, Err(Error::InvalidConfig)),
            &format!("Err(InvalidConfig) for {what}"),
            || match &got {
                Ok(_) => "a running actor".to_owned(),
                Err(e) => format!("Err({e:?})"),
            },
        )?;
    }
    let built = Tally::get(&tally.built);
    ensure(built == 0, "no state built for an invalid config", || {
        format!("built {built} times")
    })?;
    let probe = spawn(imp, Config::new(8), &tally)?;
    let log = log(&probe)?;
    ensure(log.is_empty(), "a valid config to spawn as usual", || {
        format!("{log:?}")
    })?;
    probe.stop();
    Ok(Vec::new())
}

/// 10,000 actors (64 KiB stacks where there are stacks) spawn, each handles one message, and all
/// stop: each supervisor is told `Stopped`, and the process's thread count comes back to where
/// it was.
pub fn many_actors_spawn_and_stop_without_leaking_threads<T: ActorSpec>(imp: &T) -> CheckResult {
    let before =
        thread_count().map_err(|e| Failure::new("the thread count", format!("I/O error {e}")))?;
    let tally = Tally::new();
    let config = Config {
        stack_size: Some(SMALL_STACK),
        ..Config::new(4)
    };
    let start = Instant::now();
    let mut probes = Vec::with_capacity(MANY);
    for _ in 0..MANY {
        probes.push(spawn(imp, config, &tally)?);
    }
    let spawned = start.elapsed();
    for (i, probe) in probes.iter().enumerate() {
        let told = probe.tell(Msg::Record {
            sender: 0,
            seq: i as u64,
        });
        ensure(told.is_ok(), "every tell Ok", || format!("{told:?}"))?;
    }
    for probe in &probes {
        probe.stop();
    }
    let mut stopped = 0;
    for probe in &probes {
        if probe.exit(Duration::from_secs(20)) == Some(Exit::Stopped) {
            stopped += 1;
        }
    }
    drop(probes);
    ensure(stopped == MANY, "10000 actors told Stopped", || {
        format!("{stopped}")
    })?;
    let records = Tally::get(&tally.records);
    ensure(records == MANY as u64, "10000 records handled", || {
        format!("{records}")
    })?;
    // A thread that has said it stopped may take a moment to leave /proc/self/task.
    let mut after = before;
    let settled = wait_until(SETTLE, || {
        after = thread_count().unwrap_or(usize::MAX);
        after <= before
    });
    ensure(
        settled || after <= before + THREAD_SLACK,
        &format!("at most {before} threads afterwards, as before (+{THREAD_SLACK} harness)"),
        || format!("{after}"),
    )?;
    Ok(vec![Figure::micros(
        "spawn each",
        spawned / u32::try_from(MANY).unwrap_or(u32::MAX),
    )])
}
