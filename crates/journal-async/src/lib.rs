//! A crash-safe event journal — in async Rust.
//!
//! Events are appended to a directory of segment files in the format of
//! `bothways-journal-format`; a subscriber that comes later first gets every past event, read
//! from the segments, then the live ones, with no gap and no duplicate. A subscriber pauses the
//! writer (with `bothways-pause-async`) only to note where the history ends and register for
//! live events; it reads the history afterwards, in bounded chunks, while the writer goes on.
//!
//! - [`Journal::append`] returns the event's sequence number; writes are buffered and flushed on
//!   a periodic tick, on [`Journal::flush`] and on [`Journal::close`], with a [`Durability`]
//!   policy up to an fsync before `append` returns, shared by appenders that wait at the same
//!   moment (group commit);
//! - [`Journal::subscribe`] returns a [`Subscription`]: replay, then live events, each
//!   subscriber with a bounded queue — one that falls behind gets [`Error::Lagged`];
//! - [`Journal::open`] recovers an existing journal: only the active segment is read, a torn
//!   tail is cut off, sequences continue; a journal in one file (the older layout) is moved
//!   into a directory;
//! - [`Journal::prune`] keeps only the events after a sequence number: a low-water mark, then
//!   whole segments deleted;
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
//! input, and `subscribe` and `prune` hold its `PauseGuard` while they touch the journal. The
//! periodic flush is not `bothways-ticker-async`: that crate's loop gathers a stream into batches
//! and hands them to a sink, while here the loop is the pause worker's, and group commit wants
//! an fsync as soon as the input is empty, not at the next tick. A tick is one more command in
//! the writer's input, sent by a small timer and skipped when the input is full.
//!
//! A subscription holds at most a chunk of its history at a time (and its live queue), however
//! long the history: the pause covers only the handover, not the reading.
#![warn(missing_docs)]

#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod journal;
mod subscription;
pub mod tcp;
mod writer;

pub use bothways_journal_format::Event;
pub use error::Error;
pub use journal::Journal;
// One type for both styles: tuning a journal means the same in each.
pub use bothways_journal_format::{Durability, MIN_SEGMENT, Options};
pub use subscription::Subscription;
