//! The one error enum of this crate — what a send, an ask, a wait or a spawn can end in — and
//! the refused tell that hands its message back.

use std::fmt;
use std::time::Duration;

/// What a send, an ask or a spawn can end in. Every variant names the actor by its id.
///
/// ```
/// use std::time::Duration;
/// use bothways_actor_threads::{Actor, Config, Context, Error, spawn};
///
/// struct Slow;
/// impl Actor for Slow {
///     type Msg = Duration;
///     type Reply = ();
///     fn handle(&mut self, nap: Duration, _: &Context<Self>) { std::thread::sleep(nap) }
/// }
///
/// let slow = spawn(|| Slow, Config::default())?;
/// let got = slow.ask(Duration::from_millis(200), Duration::from_millis(10));
/// assert!(matches!(got, Err(Error::Timeout { .. })));
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
    /// A handler asked its own actor, or waited for it to end, which would wait for ever on
    /// itself.
    #[error("actor {id} asked or waited for itself, which would wait for ever")]
    AskSelf {
        /// The actor.
        id: u64,
    },
    /// The configuration cannot work (a zero or huge mailbox, a zero restart window; threads: a
    /// stack size out of bounds).
    #[error("invalid configuration: {reason}")]
    InvalidConfig {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Threads: the OS would not start the actor's thread.
    #[error("could not start the actor's thread: {kind}")]
    Spawn {
        /// The OS error's kind.
        kind: std::io::ErrorKind,
    },
}

/// A `tell` or `try_tell` that did not go through: why, and the message handed back unchanged,
/// so that the caller can retry it, send it elsewhere or drop it. `?` turns it into [`Error`].
///
/// ```
/// use bothways_actor_threads::{Actor, Config, Context, Error, TellError, spawn};
///
/// struct Echo;
/// impl Actor for Echo {
///     type Msg = String;
///     type Reply = String;
///     fn handle(&mut self, s: String, _: &Context<Self>) -> String { s }
/// }
///
/// let echo = spawn(|| Echo, Config::default())?;
/// echo.stop();
/// let refused = echo.tell("not lost".to_owned()).unwrap_err();
/// assert!(matches!(refused.error, Error::Stopped { .. }));
/// assert_eq!(refused.msg, "not lost");
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct TellError<M> {
    /// Why: `Full` (from `try_tell`, or a tell to itself) or `Stopped`.
    pub error: Error,
    /// The message, unchanged.
    pub msg: M,
}

// By hand, not derived: a message type need not be `Debug` for its error to be.
impl<M> fmt::Debug for TellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TellError")
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl<M> From<TellError<M>> for Error {
    fn from(refused: TellError<M>) -> Error {
        refused.error
    }
}
