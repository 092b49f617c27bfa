//! A worker that provably makes no progress during a window — in async Rust.
//!
//! The model is an event journal: while a new client is sent the history, the writer must not
//! write. A future does nothing unless polled, so async can pause by simply *not polling*:
//!
//! - [`Worker::spawn`] runs an async effect on each item of a bounded async-channel input, as a
//!   task whose loop is the bare form of the pattern: a select that does not poll its input
//!   branch while a guard is held;
//! - [`PauseHandle::pause`] waits out an item in progress and returns a guard; dropping the
//!   guard resumes the worker, and guards count, so two callers can pause at once;
//! - [`PauseHandle::pause_within`] gives [`Error::PauseTimeout`] when an item is too long to
//!   wait out, and leaves the worker running;
//! - [`Pausable`] pauses any future or stream — and its docs say why, on a `multi_thread`
//!   runtime, "not polling" still needs the acknowledgement it gives;
//! - a worker that panics or stops gives every caller a typed error, never a hang.
//!
//! ```
//! use bothways_pause_async::Worker;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let (tx, rx) = async_channel::bounded(64);
//! let worker = Worker::spawn(rx, |line: String| async move { println!("journal: {line}") })?;
//! tx.send("one".to_owned()).await?;
//! let guard = worker.pause().await?;
//! // Until the guard is dropped, the worker applies nothing: send the history safely.
//! drop(guard);
//! drop(tx);
//! worker.join().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod gate;
mod pausable;
mod worker;

pub use error::Error;
pub use gate::{PauseGuard, PauseHandle};
pub use pausable::Pausable;
pub use worker::Worker;

/// The channel crate whose bounded `Receiver` [`Worker::spawn`] takes, re-exported so that the
/// version you build the input with always matches.
pub use async_channel;
