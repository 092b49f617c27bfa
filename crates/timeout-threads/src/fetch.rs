//! A deadline over a whole multi-step operation: connect, then as many reads as it takes to
//! get one newline-terminated message.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bothways_wire::LineDecoder;

use crate::{CancelToken, Error};

/// Connects to `addr` and reads one newline-terminated message of at most `max_len` bytes,
/// all within `limit`. Returns the message without its newline.
///
/// Threads: one deadline is carried by hand through every blocking call — `connect_timeout`
/// gets the time left, and `set_read_timeout` is recomputed before each read. A per-read
/// timeout alone would never fire against a peer that sends one byte just often enough.
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
pub fn fetch_line(addr: SocketAddr, limit: Duration, max_len: usize) -> Result<Vec<u8>, Error> {
    let token = CancelToken::after(limit);
    let mut stream = connect(addr, &token)?;
    let mut line = LineDecoder::new(max_len);
    let mut chunk = [0u8; 4096];
    loop {
        stream.set_read_timeout(token.remaining()?)?;
        let want = line.room().min(chunk.len());
        match stream.read(&mut chunk[..want]) {
            Ok(0) => return Err(line.eof().into()),
            Ok(n) => {
                if let Some(message) = line.push(&chunk[..n])? {
                    return Ok(message);
                }
            }
            // A read that timed out goes round again: the loop re-reads the deadline.
            Err(e) if is_timeout(e.kind()) || e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
}

fn connect(addr: SocketAddr, token: &CancelToken) -> Result<TcpStream, Error> {
    match token.remaining()? {
        // `connect_timeout` says TimedOut both when its own wait ran out and when the network
        // gave up first; only the former is our deadline.
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
