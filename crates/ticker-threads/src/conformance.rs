//! This crate's implementation of the shared suite's [`TickerSpec`], behind the `spec`
//! feature so that users of the crate do not pull the suite in.

use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_spec::ticker::{self, Error as Spec, Event, Next, Summary as SpecSummary, TickerSpec};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};

use crate::{Config, Error, Summary, run, run_tcp};

/// Batches the sink holds before the loop waits for the suite to take one.
pub const SINK: usize = 1024;

/// The threads ticker, as the suite drives it: each loop runs on a thread of its own.
///
/// ```
/// use bothways_spec::ticker::{Config, Feed, Next, Running, TickerSpec};
/// use std::time::Duration;
/// let imp = bothways_ticker_threads::conformance::Conformance::new()?;
/// let config = Config { period: Duration::from_millis(10), max_batch: 8, max_frame: 64 };
/// let (mut feed, mut running) = imp.in_process(config).unwrap();
/// assert!(feed.send(b"x".to_vec()));
/// assert_eq!(running.next_batch(Duration::from_secs(5)), Next::Batch(vec![b"x".to_vec()]));
/// drop(feed);
/// assert_eq!(running.next_batch(Duration::from_secs(5)), Next::Closed);
/// assert_eq!(running.finish().unwrap().events, 1);
/// # Ok::<(), bothways_ticker_threads::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {}

impl Conformance {
    /// Nothing to build: each loop starts its own thread.
    pub fn new() -> Result<Self, Error> {
        Ok(Conformance {})
    }

    /// Runs `body` (given the sink and the stop channel) on a thread of its own.
    fn start<F>(&self, body: F) -> Result<Loop, Spec>
    where
        F: FnOnce(Sender<Vec<Event>>, Receiver<()>) -> Result<Summary, Error> + Send + 'static,
    {
        let (sink, batches) = bounded(SINK);
        let (stop, stopped) = bounded(1);
        let thread = thread::Builder::new()
            .name("ticker-threads-loop".into())
            .spawn(move || body(sink, stopped))
            .map_err(|e| Spec::Io(e.kind()))?;
        Ok(Loop {
            batches,
            stop,
            thread: Some(thread),
        })
    }
}

impl TickerSpec for Conformance {
    type Running = Loop;
    type Feed = Feed;

    fn tcp(&self, stream: TcpStream, config: ticker::Config) -> Result<Loop, Spec> {
        self.start(move |sink, stop| run_tcp(stream, sink, from_spec(config), stop))
    }

    fn in_process(&self, config: ticker::Config) -> Result<(Feed, Loop), Spec> {
        let (events, source) = unbounded();
        let running = self.start(move |sink, stop| run(source, sink, from_spec(config), stop))?;
        Ok((Feed { events }, running))
    }
}

/// A running threads loop, as the suite sees it. Dropping it stops the loop.
#[derive(Debug)]
pub struct Loop {
    batches: Receiver<Vec<Event>>,
    // Threads: dropping the stop channel's sender stops the loop too.
    stop: Sender<()>,
    thread: Option<JoinHandle<Result<Summary, Error>>>,
}

impl ticker::Running for Loop {
    fn next_batch(&mut self, within: Duration) -> Next {
        match self.batches.recv_timeout(within) {
            Ok(batch) => Next::Batch(batch),
            Err(RecvTimeoutError::Timeout) => Next::Idle,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    fn stop(&mut self) {
        // Full means a stop is already on its way.
        let _ = self.stop.try_send(());
    }

    fn finish(mut self) -> Result<SpecSummary, Spec> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result.map(to_spec_summary).map_err(to_spec),
            Some(Err(_)) => Err(Spec::Other("the loop's thread panicked".into())),
            None => Err(Spec::Other("finished twice".into())),
        }
    }
}

/// The sending end of an in-process source: a crossbeam channel.
#[derive(Debug)]
pub struct Feed {
    events: Sender<Event>,
}

impl ticker::Feed for Feed {
    fn send(&mut self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }
}

fn from_spec(config: ticker::Config) -> Config {
    Config {
        period: config.period,
        max_batch: config.max_batch,
        max_frame: config.max_frame,
    }
}

fn to_spec(error: Error) -> Spec {
    match error {
        Error::Wire(e) => Spec::Wire(e),
        Error::Io(e) => Spec::Io(e.kind()),
        other => Spec::Other(other.to_string()),
    }
}

/// The loop's summary in the suite's words.
fn to_spec_summary(s: Summary) -> SpecSummary {
    SpecSummary {
        events: s.events,
        batches: s.batches,
    }
}
