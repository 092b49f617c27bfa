//! What an actor is: state and a handler (and an optional stop hook), plus the context a
//! handler gets to reach its own actor.

use std::fmt;
use std::sync::{Arc, Weak};

use crate::actor_ref::{ActorRef, Inner, Shared};

/// An actor: state (the type itself) and a handler that takes one message at a time.
///
/// The handler never runs concurrently with itself, so it needs no locks for its state. A
/// `tell` drops the reply; an `ask` waits for it.
///
/// ```
/// use bothways_actor_async::{Actor, Context};
///
/// #[derive(Default)]
/// struct Counter { total: u64 }
///
/// impl Actor for Counter {
///     type Msg = u64;
///     type Reply = u64;
///     async fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
///         self.total += n;
///         self.total
///     }
/// }
/// ```
pub trait Actor: Send + Sized + 'static {
    /// What the actor is sent.
    type Msg: Send + 'static;
    /// What it answers an `ask` with.
    type Reply: Send + 'static;

    /// Handles one message. A panic here is caught: the asker gets `Error::Panicked`, and the
    /// restart policy decides what happens to the actor.
    // Async: the handler is a future, and must be `Send` so the actor's task can move between
    // a multi_thread runtime's workers; it must not block the worker (use tokio's sleep, I/O).
    fn handle(
        &mut self,
        msg: Self::Msg,
        ctx: &Context<Self>,
    ) -> impl Future<Output = Self::Reply> + Send;

    /// Runs once when the actor ends by `stop` (after the mailbox is drained), by `kill`, or
    /// because every reference was dropped — not after a panic it gave up on.
    fn stopped(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// What a handler gets besides its message: its actor's id and a way to reach it.
pub struct Context<A: Actor> {
    // Weak, so that the actor's own context does not keep its mailbox open: once every
    // `ActorRef` is gone, the actor drains its mailbox and stops.
    pub(crate) me: Weak<Inner<A>>,
    pub(crate) shared: Arc<Shared>,
}

impl<A: Actor> Context<A> {
    /// The actor's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// A reference to this actor, or `None` once every other reference has been dropped.
    /// Asking it from the handler is `Error::AskSelf`, not a deadlock.
    pub fn myself(&self) -> Option<ActorRef<A>> {
        self.me.upgrade().map(|inner| ActorRef { inner })
    }

    /// Stops this actor once the handler returns: the mailbox is drained, then the stop hook
    /// runs.
    pub fn stop(&self) {
        // No wake-up needed: the actor is running this handler, and looks at its state before
        // taking the next message.
        self.shared.stop();
    }
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.shared.id)
            .finish()
    }
}
