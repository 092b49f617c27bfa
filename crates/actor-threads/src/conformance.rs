//! This crate's implementation of the shared suite's [`ActorSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use bothways_spec::actor::{
    self, ActorSpec, Error as Spec, Exit, Msg, Probe, ProbeRef, Refused, Reply, Restart, Tally,
};

use crate::supervisor::{Receiver, unbounded};
use crate::{
    Actor, ActorExit, ActorRef, Config, Context, Error, ExitReason, RestartPolicy, TellError, spawn,
};

/// The suite's probe actor, on this crate's [`Actor`] trait.
#[derive(Debug)]
pub struct ProbeActor(Probe);

impl Actor for ProbeActor {
    type Msg = Msg;
    type Reply = Reply;

    fn handle(&mut self, msg: Msg, ctx: &Context<Self>) -> Reply {
        match msg {
            Msg::AskSelf => Reply::SelfAsk(match ctx.myself() {
                Some(me) => me
                    .ask(Msg::Log, Duration::from_secs(1))
                    .map(drop)
                    .map_err(to_spec),
                None => Err(Spec::Stopped),
            }),
            // Threads: `Sleep` blocks the actor's own thread, which is what a slow handler does.
            other => self.0.handle(other),
        }
    }

    fn stopped(&mut self) {
        self.0.stopped();
    }
}

/// The threads actors, as the suite drives them: each probe on a thread of its own.
///
/// ```
/// use std::time::Duration;
/// use bothways_spec::actor::{ActorSpec, Config, Msg, ProbeRef, Reply, Tally};
/// let imp = bothways_actor_threads::conformance::Conformance::new()?;
/// let probe = imp.spawn(Config::new(8), &Tally::new()).unwrap();
/// probe.tell(Msg::Record { sender: 0, seq: 0 }).unwrap();
/// assert_eq!(probe.ask(Msg::Log, Duration::from_secs(5)), Ok(Reply::Log(vec![(0, 0)])));
/// # Ok::<(), bothways_actor_threads::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {}

impl Conformance {
    /// Nothing to build: each actor starts its own thread.
    pub fn new() -> Result<Self, Error> {
        Ok(Conformance {})
    }
}

impl ActorSpec for Conformance {
    type Ref = Ref;

    fn spawn(&self, config: actor::Config, tally: &Arc<Tally>) -> Result<Ref, Spec> {
        let (supervisor, exits) = unbounded();
        let tally = Arc::clone(tally);
        // Timed, so that the metrics check sees the handler's time.
        let mut built = Config::default()
            .with_capacity(config.capacity)
            .with_restart(restart(config.restart))
            .with_supervisor(supervisor)
            .with_handler_time(true);
        if let Some(size) = config.stack_size {
            built = built.with_stack_size(size);
        }
        let actor = spawn(move || ProbeActor(Probe::build(&tally)), built).map_err(to_spec)?;
        Ok(Ref { actor, exits })
    }
}

/// A running probe, as the suite sees it, with its supervisor's channel; equal, hashed and
/// shown as its [`ActorRef`] is.
#[derive(Debug, Clone)]
pub struct Ref {
    actor: ActorRef<ProbeActor>,
    exits: Receiver<ActorExit>,
}

impl PartialEq for Ref {
    fn eq(&self, other: &Self) -> bool {
        self.actor == other.actor
    }
}

impl Eq for Ref {}

impl Hash for Ref {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.actor.hash(state);
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.actor, f)
    }
}

impl ProbeRef for Ref {
    fn id(&self) -> u64 {
        self.actor.id()
    }

    fn tell(&self, msg: Msg) -> Result<(), Refused> {
        self.actor.tell(msg).map_err(refused)
    }

    fn try_tell(&self, msg: Msg) -> Result<(), Refused> {
        self.actor.try_tell(msg).map_err(refused)
    }

    fn ask(&self, msg: Msg, limit: Duration) -> Result<Reply, Spec> {
        self.actor.ask(msg, limit).map_err(to_spec)
    }

    fn stop(&self) {
        self.actor.stop();
    }

    fn kill(&self) {
        self.actor.kill();
    }

    fn metrics(&self) -> actor::Metrics {
        let m = self.actor.metrics();
        actor::Metrics {
            queue_depth: m.queue_depth,
            received: m.received,
            handled: m.handled,
            handler_time: m.handler_time,
        }
    }

    fn exit(&self, within: Duration) -> Option<Exit> {
        let exit = self.exits.recv_timeout(within).ok()?;
        Some(to_exit(exit))
    }

    fn wait(&self, limit: Duration) -> Result<Exit, Spec> {
        self.actor.wait(limit).map(to_exit).map_err(to_spec)
    }
}

fn to_exit(exit: ActorExit) -> Exit {
    match exit.reason {
        ExitReason::Stopped => Exit::Stopped,
        ExitReason::Killed => Exit::Killed,
        ExitReason::GaveUp { restarts, .. } => Exit::GaveUp { restarts },
    }
}

fn refused(refused: TellError<Msg>) -> Refused {
    Refused {
        error: to_spec(refused.error),
        msg: refused.msg,
    }
}

fn restart(policy: Restart) -> RestartPolicy {
    match policy {
        Restart::Never => RestartPolicy::Never,
        Restart::OnPanic {
            max_restarts,
            within,
        } => RestartPolicy::OnPanic {
            max_restarts,
            within,
        },
    }
}

fn to_spec(error: Error) -> Spec {
    match error {
        Error::Full { .. } => Spec::Full,
        Error::Timeout { .. } => Spec::Timeout,
        Error::Stopped { .. } => Spec::Stopped,
        Error::Panicked { message, .. } => Spec::Panicked { message },
        Error::AskSelf { .. } => Spec::AskSelf,
        Error::InvalidConfig { .. } => Spec::InvalidConfig,
        other => Spec::Other(other.to_string()),
    }
}
