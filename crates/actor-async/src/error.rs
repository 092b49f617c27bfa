//! The one error enum of this crate: what a send, an ask or a spawn can end in.

use std::time::Duration;

/// What a send, an ask or a spawn can end in. Every variant names the actor by its id.
///
/// ```
/// use std::time::Duration;
/// use bothways_actor_async::{Actor, Config, Context, Error, spawn};
///
/// struct Slow;
/// impl Actor for Slow {
///     type Msg = Duration;
///     type Reply = ();
///     async fn handle(&mut self, nap: Duration, _: &Context<Self>) { tokio::time::sleep(nap).await }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let slow = spawn(|| Slow, Config::default())?;
/// let got = slow.ask(Duration::from_millis(200), Duration::from_millis(10)).await;
/// assert!(matches!(got, Err(Error::Timeout { .. })));
/// # Ok::<(), Error>(())
/// # })?;
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `try_tell` found the mailbox full (or a tell to itself from inside the actor would have
    /// waited for ever).
    #[error("actor {id}'s mailbox is full ({capacity} messages)")]
    Full {
        /// The actor.
        id: u64,
        /// Its mailbox capacity.
        capacity: usize,
    },
    /// No reply came within the ask's limit.
    #[error("actor {id} did not reply within {after:?}")]
    Timeout {
        /// The actor.
        id: u64,
        /// The limit.
        after: Duration,
    },
    /// The actor has stopped, or is stopping and takes no new messages, or it stopped before
    /// answering.
    #[error("actor {id} has stopped")]
    Stopped {
        /// The actor.
        id: u64,
    },
    /// The handler panicked on this message; the panic went no further than the actor.
    #[error("actor {id}'s handler panicked: {message}")]
    Panicked {
        /// The actor.
        id: u64,
        /// The panic's message.
        message: String,
    },
    /// A handler asked its own actor, which would wait for ever on itself.
    #[error("actor {id} asked itself, which would wait for ever")]
    AskSelf {
        /// The actor.
        id: u64,
    },
    /// The configuration cannot work (a zero or huge mailbox, a zero restart window).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Async: `spawn` was called, or an `ask` polled, outside a tokio runtime: there is nowhere
    /// to run the actor's task, and no timer for the ask's limit.
    #[error("no tokio runtime to run the actor's task or time the ask")]
    NoRuntime,
}

/// The text of a panic payload (`&str` or `String`), or a placeholder for other payloads.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}
