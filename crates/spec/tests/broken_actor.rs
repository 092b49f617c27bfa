//! Deliberately broken implementations of the actor contract, one flaw each, showing that every
//! check in `bothways_spec::actor` can fail — a check is trusted only once it has been seen to.
//!
//! The spec crate must not depend on a real implementation, so the baseline is written here with
//! std alone: one thread per actor, a `sync_channel` mailbox (a stop or kill nudges it with an empty
//! envelope; the actor reaches it only through a `Weak`, so dropping every reference closes it),
//! and atomics for the metrics. Module `baseline` runs the whole suite
//! against it, so when a variant fails a check, the one change that variant makes is to blame.

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread;
use std::time::{Duration, Instant};

use bothways_spec::actor::{
    ActorSpec, Config, Error, Exit, Metrics, Msg, Probe, ProbeRef, Refused, Reply, Restart, Tally,
};

/// The one thing a broken variant gets wrong, and the check that catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Takes whatever has queued up and handles it newest first: `fifo_per_sender`.
    LifoMailbox,
    /// An unbounded mailbox: `tell_waits_while_the_mailbox_is_full`,
    /// `try_tell_on_a_full_mailbox_is_full`.
    Unbounded,
    /// Waits for the reply however long it takes: `ask_times_out_and_the_actor_goes_on`.
    IgnoresLimit,
    /// Does not know which actor its thread runs: `ask_of_self_is_an_error_not_a_deadlock`.
    NoSelfCheck,
    /// Stops like a kill, dropping what is queued:
    /// `stop_drains_the_mailbox_then_runs_the_stop_hook`.
    StopDropsPending,
    /// Kills like a stop, handling what is queued: `kill_drops_pending_and_answers_askers_stopped`.
    KillDrains,
    /// Keeps a strong handle on its own mailbox, so it never sees the last reference go:
    /// `dropping_every_ref_stops_the_actor`.
    StrongSelf,
    /// Throws away the reply of the message in hand when a kill comes while it runs, as if the
    /// kill had cut the handler short: `kill_lets_the_running_handler_finish`.
    KillLosesReplyInHand,
    /// Takes any configuration, a mailbox of 0 included:
    /// `invalid_config_is_a_typed_error_not_a_panic`.
    NoValidation,
    /// Goes on after a panic with the state the panic left: `panic_is_isolated_and_restart_builds_fresh_state`.
    RestartKeepsState,
    /// Restarts for ever: `restart_limit_stops_for_good_and_is_reported`.
    NoRestartLimit,
    /// Counts every restart against the limit for ever, ignoring the window:
    /// `restarts_count_only_within_the_window`.
    RestartsNeverExpire,
    /// Counts a message as received only when it is handled:
    /// `metrics_count_exactly_what_was_sent_and_handled`.
    ReceivedAtHandle,
    /// Leaves each actor's thread lingering for seconds after it reports its exit:
    /// `many_actors_spawn_and_stop_without_leaking_threads`.
    ThreadLingers,
    /// Hands back a placeholder instead of the refused message:
    /// `a_refused_tell_hands_the_message_back`.
    LosesRefusedMessage,
    /// `wait` says `Stopped` at once, without waiting for the actor to end:
    /// `wait_returns_once_the_actor_has_ended_and_how`.
    WaitReturnsAtOnce,
    /// Hashes each clone differently, though clones compare equal:
    /// `refs_are_equal_and_hash_alike_by_actor`.
    HashPerClone,
    /// Shows the messages received along with the actor's id:
    /// `display_names_the_actor_not_its_figures`.
    DisplayShowsFigures,
}

const RUNNING: u8 = 0;
const STOPPING: u8 = 1;
const KILLED: u8 = 2;
const DEAD: u8 = 3;

thread_local! {
    static CURRENT: Cell<u64> = const { Cell::new(0) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The largest mailbox the baseline accepts, as the real implementations' `MAX_CAPACITY`.
const MAX_CAPACITY: usize = 1 << 20;

// A message and the asker's reply channel; no message is a nudge to look at the state.
type Envelope = (Option<Msg>, Option<SyncSender<Result<Reply, Error>>>);

#[derive(Debug, Clone)]
enum Mailbox {
    Bounded(SyncSender<Envelope>),
    Unbounded(Sender<Envelope>),
}

#[derive(Debug, Default)]
struct Shared {
    id: u64,
    state: AtomicU8,
    received: AtomicU64,
    handled: AtomicU64,
    nanos: AtomicU64,
    depth: AtomicI64,
    // How the actor ended, once it has, for `wait`; `ended` wakes the waiters.
    exit: Mutex<Option<Exit>>,
    ended: Condvar,
}

/// The baseline (`flaw: None`) or one broken variant of it.
#[derive(Debug)]
struct Imp {
    flaw: Option<Flaw>,
}

#[derive(Debug)]
struct Ref {
    flaw: Option<Flaw>,
    shared: Arc<Shared>,
    // Only references hold the mailbox strongly: once they are all gone, its sender is dropped
    // and the actor's `recv` ends.
    mailbox: Arc<Mailbox>,
    exits: Arc<Mutex<Receiver<Exit>>>,
    // New for every clone; hashed only under `Flaw::HashPerClone`.
    nonce: u64,
}

static NEXT_NONCE: AtomicU64 = AtomicU64::new(1);

impl Clone for Ref {
    fn clone(&self) -> Self {
        Ref {
            flaw: self.flaw,
            shared: Arc::clone(&self.shared),
            mailbox: Arc::clone(&self.mailbox),
            exits: Arc::clone(&self.exits),
            nonce: NEXT_NONCE.fetch_add(1, Ordering::SeqCst),
        }
    }
}

impl PartialEq for Ref {
    fn eq(&self, other: &Self) -> bool {
        self.shared.id == other.shared.id
    }
}

impl Eq for Ref {}

impl Hash for Ref {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.shared.id.hash(state);
        if self.has(Flaw::HashPerClone) {
            self.nonce.hash(state);
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor {}", self.shared.id)?;
        if self.has(Flaw::DisplayShowsFigures) {
            write!(
                f,
                ": received {}",
                self.shared.received.load(Ordering::SeqCst)
            )?;
        }
        Ok(())
    }
}

impl Ref {
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    /// The refusal of `msg`: with the message back, or under `Flaw::LosesRefusedMessage` a
    /// placeholder.
    fn refuse(&self, error: Error, msg: Msg) -> Refused {
        let msg = if self.has(Flaw::LosesRefusedMessage) {
            Msg::Log
        } else {
            msg
        };
        Refused { error, msg }
    }

    /// Wakes an idle actor to look at its state; a full mailbox means it is not idle.
    fn nudge(&self) {
        let _ = match &*self.mailbox {
            Mailbox::Bounded(tx) => tx.try_send((None, None)).is_ok(),
            Mailbox::Unbounded(tx) => tx.send((None, None)).is_ok(),
        };
    }

    fn sent(&self) {
        if !self.has(Flaw::ReceivedAtHandle) {
            self.shared.received.fetch_add(1, Ordering::SeqCst);
        }
        self.shared.depth.fetch_add(1, Ordering::SeqCst);
    }

    /// Sends, handing back what the mailbox refused.
    fn send(&self, envelope: Envelope) -> Result<(), (Error, Envelope)> {
        if self.shared.state.load(Ordering::SeqCst) != RUNNING {
            return Err((Error::Stopped, envelope));
        }
        let sent = match &*self.mailbox {
            Mailbox::Bounded(tx) => tx.send(envelope).map_err(|e| e.0),
            Mailbox::Unbounded(tx) => tx.send(envelope).map_err(|e| e.0),
        };
        match sent {
            Ok(()) => {
                self.sent();
                Ok(())
            }
            Err(envelope) => Err((Error::Stopped, envelope)),
        }
    }

    /// The message of a refused tell's envelope (one is always there: tells carry one).
    fn told(&self, error: Error, envelope: Envelope) -> Refused {
        self.refuse(error, envelope.0.unwrap_or(Msg::Log))
    }
}

impl ProbeRef for Ref {
    fn id(&self) -> u64 {
        self.shared.id
    }

    fn tell(&self, msg: Msg) -> Result<(), Refused> {
        self.send((Some(msg), None))
            .map_err(|(error, envelope)| self.told(error, envelope))
    }

    fn try_tell(&self, msg: Msg) -> Result<(), Refused> {
        if self.shared.state.load(Ordering::SeqCst) != RUNNING {
            return Err(self.refuse(Error::Stopped, msg));
        }
        let sent = match &*self.mailbox {
            Mailbox::Bounded(tx) => tx.try_send((Some(msg), None)).map_err(|e| match e {
                TrySendError::Full(envelope) => self.told(Error::Full, envelope),
                TrySendError::Disconnected(envelope) => self.told(Error::Stopped, envelope),
            }),
            Mailbox::Unbounded(tx) => tx
                .send((Some(msg), None))
                .map_err(|e| self.told(Error::Stopped, e.0)),
        };
        sent.map(|()| self.sent())
    }

    fn ask(&self, msg: Msg, limit: Duration) -> Result<Reply, Error> {
        if !self.has(Flaw::NoSelfCheck) && CURRENT.get() == self.shared.id {
            return Err(Error::AskSelf);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        self.send((Some(msg), Some(reply)))
            .map_err(|(error, _)| error)?;
        let got = if self.has(Flaw::IgnoresLimit) {
            answer.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else {
            answer.recv_timeout(limit)
        };
        match got {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(Error::Timeout),
            Err(RecvTimeoutError::Disconnected) => Err(Error::Stopped),
        }
    }

    fn stop(&self) {
        let _ = self.shared.state.compare_exchange(
            RUNNING,
            STOPPING,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
        self.nudge();
    }

    fn kill(&self) {
        self.shared.state.fetch_max(KILLED, Ordering::SeqCst);
        self.nudge();
    }

    fn metrics(&self) -> Metrics {
        let s = &self.shared;
        Metrics {
            queue_depth: usize::try_from(s.depth.load(Ordering::SeqCst).max(0)).unwrap_or(0),
            received: s.received.load(Ordering::SeqCst),
            handled: s.handled.load(Ordering::SeqCst),
            handler_time: Duration::from_nanos(s.nanos.load(Ordering::SeqCst)),
        }
    }

    fn exit(&self, within: Duration) -> Option<Exit> {
        let exits = self.exits.lock().unwrap_or_else(PoisonError::into_inner);
        exits.recv_timeout(within).ok()
    }

    fn wait(&self, limit: Duration) -> Result<Exit, Error> {
        if self.has(Flaw::WaitReturnsAtOnce) {
            return Ok(Exit::Stopped);
        }
        let exit = self
            .shared
            .exit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (exit, _) = self
            .shared
            .ended
            .wait_timeout_while(exit, limit, |exit| exit.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        exit.clone().ok_or(Error::Timeout)
    }
}

impl ActorSpec for Imp {
    type Ref = Ref;

    fn spawn(&self, config: Config, tally: &Arc<Tally>) -> Result<Ref, Error> {
        let zero_window =
            matches!(config.restart, Restart::OnPanic { within, .. } if within.is_zero());
        let invalid = config.capacity == 0 || config.capacity > MAX_CAPACITY || zero_window;
        if invalid && self.flaw != Some(Flaw::NoValidation) {
            return Err(Error::InvalidConfig);
        }
        let (mailbox, inbox) = if self.flaw == Some(Flaw::Unbounded) {
            let (tx, rx) = mpsc::channel();
            (Mailbox::Unbounded(tx), rx)
        } else {
            let (tx, rx) = mpsc::sync_channel(config.capacity);
            (Mailbox::Bounded(tx), rx)
        };
        let (exit_tx, exits) = mpsc::channel();
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, Ordering::SeqCst),
            ..Shared::default()
        });
        let me = Ref {
            flaw: self.flaw,
            shared,
            mailbox: Arc::new(mailbox),
            exits: Arc::new(Mutex::new(exits)),
            nonce: 0,
        };
        let mut builder = thread::Builder::new();
        if let Some(size) = config.stack_size {
            builder = builder.stack_size(size);
        }
        let actor = Actor {
            flaw: self.flaw,
            shared: Arc::clone(&me.shared),
            mailbox: Arc::downgrade(&me.mailbox),
            exits: Arc::clone(&me.exits),
            strong: (self.flaw == Some(Flaw::StrongSelf)).then(|| Arc::clone(&me.mailbox)),
            tally: Arc::clone(tally),
            restart: config.restart,
        };
        builder
            .spawn(move || actor.run(&inbox, &exit_tx))
            .map_err(|e| Error::Other(e.to_string()))?;
        Ok(me)
    }
}

/// What the actor's thread holds: its own mailbox only weakly (see `Ref::mailbox`).
struct Actor {
    flaw: Option<Flaw>,
    shared: Arc<Shared>,
    mailbox: Weak<Mailbox>,
    exits: Arc<Mutex<Receiver<Exit>>>,
    // `Flaw::StrongSelf`: a strong handle that keeps the mailbox open for ever.
    strong: Option<Arc<Mailbox>>,
    tally: Arc<Tally>,
    restart: Restart,
}

impl Actor {
    fn has(&self, flaw: Flaw) -> bool {
        self.flaw == Some(flaw)
    }

    /// A reference to itself, as long as some other reference is alive.
    fn myself(&self) -> Option<Ref> {
        Some(Ref {
            flaw: self.flaw,
            shared: Arc::clone(&self.shared),
            mailbox: self.mailbox.upgrade()?,
            exits: Arc::clone(&self.exits),
            nonce: 0,
        })
    }

    fn run(mut self, inbox: &Receiver<Envelope>, exits: &Sender<Exit>) {
        let shared = Arc::clone(&self.shared);
        CURRENT.set(shared.id);
        let mut probe = Probe::build(&self.tally);
        // When each restart inside the window happened.
        let mut restarts: VecDeque<Instant> = VecDeque::new();
        let exit = 'run: loop {
            let state = shared.state.load(Ordering::SeqCst);
            let killed = state == KILLED && !self.has(Flaw::KillDrains);
            if killed || (state == STOPPING && self.has(Flaw::StopDropsPending)) {
                break if killed { Exit::Killed } else { Exit::Stopped };
            }
            let first = if state == RUNNING {
                match inbox.recv() {
                    Ok(envelope) => envelope,
                    Err(_) => break Exit::Stopped,
                }
            } else {
                match inbox.try_recv() {
                    Ok(envelope) => envelope,
                    Err(_) if state == KILLED => break Exit::Killed,
                    Err(_) => break Exit::Stopped,
                }
            };
            let mut batch = vec![first];
            if self.has(Flaw::LifoMailbox) {
                batch.extend(inbox.try_iter());
                batch.reverse();
            }
            for (msg, reply) in batch {
                let Some(msg) = msg else { continue };
                shared.depth.fetch_sub(1, Ordering::SeqCst);
                if self.has(Flaw::ReceivedAtHandle) {
                    shared.received.fetch_add(1, Ordering::SeqCst);
                }
                let start = Instant::now();
                let result = match msg {
                    Msg::AskSelf => Ok(Reply::SelfAsk(match self.myself() {
                        Some(me) => me.ask(Msg::Log, Duration::from_secs(1)).map(drop),
                        None => Err(Error::Stopped),
                    })),
                    msg => catch_unwind(AssertUnwindSafe(|| probe.handle(msg))),
                };
                shared
                    .nanos
                    .fetch_add(start.elapsed().as_nanos() as u64, Ordering::SeqCst);
                match result {
                    Ok(answer) => {
                        shared.handled.fetch_add(1, Ordering::SeqCst);
                        let killed = shared.state.load(Ordering::SeqCst) == KILLED;
                        if killed && self.has(Flaw::KillLosesReplyInHand) {
                            continue;
                        }
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(answer));
                        }
                    }
                    Err(payload) => {
                        let message = bothways_spec::check::panic_text(&*payload);
                        if let Some(reply) = reply {
                            let _ = reply.send(Err(Error::Panicked { message }));
                        }
                        let now = Instant::now();
                        let allowed = match self.restart {
                            Restart::Never => false,
                            Restart::OnPanic {
                                max_restarts,
                                within,
                            } => {
                                if !self.has(Flaw::RestartsNeverExpire) {
                                    restarts.retain(|&t| now.duration_since(t) <= within);
                                }
                                self.has(Flaw::NoRestartLimit)
                                    || restarts.len() < max_restarts as usize
                            }
                        };
                        if !allowed {
                            let restarts = u32::try_from(restarts.len()).unwrap_or(u32::MAX);
                            break 'run Exit::GaveUp { restarts };
                        }
                        restarts.push_back(now);
                        if !self.has(Flaw::RestartKeepsState) {
                            probe = Probe::build(&self.tally);
                        }
                    }
                }
            }
        };
        shared.state.store(DEAD, Ordering::SeqCst);
        drop(self.strong.take());
        while inbox.try_recv().is_ok() {}
        if matches!(exit, Exit::Stopped | Exit::Killed) {
            probe.stopped();
        }
        *shared.exit.lock().unwrap_or_else(PoisonError::into_inner) = Some(exit.clone());
        shared.ended.notify_all();
        let _ = exits.send(exit);
        if self.has(Flaw::ThreadLingers) {
            thread::sleep(Duration::from_secs(15));
        }
    }
}

bothways_spec::broken_tests! {
    pattern: actor, flaws: Flaw, build: |flaw| Imp { flaw: Some(flaw) };
    lifo_mailbox_fails_fifo_per_sender:
        LifoMailbox => fifo_per_sender, "record";
    unbounded_fails_tell_waits_while_the_mailbox_is_full:
        Unbounded => tell_waits_while_the_mailbox_is_full, "at most 4 tells through";
    unbounded_fails_try_tell_on_a_full_mailbox_is_full:
        Unbounded => try_tell_on_a_full_mailbox_is_full, "Err(Full)";
    ignores_limit_fails_ask_times_out_and_the_actor_goes_on:
        IgnoresLimit => ask_times_out_and_the_actor_goes_on, "Err(Timeout)";
    no_self_check_fails_ask_of_self_is_an_error_not_a_deadlock:
        NoSelfCheck => ask_of_self_is_an_error_not_a_deadlock, "SelfAsk(Err(AskSelf))";
    stop_drops_pending_fails_stop_drains_the_mailbox_then_runs_the_stop_hook:
        StopDropsPending => stop_drains_the_mailbox_then_runs_the_stop_hook, "all 20 queued records handled";
    strong_self_fails_dropping_every_ref_stops_the_actor:
        StrongSelf => dropping_every_ref_stops_the_actor, "once every reference was dropped";
    kill_drains_fails_kill_drops_pending_and_answers_askers_stopped:
        KillDrains => kill_drops_pending_and_answers_askers_stopped, "Err(Stopped) for the waiting asker";
    kill_loses_reply_in_hand_fails_kill_lets_the_running_handler_finish:
        KillLosesReplyInHand => kill_lets_the_running_handler_finish, "Ok(Done) for the ask whose handler was running";
    restart_keeps_state_fails_panic_is_isolated_and_restart_builds_fresh_state:
        RestartKeepsState => panic_is_isolated_and_restart_builds_fresh_state, "a fresh log";
    no_restart_limit_fails_restart_limit_stops_for_good_and_is_reported:
        NoRestartLimit => restart_limit_stops_for_good_and_is_reported, "GaveUp { restarts: 2 }";
    restarts_never_expire_fails_restarts_count_only_within_the_window:
        RestartsNeverExpire => restarts_count_only_within_the_window, "restarted, the first restart out of the window";
    received_at_handle_fails_metrics_count_exactly_what_was_sent_and_handled:
        ReceivedAtHandle => metrics_count_exactly_what_was_sent_and_handled, "received 101";
    no_validation_fails_invalid_config_is_a_typed_error_not_a_panic:
        NoValidation => invalid_config_is_a_typed_error_not_a_panic, "Err(InvalidConfig) for a mailbox capacity of 0";
    thread_lingers_fails_many_actors_spawn_and_stop_without_leaking_threads:
        ThreadLingers => many_actors_spawn_and_stop_without_leaking_threads, "threads afterwards";
    loses_refused_message_fails_a_refused_tell_hands_the_message_back:
        LosesRefusedMessage => a_refused_tell_hands_the_message_back, "from the refused try_tell";
    wait_returns_at_once_fails_wait_returns_once_the_actor_has_ended_and_how:
        WaitReturnsAtOnce => wait_returns_once_the_actor_has_ended_and_how, "Err(Timeout) from a wait on a running actor";
    hash_per_clone_fails_refs_are_equal_and_hash_alike_by_actor:
        HashPerClone => refs_are_equal_and_hash_alike_by_actor, "with the same hash";
    display_shows_figures_fails_display_names_the_actor_not_its_figures:
        DisplayShowsFigures => display_names_the_actor_not_its_figures, "the same text after 4 messages";
}

/// The baseline passes the whole suite, stamped exactly as for a real implementation, so each
/// variant's failure above comes from its one flaw.
mod baseline {
    bothways_spec::actor_suite!(threads: || Ok::<_, std::convert::Infallible>(
        super::Imp { flaw: None }
    ));
}
