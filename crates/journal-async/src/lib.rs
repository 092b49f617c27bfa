//! A crash-safe event journal — in async Rust.
//!
//! Events are appended to one file in the format of `bothways-journal-format`; a subscriber
//! that comes later first gets every past event from the file, then the live ones, with no gap
//! and no duplicate. The file is never read while it is written: a subscriber pauses the writer
//! (with `bothways-pause-async`) while it reads the file and registers for live events.
//!
//! - [`Journal::append`] returns the event's sequence number; writes are buffered and flushed on
//!   a periodic tick, on [`Journal::flush`] and on [`Journal::close`], with a [`Durability`]
//!   policy up to an fsync before `append` returns, shared by appenders that wait at the same
//!   moment (group commit);
//! - [`Journal::subscribe`] returns a [`Subscription`]: replay, then live events, each
//!   subscriber with a bounded queue — one that falls behind gets [`Error::Lagged`];
//! - [`Journal::open`] recovers an existing file: a torn tail is cut off, sequences continue;
//! - [`Journal::prune`] keeps only the events after a sequence number, atomically;
//! - [`tcp`] serves subscribers over TCP with `bothways-wire` frames.
//!
//! ```
//! use bothways_journal_async::{Journal, Options};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let dir = tempfile::tempdir()?;
//! let journal = Journal::open(dir.path().join("events"), Options::default()).await?;
//! assert_eq!(journal.append(b"one").await?, 1);
//! let mut sub = journal.subscribe(1).await?;
//! assert_eq!(journal.append(b"two").await?, 2);
//! assert_eq!(sub.recv().await?.payload, b"one");
//! assert_eq!(sub.recv().await?.payload, b"two");
//! journal.close().await?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is reused, and what is not
//!
//! The writer *is* `bothways-pause-async`'s `Worker`: appends are commands in its bounded
//! input, and `subscribe` and `prune` hold its `PauseGuard` while they touch the file. The
//! periodic flush is not `bothways-ticker-async`: that crate's loop gathers a stream into batches
//! and hands them to a sink, while here the loop is the pause worker's, and group commit wants
//! an fsync as soon as the input is empty, not at the next tick. A tick is one more command in
//! the writer's input, sent by a small timer and skipped when the input is full.
//!
//! A subscription holds the bytes of the file it replays, read in one go while the writer is
//! paused (that is what the pause is for); live events then come through a bounded queue.
#![warn(missing_docs)]

#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod journal;
mod options;
mod subscription;
pub mod tcp;
mod writer;

pub use bothways_journal_format::Event;
pub use error::Error;
pub use journal::Journal;
pub use options::{Durability, Options};
pub use subscription::Subscription;
