//! Spawning an actor on a thread of its own, and the loop that thread runs: one message at a
//! time, panics caught, restarts counted against the policy, the supervisor told at the end.

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use crate::actor_ref::{CURRENT, DEAD, Envelope, Inner, KILLED, RUNNING, STOPPING, Shared};
use crate::{Actor, ActorExit, ActorRef, Config, Context, Error, ExitReason, RestartPolicy};
use bothways_shared::Counters;
use bothways_shared::panic_text;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Spawns an actor whose state `factory` builds — at the start, and again after each panic the
/// restart policy allows — on a thread of its own.
///
/// ```
/// use std::time::Duration;
/// use bothways_actor_threads::{Actor, Config, Context, spawn};
///
/// #[derive(Default)]
/// struct Counter { total: u64 }
/// impl Actor for Counter {
///     type Msg = u64;
///     type Reply = u64;
///     fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 { self.total += n; self.total }
/// }
///
/// let counter = spawn(Counter::default, Config::default())?;
/// counter.tell(40)?;
/// assert_eq!(counter.ask(2, Duration::from_secs(5))?, 42);
/// # Ok::<(), bothways_actor_threads::Error>(())
/// ```
pub fn spawn<A, F>(factory: F, config: Config) -> Result<ActorRef<A>, Error>
where
    A: Actor,
    F: FnMut() -> A + Send + 'static,
{
    config.validate()?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (mailbox, inbox) = bounded(config.capacity);
    let shared = Arc::new(Shared {
        id,
        capacity: config.capacity,
        state: AtomicU8::new(RUNNING),
        counters: Counters::default(),
        wake_queued: AtomicBool::new(false),
        exit: Mutex::new(None),
        ended: Condvar::new(),
        awaited: AtomicBool::new(false),
    });
    let inner = Arc::new(Inner {
        mailbox,
        shared: Arc::clone(&shared),
    });
    let ctx = Context {
        me: Arc::downgrade(&inner),
        shared,
    };
    let mut builder = thread::Builder::new().name(format!("actor-{id}"));
    if let Some(size) = config.stack_size {
        builder = builder.stack_size(size);
    }
    let Config {
        restart,
        supervisor,
        handler_time,
        ..
    } = config;
    builder
        .spawn(move || {
            CURRENT.set(id);
            run(factory, &inbox, &ctx, restart, supervisor, handler_time);
        })
        .map_err(|e| Error::Spawn { kind: e.kind() })?;
    Ok(ActorRef { inner })
}

// ANCHOR: run
fn run<A, F>(
    mut factory: F,
    inbox: &Receiver<Envelope<A>>,
    ctx: &Context<A>,
    restart: RestartPolicy,
    supervisor: Option<Sender<ActorExit>>,
    timed: bool,
) where
    A: Actor,
    F: FnMut() -> A,
{
    let shared = &ctx.shared;
    let mut restarts = Restarts::new(restart);
    let mut actor = build(&mut factory);
    let reason = loop {
        let current = match &mut actor {
            Ok(current) => current,
            Err(message) => {
                break ExitReason::GaveUp {
                    restarts: restarts.count(),
                    message: message.clone(),
                };
            }
        };
        let envelope = match shared.state() {
            KILLED => break ExitReason::Killed,
            // Stopping: take what is already queued, without waiting for more.
            STOPPING => match inbox.try_recv() {
                Ok(envelope) => envelope,
                Err(_) => break ExitReason::Stopped,
            },
            _ => match inbox.recv() {
                Ok(envelope) => envelope,
                // Every ActorRef is gone: nobody can send again.
                Err(_) => break ExitReason::Stopped,
            },
        };
        if let Envelope::Wake = envelope {
            // A stop or kill: look at the state again.
            shared.wake_queued.store(false, Ordering::SeqCst);
            continue;
        }
        if shared.state() == KILLED {
            // Killed while this message was being taken: it is dropped with the rest.
            Counters::bump_own(&shared.counters.own.dropped);
            drop(envelope);
            break ExitReason::Killed;
        }
        if let Err(message) = handle(current, envelope, ctx, timed) {
            if restarts.allow() {
                Counters::bump_own(&shared.counters.own.restarts);
                actor = build(&mut factory);
            } else {
                break ExitReason::GaveUp {
                    restarts: restarts.count(),
                    message,
                };
            }
        }
    };
    shared.state.store(DEAD, Ordering::Release);
    // Whatever is still queued is dropped, and with it each asker's reply channel, which
    // answers the asker `Stopped`.
    while let Ok(envelope) = inbox.try_recv() {
        if !matches!(envelope, Envelope::Wake) {
            Counters::bump_own(&shared.counters.own.dropped);
        }
        drop(envelope);
    }
    if let (Ok(actor), ExitReason::Stopped | ExitReason::Killed) = (&mut actor, &reason) {
        // A panicking stop hook must not take the supervisor's report with it.
        let _ = catch_unwind(AssertUnwindSafe(|| actor.stopped()));
    }
    let exit = ActorExit {
        id: shared.id,
        reason,
        metrics: shared.counters.snapshot(inbox.len()),
    };
    shared.ended(exit.clone());
    if let Some(supervisor) = supervisor {
        let _ = supervisor.try_send(exit);
    }
}
// ANCHOR_END: run

/// Builds fresh state; a panicking factory counts as a panic the actor cannot recover from.
fn build<A>(factory: &mut impl FnMut() -> A) -> Result<A, String> {
    catch_unwind(AssertUnwindSafe(factory)).map_err(|p| panic_text(&*p))
}

/// Runs the handler on one message — timed if `timed` — and answers an asker; `Err` with the
/// panic's message if it panicked.
fn handle<A: Actor>(
    actor: &mut A,
    envelope: Envelope<A>,
    ctx: &Context<A>,
    timed: bool,
) -> Result<(), String> {
    let counters = &ctx.shared.counters;
    let (msg, reply) = match envelope {
        Envelope::Wake => return Ok(()),
        Envelope::Tell(msg) => (msg, None),
        Envelope::Ask(msg, reply) => (msg, Some(reply)),
    };
    let start = timed.then(Instant::now);
    let result = catch_unwind(AssertUnwindSafe(|| actor.handle(msg, ctx)));
    if let Some(start) = start {
        counters.add_time(start.elapsed());
    }
    match result {
        Ok(answer) => {
            // Counted before the reply goes, so an asker who reads the metrics sees it.
            Counters::bump_own(&counters.own.handled);
            if let Some(reply) = reply {
                let _ = reply.send(Ok(answer));
            }
            Ok(())
        }
        Err(payload) => {
            Counters::bump_own(&counters.own.panicked);
            let message = panic_text(&*payload);
            if let Some(reply) = reply {
                let _ = reply.send(Err(Error::Panicked {
                    id: ctx.shared.id,
                    message: message.clone(),
                }));
            }
            Err(message)
        }
    }
}

/// The restarts within the policy's window.
#[derive(Debug)]
struct Restarts {
    policy: RestartPolicy,
    at: VecDeque<Instant>,
}

impl Restarts {
    fn new(policy: RestartPolicy) -> Self {
        Restarts {
            policy,
            at: VecDeque::new(),
        }
    }

    /// Whether one more restart is allowed now; if so, it is counted.
    fn allow(&mut self) -> bool {
        let RestartPolicy::OnPanic {
            max_restarts,
            within,
        } = self.policy
        else {
            return false;
        };
        let now = Instant::now();
        while self
            .at
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) > within)
        {
            self.at.pop_front();
        }
        if self.at.len() < max_restarts as usize {
            self.at.push_back(now);
            true
        } else {
            false
        }
    }

    fn count(&self) -> u32 {
        u32::try_from(self.at.len()).unwrap_or(u32::MAX)
    }
}
