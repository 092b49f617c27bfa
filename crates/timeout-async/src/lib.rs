//! Bound any operation with a deadline and real cancellation — in async Rust.
//!
//! A future does nothing unless polled, so this style bounds any operation from the outside:
//!
//! - wrap any future: [`run`] puts one tokio timeout around it; at the deadline the caller
//!   gets [`Error::Elapsed`] and the future is dropped, which cancels it wherever it was
//!   waiting — no token to pass, no late result to discard;
//! - compose the steps, then bound the whole: [`fetch_line`] is connect and reads written as
//!   one future under one timeout, and [`accept`] is tokio's accept under the same timeout.
//!
//! Either way `Elapsed` comes no earlier than the limit and, on an idle machine, within about a
//! millisecond after it: tokio's timer counts whole milliseconds. No care is needed for that,
//! because no call here blocks with a timeout of its own: a socket only says it is not ready,
//! and every deadline is the runtime's timer.
//!
//! ```
//! use std::time::Duration;
//! use bothways_timeout_async::{Error, run};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! // A fast operation returns its value.
//! assert_eq!(run(Duration::from_secs(1), async { 40 + 2 }).await?, 42);
//! // A slow one is cancelled: dropped at its deadline, it needs no token.
//! let slow = run(Duration::from_millis(20), tokio::time::sleep(Duration::from_secs(60))).await;
//! assert!(matches!(slow, Err(Error::Elapsed { .. })));
//! # Ok::<(), Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod accept;
mod bound;
#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod fetch;

pub use accept::accept;
pub use bound::run;
pub use error::Error;
pub use fetch::fetch_line;
