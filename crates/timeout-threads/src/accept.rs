//! Accept with a deadline: wait for one connection, at most `limit`.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use crate::{CancelToken, Error};

/// The longest nap between two tries: how late a connection can be noticed.
const MAX_NAP: Duration = Duration::from_millis(5);

/// Accepts one connection on `listener`, waiting at most `limit`.
///
/// Threads: std's `TcpListener::accept` has no timeout, and waiting on the socket with
/// `poll(2)` needs `unsafe` or a C binding. So this switches the listener to non-blocking and
/// tries again after naps that double up to 5 ms: a connection is noticed within 5 ms, and an
/// idle wait costs about 200 wake-ups a second. The naps are `thread::sleep`, which the kernel
/// times precisely, and the last one ends at the deadline: `Elapsed` comes no earlier than
/// `limit` and within a wake-up after it, with no socket timeout to be rounded up.
///
/// The listener is left non-blocking. The mode belongs to the socket, which every clone and
/// every thread sharing the listener sees: switching it back would throw a concurrent caller of
/// this function into a blocking `accept` that ignores its deadline. So a plain
/// `listener.accept()` afterwards returns `WouldBlock` when nobody is waiting — tokio's
/// listeners are non-blocking for the same reason.
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_threads::{Error, accept};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let nobody = accept(&listener, Duration::from_millis(20));
/// assert!(matches!(nobody, Err(Error::Elapsed { .. })));
///
/// let client = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (_stream, peer) = accept(&listener, Duration::from_secs(1))?;
/// assert_eq!(peer, client.local_addr()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn accept(listener: &TcpListener, limit: Duration) -> Result<(TcpStream, SocketAddr), Error> {
    let token = CancelToken::after(limit);
    listener.set_nonblocking(true)?;
    let (stream, peer) = accept_until(listener, &token)?;
    // Some platforms hand out accepted sockets in the listener's mode; callers expect blocking.
    stream.set_nonblocking(false)?;
    Ok((stream, peer))
}

fn accept_until(
    listener: &TcpListener,
    token: &CancelToken,
) -> Result<(TcpStream, SocketAddr), Error> {
    let mut nap = Duration::from_micros(250);
    loop {
        match listener.accept() {
            Ok(pair) => return Ok(pair),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
        let left = token.remaining()?;
        thread::sleep(left.map_or(nap, |left| left.min(nap)));
        nap = (nap * 2).min(MAX_NAP);
    }
}
