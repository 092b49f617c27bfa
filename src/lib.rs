//! The facade: every bothways pattern crate, re-exported by pattern and style.
//!
//! Each pattern is implemented twice — `<pattern>_async` on tokio, `<pattern>_threads` on std
//! threads and crossbeam-channel — with the same public names, so switching style is switching
//! the path. Features `async` and `threads` (both on by default) choose which styles come in;
//! neither brings the conformance suite or the benchmarks, which live in the unpublished lab
//! crates (`bothways-spec`, `bothways-runner`, `bothways-bench`).
//!
//! A library user who wants one style turns the defaults off:
//! `bothways = { version = "0.1", default-features = false, features = ["threads"] }`.
//!
//! ```
//! # #[cfg(all(feature = "async", feature = "threads"))] {
//! use std::time::Duration;
//!
//! // Threads: an operation on a reusable worker, cancelled through its token.
//! let pool = bothways::timeout_threads::Pool::new(1)?;
//! assert_eq!(pool.run(Duration::from_secs(1), |_token| 42)?, 42);
//!
//! // Async: any future, cancelled by being dropped.
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! assert_eq!(rt.block_on(bothways::timeout_async::run(Duration::from_secs(1), async { 42 }))?, 42);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

/// The timeout pattern in async Rust: [`bothways_timeout_async`].
#[cfg(feature = "async")]
pub use bothways_timeout_async as timeout_async;

/// The timeout pattern with OS threads: [`bothways_timeout_threads`].
#[cfg(feature = "threads")]
pub use bothways_timeout_threads as timeout_threads;

/// The ticker pattern in async Rust: [`bothways_ticker_async`].
#[cfg(feature = "async")]
pub use bothways_ticker_async as ticker_async;

/// The ticker pattern with OS threads: [`bothways_ticker_threads`].
#[cfg(feature = "threads")]
pub use bothways_ticker_threads as ticker_threads;

/// The pause pattern in async Rust: [`bothways_pause_async`].
#[cfg(feature = "async")]
pub use bothways_pause_async as pause_async;

/// The pause pattern with OS threads: [`bothways_pause_threads`].
#[cfg(feature = "threads")]
pub use bothways_pause_threads as pause_threads;

/// The journal pattern in async Rust: [`bothways_journal_async`].
#[cfg(feature = "async")]
pub use bothways_journal_async as journal_async;

/// The journal pattern with OS threads: [`bothways_journal_threads`].
#[cfg(feature = "threads")]
pub use bothways_journal_threads as journal_threads;

/// The actor pattern in async Rust: [`bothways_actor_async`].
#[cfg(feature = "async")]
pub use bothways_actor_async as actor_async;

/// The actor pattern with OS threads: [`bothways_actor_threads`].
#[cfg(feature = "threads")]
pub use bothways_actor_threads as actor_threads;
