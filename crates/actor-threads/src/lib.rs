//! Actors with OS threads: sequential processes with state, connected by bounded channels.
//!
//! Each actor runs on a thread of its own and takes one message at a time from a bounded
//! crossbeam-channel mailbox, so its state needs no locks:
//!
//! - [`spawn`] builds the state from a factory and returns an [`ActorRef`] (clone it, send it
//!   to other threads);
//! - [`ActorRef::tell`] waits while the mailbox is full — backpressure, so memory stays bounded —
//!   and [`ActorRef::try_tell`] returns [`Error::Full`] instead — a refused message comes back
//!   in the [`TellError`]; [`ActorRef::ask`] waits for
//!   the reply on a one-shot channel, up to a limit ([`Error::Timeout`]); an actor asking
//!   itself gets [`Error::AskSelf`], never a deadlock;
//! - [`ActorRef::stop`] drains the mailbox and then runs [`Actor::stopped`], as does dropping
//!   the last [`ActorRef`]; [`ActorRef::kill`] drops what is pending and answers waiting askers
//!   [`Error::Stopped`] — but cannot interrupt a handler that is running: that message is
//!   handled to the end first;
//! - a panic in the handler goes no further than the actor: the asker gets
//!   [`Error::Panicked`], and a [`RestartPolicy`] decides whether fresh state is built; past
//!   the limit the actor stops for good and the supervisor is told ([`ActorExit`]) on a
//!   [`supervisor`] channel; [`ActorRef::wait`] waits until the actor has ended and returns the
//!   same;
//! - [`ActorRef::metrics`] reads queue depth, messages received and handled, and — when
//!   [`Config::handler_time`] is on — handler time, while the actor runs.
//!
//! Threads: [`Config::stack_size`] sets each actor thread's stack; with 64 KiB, ten thousand
//! actors are practical.
//!
//! ```
//! use std::time::Duration;
//! use bothways_actor_threads::{Actor, Config, Context, spawn};
//!
//! struct Doubler;
//! impl Actor for Doubler {
//!     type Msg = u32;
//!     type Reply = u32;
//!     fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 { 2 * n }
//! }
//!
//! let doubler = spawn(|| Doubler, Config::default().with_capacity(16))?;
//! assert_eq!(doubler.ask(21, Duration::from_secs(5))?, 42);
//! doubler.stop();
//! # Ok::<(), bothways_actor_threads::Error>(())
//! ```
#![warn(missing_docs)]

mod actor;
mod actor_ref;
mod config;
#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod spawn;

pub use actor::{Actor, Context};
pub use actor_ref::ActorRef;
// Threads: the stack size limits have no async counterpart.
pub use bothways_shared::Metrics;
pub use config::{
    ActorExit, Config, ExitReason, MAX_CAPACITY, MAX_STACK_SIZE, MIN_STACK_SIZE, RestartPolicy,
};
pub use error::{Error, TellError};
pub use spawn::spawn;

/// The channel a supervisor is told on ([`Config::supervisor`]), re-exported so that using it
/// takes no dependency of one's own.
pub mod supervisor {
    // Threads: crossbeam-channel, whose receiver blocks the thread that waits on it.
    pub use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
}
