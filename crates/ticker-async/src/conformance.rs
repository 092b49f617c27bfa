//! This crate's implementation of the shared suite's [`TickerSpec`], behind the `spec`
//! feature so that users of the crate do not pull the suite in.

use std::net::TcpStream as StdTcpStream;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bothways_spec::Flavour;
use bothways_spec::ticker::{self, Error as Spec, Event, Next, Summary as SpecSummary, TickerSpec};
use tokio::runtime::{Builder, Runtime};
use tokio_util::sync::CancellationToken;

use crate::{Config, Error, Summary, run, run_tcp};

/// How many worker threads the `multi_thread` runtime runs: the machine's two cores.
pub const WORKERS: usize = 2;
/// Batches the sink holds before the loop waits for the suite to take one.
pub const SINK: usize = 1024;

/// The async ticker, as the suite drives it: a runtime of the given flavour; each loop is a
/// task spawned on it, from a thread that blocks on the runtime while the loop runs.
///
/// ```
/// use bothways_spec::{Flavour, ticker::{Config, Feed, Next, Running, TickerSpec}};
/// use std::time::Duration;
/// let imp = bothways_ticker_async::conformance::Conformance::new(Flavour::CurrentThread)?;
/// let config = Config { period: Duration::from_millis(10), max_batch: 8, max_frame: 64 };
/// let (mut feed, mut running) = imp.in_process(config).unwrap();
/// assert!(feed.send(b"x".to_vec()));
/// assert_eq!(running.next_batch(Duration::from_secs(5)), Next::Batch(vec![b"x".to_vec()]));
/// drop(feed);
/// assert_eq!(running.next_batch(Duration::from_secs(5)), Next::Closed);
/// assert_eq!(running.finish().unwrap().events, 1);
/// # Ok::<(), bothways_ticker_async::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    runtime: Arc<Runtime>,
}

impl Conformance {
    /// Builds the runtime.
    pub fn new(flavour: Flavour) -> Result<Self, Error> {
        let mut builder = match flavour {
            Flavour::CurrentThread => Builder::new_current_thread(),
            Flavour::MultiThread => {
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(WORKERS);
                builder
            }
        };
        Ok(Conformance {
            runtime: Arc::new(builder.enable_all().build()?),
        })
    }

    /// Spawns `body` (given the sink and the stop token) as a task, and a thread that blocks on
    /// the runtime while it runs, forwarding its batches to a std channel the suite can wait on
    /// with a timeout.
    fn start<F, Fut>(&self, body: F) -> Result<Loop, Spec>
    where
        F: FnOnce(async_channel::Sender<Vec<Event>>, CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Summary, Error>> + Send + 'static,
    {
        let stop = CancellationToken::new();
        let (batches_tx, batches) = mpsc::channel();
        let runtime = Arc::clone(&self.runtime);
        let token = stop.clone();
        let thread = thread::Builder::new()
            .name("ticker-async-loop".into())
            .spawn(move || {
                // Async: a `current_thread` runtime only runs its tasks while someone blocks
                // on it, so this thread does, for as long as the loop runs.
                runtime.block_on(async move {
                    let (sink, out) = async_channel::bounded(SINK);
                    let task = tokio::spawn(body(sink, token));
                    while let Ok(batch) = out.recv().await {
                        if batches_tx.send(batch).is_err() {
                            break;
                        }
                    }
                    match task.await {
                        Ok(result) => result.map(to_spec_summary).map_err(to_spec),
                        Err(e) => Err(Spec::Other(format!("the loop's task failed: {e}"))),
                    }
                })
            })
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

    fn tcp(&self, stream: StdTcpStream, config: ticker::Config) -> Result<Loop, Spec> {
        // Async: tokio needs the std socket non-blocking, and registered with the runtime's
        // reactor, which `from_std` does on the runtime.
        stream
            .set_nonblocking(true)
            .map_err(|e| Spec::Io(e.kind()))?;
        self.start(move |sink, stop| async move {
            let stream = tokio::net::TcpStream::from_std(stream)?;
            run_tcp(stream, sink, from_spec(config), stop).await
        })
    }

    fn in_process(&self, config: ticker::Config) -> Result<(Feed, Loop), Spec> {
        let (events, source) = async_channel::unbounded();
        let running = self.start(move |sink, stop| run(source, sink, from_spec(config), stop))?;
        Ok((Feed { events }, running))
    }
}

/// A running async loop, as the suite sees it. Dropping it stops the loop.
#[derive(Debug)]
pub struct Loop {
    batches: mpsc::Receiver<Vec<Event>>,
    stop: CancellationToken,
    thread: Option<JoinHandle<Result<SpecSummary, Spec>>>,
}

impl ticker::Running for Loop {
    fn next_batch(&mut self, within: Duration) -> Next {
        match self.batches.recv_timeout(within) {
            Ok(batch) => Next::Batch(batch),
            Err(mpsc::RecvTimeoutError::Timeout) => Next::Idle,
            Err(mpsc::RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    fn stop(&mut self) {
        self.stop.cancel();
    }

    fn finish(mut self) -> Result<SpecSummary, Spec> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Spec::Other("the loop's thread panicked".into())),
            None => Err(Spec::Other("finished twice".into())),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // A check that gives up early must not leave its loop running into the next one.
        self.stop.cancel();
    }
}

/// The sending end of an in-process source: an `async_channel`, sent to without a runtime.
#[derive(Debug)]
pub struct Feed {
    events: async_channel::Sender<Event>,
}

impl ticker::Feed for Feed {
    fn send(&mut self, event: Event) -> bool {
        self.events.send_blocking(event).is_ok()
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
