//! Bound any operation with a deadline and real cancellation — with OS threads.
//!
//! A thread cannot be stopped from the outside, so this style has two ways to bound an
//! operation:
//!
//! - run it elsewhere and cancel it cooperatively: [`Pool::run`] hands a closure to a reusable
//!   worker thread together with a [`CancelToken`]; at the deadline the caller gets
//!   [`Error::Elapsed`], the token is cancelled, and a late result is discarded;
//! - carry the deadline into every blocking call by hand: [`fetch_line`] connects and reads
//!   with one deadline, and [`accept`] waits for a connection until a deadline, which std's
//!   `TcpListener::accept` cannot.
//!
//! Either way `Elapsed` comes no earlier than the limit and, on an idle machine, well within a
//! millisecond after it. That takes care, because a blocking call's timeout is only as precise
//! as the kernel's timer for it: Linux rounds a socket timeout up to a slot of its timer wheel,
//! by up to an eighth of the timeout — tens of milliseconds at a second. So [`fetch_line`] does
//! not rely on its reads' timeouts: a timer thread shuts its socket down at the deadline, which
//! wakes the blocked read — the way to cancel a blocking read from another thread. Waits on a
//! condition variable, a channel or `thread::sleep` are timed precisely and need no such help.
//!
//! ```
//! use std::time::Duration;
//! use bothways_timeout_threads::{Error, Pool};
//!
//! let pool = Pool::new(2)?;
//! // A fast operation returns its value.
//! assert_eq!(pool.run(Duration::from_secs(1), |_token| 40 + 2)?, 42);
//! // A slow one is cancelled: it must look at its token to stop.
//! let slow = pool.run(Duration::from_millis(20), |token| token.sleep(Duration::from_secs(60)));
//! assert!(matches!(slow, Err(Error::Elapsed { .. })));
//! # Ok::<(), Error>(())
//! ```
#![warn(missing_docs)]

mod accept;
mod bound;
#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod fetch;

pub use accept::accept;
pub use bound::{CancelToken, Pool};
pub use error::Error;
pub use fetch::fetch_line;
