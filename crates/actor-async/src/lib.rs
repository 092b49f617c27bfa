//! Actors in async Rust: sequential processes with state, connected by bounded channels.
//!
//! Each actor runs as a tokio task of its own and takes one message at a time from a bounded
//! tokio `mpsc` mailbox, so its state needs no locks:
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
//! Async: an idle actor is a parked task and an empty mailbox, a few hundred bytes; ten
//! thousand of them cost nothing worth measuring, with no stack to size.
//!
//! ```
//! use std::time::Duration;
//! use bothways_actor_async::{Actor, Config, Context, spawn};
//!
//! struct Doubler;
//! impl Actor for Doubler {
//!     type Msg = u32;
//!     type Reply = u32;
//!     async fn handle(&mut self, n: u32, _: &Context<Self>) -> u32 { 2 * n }
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let doubler = spawn(|| Doubler, Config::default().with_capacity(16))?;
//! assert_eq!(doubler.ask(21, Duration::from_secs(5)).await?, 42);
//! doubler.stop();
//! # Ok::<(), bothways_actor_async::Error>(())
//! # })?;
//! # Ok::<(), bothways_actor_async::Error>(())
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
pub use bothways_shared::Metrics;
pub use config::{ActorExit, Config, ExitReason, MAX_CAPACITY, RestartPolicy};
pub use error::{Error, TellError};
pub use spawn::spawn;

/// The channel a supervisor is told on ([`Config::supervisor`]), re-exported so that using it
/// takes no dependency of one's own.
pub mod supervisor {
    // Async: async-channel, whose receiver is awaited.
    pub use async_channel::{Receiver, Sender, bounded, unbounded};
}
