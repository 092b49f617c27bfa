//! The handle to a running actor: tell, try_tell, ask, stop, kill, wait and metrics.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{self, Poll};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::oneshot::error::RecvError;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::{Instant, Sleep};

use crate::{Actor, ActorExit, Error, Metrics, TellError};
use bothways_shared::Counters;

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

/// Whether this is polled inside a tokio runtime: cheaply inside a task (no handle is cloned),
/// and also in a runtime's `block_on`.
fn in_runtime() -> bool {
    tokio::task::try_id().is_some() || Handle::try_current().is_ok()
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
#[repr(C)]
pub(crate) struct Shared {
    // First, and in this order (`repr(C)`): the counters' padding keeps what the actor writes
    // for every message off the lines of the fields below, which senders read for every one.
    pub(crate) counters: Counters,
    pub(crate) id: u64,
    pub(crate) capacity: usize,
    pub(crate) state: AtomicU8,
    // Whether a `Wake` is in the mailbox: at most one is sent at a time, and it is not counted
    // in the queue depth.
    pub(crate) wake_queued: AtomicBool,
    // How the actor ended, once it has; `ended` wakes every `wait`.
    pub(crate) exit: OnceLock<ActorExit>,
    pub(crate) ended: Notify,
}

impl Shared {
    // Inline, like the counters: called from `tell`, which is compiled in the user's crate.
    #[inline]
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

    /// Records how the actor ended and wakes every `wait`.
    pub(crate) fn ended(&self, exit: ActorExit) {
        // The actor ends once, so this is the one value `exit` takes.
        let _ = self.exit.set(exit);
        self.ended.notify_waiters();
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
    /// since waiting would be for ever. A refused message comes back in the [`TellError`].
    #[inline]
    pub async fn tell(&self, msg: A::Msg) -> Result<(), TellError<A::Msg>> {
        if current() == self.id() {
            return self.tell_self(msg);
        }
        match self.reserve(None).await {
            Ok(permit) => {
                permit.send(Envelope::Tell(msg));
                Ok(())
            }
            Err(error) => Err(TellError { error, msg }),
        }
    }

    /// A tell from inside the actor itself: `try_tell`, since waiting for room in its own
    /// mailbox would be for ever. Cold and out of line so that `tell`, which every sender calls,
    /// stays small enough to inline (one core, threads: 65.7 → 58.1 ns per tell).
    #[cold]
    #[inline(never)]
    fn tell_self(&self, msg: A::Msg) -> Result<(), TellError<A::Msg>> {
        self.try_tell(msg)
    }

    /// Sends `msg` if the mailbox has room, or returns `Full` at once. A refused message comes
    /// back in the [`TellError`].
    pub fn try_tell(&self, msg: A::Msg) -> Result<(), TellError<A::Msg>> {
        let shared = &self.inner.shared;
        if let Err(error) = self.open() {
            return Err(TellError { error, msg });
        }
        match self.inner.mailbox.try_reserve() {
            Ok(permit) => {
                Counters::bump(&shared.counters.received);
                permit.send(Envelope::Tell(msg));
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TellError {
                error: Error::Full {
                    id: shared.id,
                    capacity: shared.capacity,
                },
                msg,
            }),
            Err(TrySendError::Closed(())) => Err(TellError {
                error: self.stopped(),
                msg,
            }),
        }
    }

    /// Sends `msg` and waits for the reply through a one-shot channel, at most `limit` in all
    /// (waiting for room in the mailbox included). `Duration::MAX` means no limit.
    // ANCHOR: ask
    pub async fn ask(&self, msg: A::Msg, limit: Duration) -> Result<A::Reply, Error> {
        if current() == self.id() {
            return Err(Error::AskSelf { id: self.id() });
        }
        // Async: the limit's timer needs a tokio runtime (with its time driver enabled);
        // polled outside one, a tokio timer would panic.
        if limit != Duration::MAX && !in_runtime() {
            return Err(Error::NoRuntime);
        }
        // One clock read: the limit counts from here, though its timer is made only if needed.
        let deadline = (limit != Duration::MAX)
            .then(Instant::now)
            .and_then(|now| now.checked_add(limit));
        let (reply, answer) = oneshot::channel();
        let permit = self.reserve(deadline).await.map_err(|e| match e {
            Error::Timeout { .. } => self.timeout(limit),
            other => other,
        })?;
        permit.send(Envelope::Ask(msg, reply));
        let got = match deadline {
            None => Some(answer.await),
            Some(deadline) => {
                Answer {
                    answer,
                    deadline,
                    yielded: false,
                    timer: None,
                }
                .await
            }
        };
        match got {
            Some(Ok(result)) => result,
            // The envelope was dropped unanswered: the actor was killed or gave up.
            Some(Err(_)) => Err(self.stopped()),
            None => Err(self.timeout(limit)),
        }
    }
    // ANCHOR_END: ask

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

    /// Waits until the actor has ended — stopped, killed, or given up after panics — at most
    /// `limit` (`Duration::MAX` means no limit), and returns how it ended, as its supervisor is
    /// told. It does not stop the actor: call [`stop`](Self::stop) or [`kill`](Self::kill)
    /// first, or wait for it to stop itself. Once it has ended, every wait returns at once.
    /// From inside the actor itself it is `AskSelf`, since it would wait for ever.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bothways_actor_async::{Actor, Config, Context, ExitReason, spawn};
    ///
    /// struct Nap;
    /// impl Actor for Nap {
    ///     type Msg = Duration;
    ///     type Reply = ();
    ///     async fn handle(&mut self, nap: Duration, _: &Context<Self>) { tokio::time::sleep(nap).await }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let nap = spawn(|| Nap, Config::default())?;
    /// nap.tell(Duration::from_millis(20)).await?;
    /// nap.stop();
    /// let exit = nap.wait(Duration::from_secs(5)).await?;
    /// assert_eq!((exit.reason, exit.metrics.handled), (ExitReason::Stopped, 1));
    /// # Ok::<(), bothways_actor_async::Error>(())
    /// # })?;
    /// # Ok::<(), bothways_actor_async::Error>(())
    /// ```
    pub async fn wait(&self, limit: Duration) -> Result<ActorExit, Error> {
        if current() == self.id() {
            return Err(Error::AskSelf { id: self.id() });
        }
        if limit != Duration::MAX && !in_runtime() {
            return Err(Error::NoRuntime);
        }
        let shared = &self.inner.shared;
        let ended = async {
            loop {
                // Async: a `Notify`, which the actor's task wakes as it ends. Registered before
                // the exit is looked at, so that an end in between still wakes this wait.
                let mut notified = pin!(shared.ended.notified());
                notified.as_mut().enable();
                if let Some(exit) = shared.exit.get() {
                    return exit.clone();
                }
                notified.await;
            }
        };
        if limit == Duration::MAX {
            Ok(ended.await)
        } else {
            tokio::time::timeout(limit, ended)
                .await
                .map_err(|_| self.timeout(limit))
        }
    }

    /// The actor's metrics now.
    ///
    /// ```
    /// use bothways_actor_async::{Actor, Config, Context, spawn};
    ///
    /// struct Echo;
    /// impl Actor for Echo {
    ///     type Msg = u32;
    ///     type Reply = u32;
    ///     async fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 { n }
    /// }
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let echo = spawn(|| Echo, Config::default())?;
    /// echo.tell(1).await?;
    /// assert_eq!(echo.ask(2, std::time::Duration::from_secs(5)).await?, 2);
    /// let m = echo.metrics();
    /// assert_eq!((m.received, m.handled, m.queue_depth), (2, 2, 0));
    /// println!("{m}"); // received 2, handled 2, panicked 0, dropped 0, queued 0, handler time …
    /// # Ok::<(), bothways_actor_async::Error>(())
    /// # })?;
    /// # Ok::<(), bothways_actor_async::Error>(())
    /// ```
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

    /// Room for one message, counted as received: at once if the mailbox has it, else waited
    /// for, until `deadline` if there is one.
    async fn reserve(
        &self,
        deadline: Option<Instant>,
    ) -> Result<mpsc::Permit<'_, Envelope<A>>, Error> {
        self.open()?;
        let mailbox = &self.inner.mailbox;
        // Reserve, then count, then send: the send cannot fail once reserved, and a caller
        // cancelled while waiting for room (an ask's timeout) has counted nothing.
        let permit = match mailbox.try_reserve() {
            Ok(permit) => permit,
            Err(TrySendError::Closed(())) => return Err(self.stopped()),
            Err(TrySendError::Full(())) => {
                let room = match deadline {
                    None => mailbox.reserve().await,
                    Some(deadline) => tokio::time::timeout_at(deadline, mailbox.reserve())
                        .await
                        .map_err(|_| self.timeout(Duration::ZERO))?,
                };
                room.map_err(|_| self.stopped())?
            }
        };
        Counters::bump(&self.inner.shared.counters.received);
        Ok(permit)
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

    fn timeout(&self, after: Duration) -> Error {
        Error::Timeout {
            id: self.id(),
            after,
        }
    }
}

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        ActorRef {
            inner: Arc::clone(&self.inner),
        }
    }
}

/// The reply to an ask with a limit, or `None` once its deadline has passed.
///
/// Async: a timer is made only if the reply is not there after the actor has had a turn of the
/// scheduler. On the first `Pending` this task wakes itself, which tokio takes as a yield: it
/// goes behind the actor the send woke, and an actor that is not busy has answered by the time
/// it comes round again. Most asks then make no timer at all — making one and cancelling it
/// (a clock read, two locks on the timer wheel, perhaps a wake-up of the thread that drives
/// the timers) costs more than the round trip itself.
struct Answer<T> {
    answer: oneshot::Receiver<T>,
    deadline: Instant,
    yielded: bool,
    // Boxed, so that this future stays `Unpin` with no unsafe pinning.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Future for Answer<T> {
    type Output = Option<Result<T, RecvError>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(got) = Pin::new(&mut this.answer).poll(cx) {
            return Poll::Ready(Some(got));
        }
        if !this.yielded {
            this.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let deadline = this.deadline;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        timer.as_mut().poll(cx).map(|()| None)
    }
}

/// Two references are equal when they reach the same actor: its id, unique in the process.
impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

/// Hashed by the actor's id, as [`PartialEq`] compares, so a reference can key a map.
impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.id())
            .field("actor", &short_type_name::<A>())
            .finish()
    }
}

/// Names the actor — `actor 7 (Counter)`: its id and its type — and nothing that changes while
/// it runs; its figures are on [`ActorRef::metrics`].
impl<A: Actor> fmt::Display for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "actor {} ({})", self.id(), short_type_name::<A>())
    }
}

/// The type's own name, without its module path or generic arguments.
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let path = full.split('<').next().unwrap_or(full);
    path.rsplit("::").next().unwrap_or(path)
}
