//! This crate's implementation of the shared suite's [`ActorSpec`], behind the `spec` feature
//! so that users of the crate do not pull the suite in.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_spec::Flavour;
use bothways_spec::actor::{
    self, ActorSpec, Error as Spec, Exit, Msg, Probe, ProbeRef, Refused, Reply, Restart, Tally,
};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::oneshot;

use crate::supervisor::{Receiver, unbounded};
use crate::{
    Actor, ActorExit, ActorRef, Config, Context, Error, ExitReason, RestartPolicy, TellError, spawn,
};

/// How many worker threads the `multi_thread` runtime runs: the machine's two cores.
pub const WORKERS: usize = 2;

/// The suite's probe actor, on this crate's [`Actor`] trait.
#[derive(Debug)]
pub struct ProbeActor(Probe);

impl Actor for ProbeActor {
    type Msg = Msg;
    type Reply = Reply;

    async fn handle(&mut self, msg: Msg, ctx: &Context<Self>) -> Reply {
        match msg {
            Msg::AskSelf => Reply::SelfAsk(match ctx.myself() {
                Some(me) => me
                    .ask(Msg::Log, Duration::from_secs(1))
                    .await
                    .map(drop)
                    .map_err(to_spec),
                None => Err(Spec::Stopped),
            }),
            // Async: a slow handler awaits; it must not block the worker thread.
            Msg::Sleep(d) => {
                tokio::time::sleep(d).await;
                Reply::Done
            }
            other => self.0.handle(other),
        }
    }

    async fn stopped(&mut self) {
        self.0.stopped();
    }
}

/// The async actors, as the suite drives them: each probe a task on a runtime of the given
/// flavour, driven — for `current_thread` — by a thread that blocks on the runtime for as long
/// as this lives.
///
/// ```
/// use std::time::Duration;
/// use bothways_spec::{Flavour, actor::{ActorSpec, Config, Msg, ProbeRef, Reply, Tally}};
/// let imp = bothways_actor_async::conformance::Conformance::new(Flavour::CurrentThread)?;
/// let probe = imp.spawn(Config::new(8), &Tally::new()).unwrap();
/// probe.tell(Msg::Record { sender: 0, seq: 0 }).unwrap();
/// assert_eq!(probe.ask(Msg::Log, Duration::from_secs(5)), Ok(Reply::Log(vec![(0, 0)])));
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    runtime: Arc<Runtime>,
    driver: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

impl Conformance {
    /// Builds the runtime, and for `current_thread` the thread that drives it.
    pub fn new(flavour: Flavour) -> std::io::Result<Self> {
        let runtime = match flavour {
            Flavour::CurrentThread => Builder::new_current_thread().enable_all().build()?,
            Flavour::MultiThread => Builder::new_multi_thread()
                .worker_threads(WORKERS)
                .enable_all()
                .build()?,
        };
        let runtime = Arc::new(runtime);
        let driver = match flavour {
            Flavour::CurrentThread => {
                let (stop, stopped) = oneshot::channel::<()>();
                let runtime = Arc::clone(&runtime);
                // Async: a `current_thread` runtime only runs its tasks — the actors — while
                // some thread blocks on it; the suite's calls block on it only while they wait.
                // And only `Runtime::block_on`, not `Handle::block_on`, drives its timers.
                let thread = thread::Builder::new()
                    .name("actor-async-driver".into())
                    .spawn(move || {
                        runtime.block_on(async move {
                            let _ = stopped.await;
                        });
                    })?;
                Some((stop, thread))
            }
            Flavour::MultiThread => None,
        };
        Ok(Conformance { runtime, driver })
    }
}

impl Drop for Conformance {
    fn drop(&mut self) {
        if let Some((stop, thread)) = self.driver.take() {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

impl ActorSpec for Conformance {
    type Ref = Ref;

    fn spawn(&self, config: actor::Config, tally: &Arc<Tally>) -> Result<Ref, Spec> {
        let (supervisor, exits) = unbounded();
        let tally = Arc::clone(tally);
        // Timed, so that the metrics check sees the handler's time.
        let config = Config::default()
            .with_capacity(config.capacity)
            .with_restart(restart(config.restart))
            .with_supervisor(supervisor)
            .with_handler_time(true);
        // `spawn` finds the runtime from the context it is called in.
        let _entered = self.runtime.enter();
        let actor = spawn(move || ProbeActor(Probe::build(&tally)), config).map_err(to_spec)?;
        Ok(Ref {
            actor,
            exits,
            runtime: self.runtime.handle().clone(),
        })
    }
}

/// A running probe, as the suite sees it, with its supervisor's channel and the runtime its
/// blocking calls wait on; equal, hashed and shown as its [`ActorRef`] is.
#[derive(Debug, Clone)]
pub struct Ref {
    actor: ActorRef<ProbeActor>,
    exits: Receiver<ActorExit>,
    runtime: Handle,
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
        self.runtime.block_on(self.actor.tell(msg)).map_err(refused)
    }

    fn try_tell(&self, msg: Msg) -> Result<(), Refused> {
        self.actor.try_tell(msg).map_err(refused)
    }

    fn ask(&self, msg: Msg, limit: Duration) -> Result<Reply, Spec> {
        self.runtime
            .block_on(self.actor.ask(msg, limit))
            .map_err(to_spec)
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
        let exit = self
            .runtime
            // The timer must be made inside `block_on`, where the runtime's context is.
            .block_on(async { tokio::time::timeout(within, self.exits.recv()).await })
            .ok()?
            .ok()?;
        Some(to_exit(exit))
    }

    fn wait(&self, limit: Duration) -> Result<Exit, Spec> {
        self.runtime
            .block_on(self.actor.wait(limit))
            .map(to_exit)
            .map_err(to_spec)
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
