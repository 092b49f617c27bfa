//! What the two styles share that is neither wire bytes (`bothways-wire`) nor a file format
//! (`bothways-journal-format`): code that was the same, line for line, in both crates of a
//! pair. One copy here, so the pair differs only where the style forces it.
//!
//! - [`panic_text`]: the message of a caught panic, for the pause workers, the actors and the
//!   suite;
//! - [`metrics`]: the actor's mailbox [`Metrics`] and the [`Counters`] behind them, which both
//!   actor crates lay out and count the same way.
//!
//! ```
//! let caught = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
//! assert_eq!(bothways_shared::panic_text(&*caught), "boom 1");
//! ```
#![warn(missing_docs)]

pub mod metrics;
mod panic;

pub use metrics::{Counters, Metrics};
pub use panic::panic_text;
