//! A worker that provably makes no progress during a window — with OS threads.
//!
//! The model is an event journal: while a new client is sent the history, the writer must not
//! write. A thread cannot be stopped from the outside, so the worker must be *asked*: a caller
//! counts itself in, the worker notices at a safe point between two items, parks there and
//! acknowledges, and only then does [`PauseHandle::pause`] return its [`PauseGuard`].
//!
//! - [`Worker::spawn`] runs an effect on each item of a bounded crossbeam input, on a thread;
//! - [`PauseHandle::pause`] waits out an item in progress and returns a guard; dropping the
//!   guard resumes the worker, and guards count, so two callers can pause at once;
//! - [`PauseHandle::pause_within`] gives [`Error::PauseTimeout`] when an item is too long to
//!   wait out, and leaves the worker running;
//! - a worker that panics or stops gives every caller a typed error, never a hang.
//!
//! ```
//! use bothways_pause_threads::Worker;
//!
//! let (tx, rx) = crossbeam_channel::bounded(64);
//! let worker = Worker::spawn(rx, |line: String| println!("journal: {line}"))?;
//! tx.send("one".to_owned())?;
//! let guard = worker.pause()?;
//! // Until the guard is dropped, the worker applies nothing: send the history safely.
//! drop(guard);
//! drop(tx);
//! worker.join()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod gate;
// Threads: no `Pausable` to export; the module says why.
mod pausable;
mod worker;

pub use error::Error;
pub use gate::{PauseGuard, PauseHandle};
pub use worker::Worker;

/// The channel crate whose bounded `Receiver` [`Worker::spawn`] takes, re-exported so that the
/// version you build the input with always matches.
pub use crossbeam_channel;
