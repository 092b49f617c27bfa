//! The handle to a running actor: tell, try_tell, ask, stop, kill and metrics.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Counters;
use crate::{Actor, Error, Metrics};

pub(crate) const RUNNING: u8 = 0;
pub(crate) const STOPPING: u8 = 1;
pub(crate) const KILLED: u8 = 2;
pub(crate) const DEAD: u8 = 3;

tokio::task_local! {
    // Async: the id of the actor this task runs, so that an ask of itself is refused instead
    // of waiting for ever on its own mailbox. Task-local, not thread-local: a multi_thread
    // runtime moves the task between threads.
    pub(crate) static CURRENT: u64;
}

fn current() -> u64 {
    CURRENT.try_with(|id| *id).unwrap_or(0)
}

/// One message in a mailbox: a tell, an ask with the one-shot channel for its reply, or a
/// wake-up with no message that makes an idle actor look at its state after a stop or kill.
pub(crate) enum Envelope<A: Actor> {
    Wake,
    Tell(A::Msg),
    Ask(A::Msg, oneshot::Sender<Result<A::Reply, Error>>),
}

/// What the actor and every reference share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) id: u64,
    pub(crate) capacity: usize,
    pub(crate) state: AtomicU8,
    pub(crate) counters: Counters,
    // Whether a `Wake` is in the mailbox: at most one is sent at a time, and it is not counted
    // in the queue depth.
    pub(crate) wake_queued: AtomicBool,
}

impl Shared {
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::SeqCst)
    }

    // SeqCst for the state and the wake-up flag: an actor that clears the flag after taking a
    // `Wake` must then see any state set before a `nudge` that found the flag still set.
    pub(crate) fn stop(&self) {
        let _ = self
            .state
            .compare_exchange(RUNNING, STOPPING, Ordering::SeqCst, Ordering::SeqCst);
    }

    fn kill(&self) {
        // fetch_max: RUNNING and STOPPING become KILLED; DEAD stays DEAD.
        self.state.fetch_max(KILLED, Ordering::SeqCst);
    }
}

pub(crate) struct Inner<A: Actor> {
    pub(crate) mailbox: mpsc::Sender<Envelope<A>>,
    pub(crate) shared: Arc<Shared>,
}

/// A reference to a running actor: cheap to clone, and `Send + Sync`. When the last one is
/// dropped, the actor drains its mailbox and stops.
///
/// ```
/// use std::time::Duration;
/// use bothways_actor_async::{Actor, Config, Context, spawn};
///
/// struct Upper;
/// impl Actor for Upper {
///     type Msg = String;
///     type Reply = String;
///     async fn handle(&mut self, s: String, _: &Context<Self>) -> String { s.to_uppercase() }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let upper = spawn(|| Upper, Config::default())?;
/// let other = upper.clone();
/// tokio::spawn(async move { other.tell("from another task".into()).await }).await.unwrap()?;
/// assert_eq!(upper.ask("hi".into(), Duration::from_secs(5)).await?, "HI");
/// upper.stop();
/// # Ok::<(), bothways_actor_async::Error>(())
/// # })?;
/// # Ok::<(), bothways_actor_async::Error>(())
/// ```
pub struct ActorRef<A: Actor> {
    pub(crate) inner: Arc<Inner<A>>,
}

impl<A: Actor> ActorRef<A> {
    /// The actor's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.inner.shared.id
    }

    /// Sends `msg`, waiting while the mailbox is full: a full mailbox slows the sender down
    /// instead of growing. From inside the actor itself a full mailbox is `Full` instead,
    /// since waiting would be for ever.
    pub async fn tell(&self, msg: A::Msg) -> Result<(), Error> {
        if current() == self.id() {
            return self.try_tell(msg);
        }
        self.send(Envelope::Tell(msg)).await
    }

    /// Sends `msg` if the mailbox has room, or returns `Full` at once.
    pub fn try_tell(&self, msg: A::Msg) -> Result<(), Error> {
        let shared = &self.inner.shared;
        self.open()?;
        match self.inner.mailbox.try_reserve() {
            Ok(permit) => {
                Counters::bump(&shared.counters.received);
                permit.send(Envelope::Tell(msg));
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(Error::Full {
                id: shared.id,
                capacity: shared.capacity,
            }),
            Err(TrySendError::Closed(())) => Err(self.stopped()),
        }
    }

    /// Sends `msg` and waits for the reply through a one-shot channel, at most `limit` in all
    /// (waiting for room in the mailbox included). `Duration::MAX` means no limit.
    pub async fn ask(&self, msg: A::Msg, limit: Duration) -> Result<A::Reply, Error> {
        if current() == self.id() {
            return Err(Error::AskSelf { id: self.id() });
        }
        // Async: the limit's timer needs a tokio runtime (with its time driver enabled);
        // polled outside one, `tokio::time::timeout` would panic.
        if Handle::try_current().is_err() {
            return Err(Error::NoRuntime);
        }
        let (reply, answer) = oneshot::channel();
        let exchange = async {
            self.send(Envelope::Ask(msg, reply)).await?;
            match answer.await {
                Ok(result) => result,
                // The envelope was dropped unanswered: the actor was killed or gave up.
                Err(_) => Err(self.stopped()),
            }
        };
        // Async: the limit is a timer racing the whole exchange; when it wins, the exchange
        // is dropped — cancelled — wherever it was waiting.
        match tokio::time::timeout(limit, exchange).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                id: self.id(),
                after: limit,
            }),
        }
    }

    /// Stops the actor: it takes no new messages, handles those already in its mailbox, runs
    /// its stop hook and ends. Returns at once.
    pub fn stop(&self) {
        self.inner.shared.stop();
        self.nudge();
    }

    /// Kills the actor, returning at once. A kill cannot interrupt a handler that is running:
    /// the message in hand (if any) is handled to the end and its asker gets the real reply.
    /// Only then is every message still in the mailbox dropped unhandled — each waiting asker
    /// answered `Stopped` — and the stop hook run. No message is taken after the kill.
    pub fn kill(&self) {
        self.inner.shared.kill();
        self.nudge();
    }

    /// The actor's metrics now.
    pub fn metrics(&self) -> Metrics {
        let shared = &self.inner.shared;
        let mailbox = &self.inner.mailbox;
        let wake = usize::from(shared.wake_queued.load(Ordering::SeqCst));
        let queued = (mailbox.max_capacity() - mailbox.capacity()).saturating_sub(wake);
        shared.counters.snapshot(queued)
    }

    /// Makes sure an idle actor — waiting on an empty mailbox — wakes to look at its state: one
    /// `Wake` in the mailbox at a time. A full mailbox needs none: the actor is not idle, and
    /// looks at its state before taking each message.
    fn nudge(&self) {
        let shared = &self.inner.shared;
        if !shared.wake_queued.swap(true, Ordering::SeqCst)
            && self.inner.mailbox.try_send(Envelope::Wake).is_err()
        {
            shared.wake_queued.store(false, Ordering::SeqCst);
        }
    }

    async fn send(&self, envelope: Envelope<A>) -> Result<(), Error> {
        self.open()?;
        // Reserve, then count, then send: the send cannot fail once reserved, and a caller
        // cancelled while waiting for room (an ask's timeout) has counted nothing.
        let permit = self
            .inner
            .mailbox
            .reserve()
            .await
            .map_err(|_| self.stopped())?;
        Counters::bump(&self.inner.shared.counters.received);
        permit.send(envelope);
        Ok(())
    }

    fn open(&self) -> Result<(), Error> {
        if self.inner.shared.state() == RUNNING {
            Ok(())
        } else {
            Err(self.stopped())
        }
    }

    fn stopped(&self) -> Error {
        Error::Stopped { id: self.id() }
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.id())
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl<A: Actor> fmt::Display for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor {}: {}", self.id(), self.metrics())
    }
}
