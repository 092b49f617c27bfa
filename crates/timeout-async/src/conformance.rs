//! This crate's implementation of the shared suite's [`TimeoutSpec`], behind the `spec`
//! feature so that users of the crate do not pull the suite in.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use bothways_spec::Flavour;
use bothways_spec::recorder::Recorder;
use bothways_spec::timeout::{Error as Spec, TimeoutSpec};
use tokio::runtime::{Builder, Runtime};

use crate::{Error, accept, fetch_line, run};

/// How many worker threads the `multi_thread` runtime runs: the machine's two cores.
pub const WORKERS: usize = 2;

/// The async timeout, as the suite drives it: a runtime of the given flavour, blocked on for
/// each call — the suite's trait is blocking so one check body drives both styles.
///
/// ```
/// use bothways_spec::{Flavour, timeout::TimeoutSpec};
/// let imp = bothways_timeout_async::conformance::Conformance::new(Flavour::CurrentThread)?;
/// assert_eq!(imp.instant(4, std::time::Duration::from_secs(1)), Ok(6));
/// # Ok::<(), bothways_timeout_async::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    runtime: Runtime,
    flavour: Flavour,
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
            runtime: builder.enable_all().build()?,
            flavour,
        })
    }
}

impl Conformance {
    /// Runs `operation` to completion. On `multi_thread` it is spawned, so it runs on a worker
    /// thread as an application's tasks do — `block_on` alone would poll it on the blocked
    /// caller's thread, and the second flavour would test nothing the first does not.
    fn drive<F>(&self, operation: F) -> Result<F::Output, Spec>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.flavour {
            Flavour::CurrentThread => Ok(self.runtime.block_on(operation)),
            Flavour::MultiThread => self
                .runtime
                .block_on(self.runtime.spawn(operation))
                .map_err(|e| Spec::Other(format!("the task failed: {e}"))),
        }
    }
}

impl TimeoutSpec for Conformance {
    fn instant(&self, n: u32, limit: Duration) -> Result<u64, Spec> {
        self.drive(async move {
            let mut sum = 0;
            for i in 0..n {
                sum += run(limit, async move { u64::from(i) })
                    .await
                    .map_err(to_spec)?;
            }
            Ok(sum)
        })?
    }

    fn steps(
        &self,
        steps: u32,
        step: Duration,
        recorder: &Recorder,
        limit: Duration,
    ) -> Result<u32, Spec> {
        let recorder = recorder.clone();
        let done = run(limit, async move {
            for _ in 0..steps {
                recorder.record();
                tokio::time::sleep(step).await;
            }
            steps
        });
        self.drive(done)?.map_err(to_spec)
    }

    fn fetch_line(
        &self,
        addr: SocketAddr,
        limit: Duration,
        max_len: usize,
    ) -> Result<Vec<u8>, Spec> {
        self.drive(fetch_line(addr, limit, max_len))?
            .map_err(to_spec)
    }

    fn accept(&self, listener: &TcpListener, limit: Duration) -> Result<SocketAddr, Spec> {
        // Async: the suite hands over a std listener; tokio needs it non-blocking and registered
        // with this runtime's reactor. The clone shares the socket, so this leaves the suite's
        // listener non-blocking too — as the threads accept does.
        let listener = listener.try_clone().map_err(|e| Spec::Io(e.kind()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Spec::Io(e.kind()))?;
        self.drive(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| Spec::Io(e.kind()))?;
            accept(&listener, limit)
                .await
                .map(|(_, peer)| peer)
                .map_err(to_spec)
        })?
    }

    fn panics(&self, message: &'static str, limit: Duration) -> Result<(), Spec> {
        self.drive(run(limit, async move { explode(message) }))?
            .map_err(to_spec)
    }
}

fn explode(message: &str) {
    panic!("{message}");
}

fn to_spec(error: Error) -> Spec {
    match error {
        Error::Elapsed { .. } => Spec::Elapsed,
        Error::Panicked { message } => Spec::Panicked { message },
        Error::Wire(e) => Spec::Wire(e),
        Error::Io(e) => Spec::Io(e.kind()),
        other => Spec::Other(other.to_string()),
    }
}
