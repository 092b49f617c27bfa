//! This crate's implementation of the shared suite's [`TimeoutSpec`], behind the `spec`
//! feature so that users of the crate do not pull the suite in.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use bothways_spec::recorder::Recorder;
use bothways_spec::timeout::{Error as Spec, TimeoutSpec};

use crate::{Error, Pool, accept, fetch_line};

/// How many workers the conformance pool runs: fewer than the suite's sixteen panics in a row,
/// so every worker is seen to survive one.
pub const WORKERS: usize = 4;

/// The threads timeout, as the suite drives it: a [`Pool`] for bounded operations, and the
/// blocking functions called directly on the caller's thread.
///
/// ```
/// use bothways_spec::timeout::TimeoutSpec;
/// let imp = bothways_timeout_threads::conformance::Conformance::new()?;
/// assert_eq!(imp.instant(4, std::time::Duration::from_secs(1)), Ok(6));
/// # Ok::<(), bothways_timeout_threads::Error>(())
/// ```
#[derive(Debug)]
pub struct Conformance {
    pool: Pool,
}

impl Conformance {
    /// Starts the pool.
    pub fn new() -> Result<Self, Error> {
        // Threads: `fetch_line`'s shutdown timer is a thread of its own, one per process; start
        // it with the pool, so the suite's thread counts find it in their baseline as they find
        // the workers. Async: the runtime's timer is part of the runtime, built with it.
        crate::fetch::timer::start()?;
        Ok(Conformance {
            pool: Pool::new(WORKERS)?,
        })
    }
}

impl TimeoutSpec for Conformance {
    fn instant(&self, n: u32, limit: Duration) -> Result<u64, Spec> {
        let mut sum = 0;
        for i in 0..n {
            sum += self
                .pool
                .run(limit, move |_| u64::from(i))
                .map_err(to_spec)?;
        }
        Ok(sum)
    }

    fn steps(
        &self,
        steps: u32,
        step: Duration,
        recorder: &Recorder,
        limit: Duration,
    ) -> Result<u32, Spec> {
        let recorder = recorder.clone();
        let done = self.pool.run(limit, move |token| {
            for _ in 0..steps {
                recorder.record();
                token.sleep(step)?;
            }
            Ok(steps)
        });
        done.and_then(|inner| inner).map_err(to_spec)
    }

    fn fetch_line(
        &self,
        addr: SocketAddr,
        limit: Duration,
        max_len: usize,
    ) -> Result<Vec<u8>, Spec> {
        fetch_line(addr, limit, max_len).map_err(to_spec)
    }

    fn accept(&self, listener: &TcpListener, limit: Duration) -> Result<SocketAddr, Spec> {
        accept(listener, limit)
            .map(|(_, peer)| peer)
            .map_err(to_spec)
    }

    fn panics(&self, message: &'static str, limit: Duration) -> Result<(), Spec> {
        self.pool
            .run(limit, move |_| explode(message))
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
