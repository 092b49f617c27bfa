//! A select loop that batches an event stream and hands a batch on at every tick — in async
//! Rust.
//!
//! The model is a dashboard fed over TCP: events arrive one frame at a time, and a loop gathers
//! them and hands a batch onward every period even while it is still waiting for the next event.
//! In this style the loop is one task that `select!`s over the source, an interval and a
//! cancellation token:
//!
//! - [`run_tcp`] reads length-prefixed frames ([`bothways_wire::frame`]) from a tokio
//!   `TcpStream`; [`run`] takes any in-process [`Stream`](futures::Stream);
//! - a batch goes to the sink (an `async_channel`) at each tick if it is not empty, at once when
//!   it reaches [`Config::max_batch`], and finally when the source ends or the loop is stopped;
//! - the loop exits with a [`Summary`] of how many events and batches went through, or with an
//!   [`Error`] once the batch gathered before it has been handed on.
//!
//! Ticks never burst: after a stall (a slow sink, a long batch) the missed ticks are not made up
//! — one tick fires at once and the next a full period after it (tokio's
//! `MissedTickBehavior::Delay`, which is what crossbeam's `tick` does in the threads crate).
//!
//! ```
//! use bothways_ticker_async::{Config, Summary, run};
//! use tokio_util::sync::CancellationToken;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let (sink, batches) = async_channel::unbounded();
//! let events = futures::stream::iter(1..=5);
//! let config = Config { max_batch: 2, ..Config::default() };
//! let summary = run(events, sink, config, CancellationToken::new()).await?;
//! assert_eq!(summary, Summary { events: 5, batches: 3 });
//! assert_eq!(batches.recv().await?, [1, 2]);
//! assert_eq!(batches.recv().await?, [3, 4]);
//! assert_eq!(batches.recv().await?, [5]); // the final flush when the source ends
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
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
