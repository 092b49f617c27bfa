//! A deadline over a whole multi-step operation: connect, then as many reads as it takes to
//! get one newline-terminated message.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bothways_wire::LineDecoder;

use crate::{CancelToken, Error};

/// Connects to `addr` and reads one newline-terminated message of at most `max_len` bytes,
/// all within `limit`. Returns the message without its newline.
///
/// The promise: the message, or [`Error::Elapsed`] no earlier than `limit` after the call and
/// as soon after it as the OS runs the threads involved — well under a millisecond on an idle
/// machine, against a peer that is silent as against one that drips bytes and never a newline.
///
/// Threads: one deadline is carried by hand through every blocking call, and a blocked read is
/// cancelled from another thread. `connect_timeout` gets the time left. Then the stream is
/// handed to one timer thread per process, which shuts it down at the deadline: that wakes the
/// read blocked on it, which returns as if the peer had hung up. Each read's own timeout is
/// recomputed from the deadline too, but only as a backstop: a blocking call's timeout is only
/// as precise as the kernel's timer for it, and Linux rounds a socket timeout up to a slot of
/// its timer wheel, by up to an eighth of the timeout — on a 250 Hz kernel, reads bounded by
/// it alone ended a median 20 ms late at 300 ms, 24 ms at 1 s and 72 ms at 3 s. A per-read
/// timeout alone would also never fire against a peer that sends one byte just often enough.
///
/// The timer thread starts with the first fetch that has a deadline and lives as long as the
/// process, idle while no fetch is under way.
///
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// use bothways_timeout_threads::fetch_line;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// std::thread::spawn(move || listener.accept()?.0.write_all(b"hello\n"));
/// assert_eq!(fetch_line(addr, Duration::from_secs(1), 64)?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// ANCHOR: fetch_line
pub fn fetch_line(addr: SocketAddr, limit: Duration, max_len: usize) -> Result<Vec<u8>, Error> {
    let token = CancelToken::after(limit);
    // Shared with the timer, which needs the socket only to shut it down; an `Arc` rather than
    // a `try_clone` costs no second descriptor, and the socket cannot be closed (and its number
    // reused) while the timer may still shut it down.
    let stream = Arc::new(connect(addr, &token)?);
    // Disarmed when dropped, on every way out: the timer lets go of the stream at once.
    let _armed = token
        .deadline()
        .map(|deadline| timer::arm(&stream, deadline))
        .transpose()?;
    let mut line = LineDecoder::new(max_len);
    let mut chunk = [0u8; 4096];
    loop {
        stream.set_read_timeout(token.remaining()?)?;
        let want = line.room().min(chunk.len());
        match (&*stream).read(&mut chunk[..want]) {
            // The timer's shutdown reads as the peer's EOF; past the deadline it is ours.
            Ok(0) if token.is_cancelled() => return Err(token.elapsed_error()),
            Ok(0) => return Err(line.eof().into()),
            Ok(n) => {
                if let Some(message) = line.push(&chunk[..n])? {
                    return Ok(message);
                }
            }
            // A read that timed out goes round again: the loop re-reads the deadline.
            Err(e) if is_timeout(e.kind()) || e.kind() == ErrorKind::Interrupted => {}
            // Some platforms fail a read on a shut-down socket instead of returning EOF.
            Err(_) if token.is_cancelled() => return Err(token.elapsed_error()),
            Err(e) => return Err(e.into()),
        }
    }
}
// ANCHOR_END: fetch_line

fn connect(addr: SocketAddr, token: &CancelToken) -> Result<TcpStream, Error> {
    match token.remaining()? {
        // `connect_timeout` says TimedOut both when its own wait ran out and when the network
        // gave up first; only the former is our deadline. Its wait is `poll(2)`, on a
        // high-resolution timer: precise, unlike a socket timeout.
        Some(left) => TcpStream::connect_timeout(&addr, left).map_err(|e| {
            if e.kind() == ErrorKind::TimedOut && token.is_cancelled() {
                token.elapsed_error()
            } else {
                e.into()
            }
        }),
        None => Ok(TcpStream::connect(addr)?),
    }
}

/// How std reports an expired read timeout: `WouldBlock` on Unix, `TimedOut` on Windows. On
/// Unix a `TimedOut` is the connection itself timing out, a real error.
fn is_timeout(kind: ErrorKind) -> bool {
    kind == ErrorKind::WouldBlock || (cfg!(windows) && kind == ErrorKind::TimedOut)
}

// Threads: the timer that cancels blocked reads. Shutting a socket down from another thread is
// the one way std offers to wake a thread blocked reading it, with no `unsafe` of our own. The
// other way — wait for readiness with a precise timeout, then read — needs `poll(2)`, that is
// `unsafe` or an event-loop crate (mio, polling), and would bring the async style's reactor
// into this crate. The timer's own wait is a condition variable's, which Linux times with a
// high-resolution timer: it wakes within microseconds of the deadline, not on the next slot
// of the timer wheel that socket timeouts use. The cost is one thread per process, a map entry
// per fetch, and a wake-up of the timer when a fetch's deadline is the earliest.
pub(crate) mod timer {
    use std::collections::BTreeMap;
    use std::net::{Shutdown, TcpStream};
    use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
    use std::thread;
    use std::time::Instant;

    use crate::Error;

    /// Has `stream` shut down at `deadline`, unless the returned guard is dropped first.
    pub(super) fn arm(stream: &Arc<TcpStream>, deadline: Instant) -> Result<Armed, Error> {
        let mut state = TIMER.lock();
        TIMER.start(&mut state)?;
        let key = (deadline, state.next);
        state.next = state.next.wrapping_add(1);
        let earliest = state
            .due
            .first_key_value()
            .is_none_or(|(first, _)| key < *first);
        state.due.insert(key, Arc::clone(stream));
        if earliest {
            TIMER.changed.notify_one();
        }
        Ok(Armed { key })
    }

    /// Starts the process's shutdown timer now rather than with the first fetch, so that it
    /// is there from the start, like a pool's workers: for callers that count their threads.
    #[cfg(feature = "spec")]
    pub(crate) fn start() -> Result<(), Error> {
        TIMER.start(&mut TIMER.lock())
    }

    /// The process's one shutdown timer.
    static TIMER: Timer = Timer {
        state: Mutex::new(TimerState {
            due: BTreeMap::new(),
            next: 0,
            running: false,
        }),
        changed: Condvar::new(),
    };

    /// Streams to shut down at their deadlines, and the thread that does it.
    #[derive(Debug)]
    struct Timer {
        state: Mutex<TimerState>,
        /// Signalled when a deadline earlier than every other is armed.
        changed: Condvar,
    }

    #[derive(Debug)]
    struct TimerState {
        /// By deadline, then by arming order, which keeps equal deadlines apart.
        due: BTreeMap<(Instant, u64), Arc<TcpStream>>,
        next: u64,
        running: bool,
    }

    /// One stream armed on the [`TIMER`]; dropping it disarms the stream.
    #[derive(Debug)]
    pub(super) struct Armed {
        key: (Instant, u64),
    }

    impl Timer {
        fn lock(&self) -> MutexGuard<'_, TimerState> {
            // Every critical section inserts or removes one whole entry, or flips `running`: a
            // poisoned lock still guards consistent data.
            self.state.lock().unwrap_or_else(PoisonError::into_inner)
        }

        /// Starts the timer thread unless it is running. A failed start is retried next time.
        fn start(&'static self, state: &mut TimerState) -> Result<(), Error> {
            if !state.running {
                thread::Builder::new()
                    .name("bothways-timeout-timer".into())
                    .spawn(move || self.run())?;
                state.running = true;
            }
            Ok(())
        }

        fn run(&self) {
            let mut state = self.lock();
            loop {
                let now = Instant::now();
                while let Some(entry) = state.due.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    // Fails only if the socket is already shut down or closed by the peer: then
                    // the read has nothing left to wait for anyway.
                    let _ = entry.remove().shutdown(Shutdown::Both);
                }
                let next = state.due.first_key_value().map(|(key, _)| key.0 - now);
                state = match next {
                    Some(wait) => {
                        self.changed
                            .wait_timeout(state, wait)
                            .unwrap_or_else(PoisonError::into_inner)
                            .0
                    }
                    None => self
                        .changed
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner),
                };
            }
        }
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            // Already gone if the timer fired; a disarmed deadline that was the earliest only
            // wakes the timer once for nothing, so it is not told.
            TIMER.lock().due.remove(&self.key);
        }
    }
}
