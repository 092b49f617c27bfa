//! A select loop that batches an event stream and hands a batch on at every tick — with OS
//! threads.
//!
//! The model is a dashboard fed over TCP: events arrive one frame at a time, and a loop gathers
//! them and hands a batch onward every period even while it is still waiting for the next event.
//! In this style a blocking read cannot be one branch of a select, so a reader thread turns the
//! socket into a channel, and the loop `select!`s over that channel, a tick and a stop channel:
//!
//! - [`run_tcp`] reads length-prefixed frames ([`bothways_wire::frame`]) from a std
//!   `TcpStream`; [`run`] takes any in-process [`Receiver`](crossbeam_channel::Receiver);
//! - a batch goes to the sink (a `crossbeam_channel`) at each tick if it is not empty, at once
//!   when it reaches [`Config::max_batch`], and finally when the source ends or the loop is
//!   stopped;
//! - the loop exits with a [`Summary`] of how many events and batches went through, or with an
//!   [`Error`] once the batch gathered before it has been handed on.
//!
//! Ticks never burst: after a stall (a slow sink, a long batch) the missed ticks are not made up
//! — one tick fires at once and the next a full period after it (crossbeam's `tick`, which is
//! what tokio's `MissedTickBehavior::Delay` does in the async crate).
//!
//! ```
//! use bothways_ticker_threads::{Config, Summary, run};
//!
//! let (events, source) = crossbeam_channel::unbounded();
//! let (sink, batches) = crossbeam_channel::unbounded();
//! for e in 1..=5 { events.send(e)?; }
//! drop(events);
//! let config = Config { max_batch: 2, ..Config::default() };
//! let summary = run(source, sink, config, crossbeam_channel::never())?;
//! assert_eq!(summary, Summary { events: 5, batches: 3 });
//! assert_eq!(batches.recv()?, [1, 2]);
//! assert_eq!(batches.recv()?, [3, 4]);
//! assert_eq!(batches.recv()?, [5]); // the final flush when the source ends
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod batch;
#[cfg(feature = "spec")]
pub mod conformance;
mod error;
mod gather;
mod tcp;

// One type each for both styles: a loop is set up and reports alike in each.
pub use bothways_wire::ticker::{Config, Summary};
pub use error::Error;
pub use gather::run;
pub use tcp::run_tcp;
