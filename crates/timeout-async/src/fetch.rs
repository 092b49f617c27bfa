//! A deadline over a whole multi-step operation: connect, then as many reads as it takes to
//! get one newline-terminated message.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use bothways_wire::LineDecoder;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::{Error, run};

/// Connects to `addr` and reads one newline-terminated message of at most `max_len` bytes,
/// all within `limit`. Returns the message without its newline.
///
/// The promise: the message, or [`Error::Elapsed`] no earlier than `limit` after the call and
/// as soon after it as the runtime's timer fires — within about a millisecond, since tokio's
/// timer counts whole milliseconds — against a peer that is silent as against one that drips
/// bytes and never a newline.
///
/// Async: the steps are composed into one future and [`run`] bounds the whole. No step knows
/// about the deadline; at the deadline the future is dropped, and with it the socket. No read
/// blocks, so none has a timeout of its own for the kernel to round up.
///
/// # Panics
///
/// Inside a tokio runtime built without its I/O and time drivers (`enable_all` has both),
/// as tokio's own sockets and timers do. Outside any runtime it returns [`Error::NoRuntime`].
///
/// ```
/// use std::time::Duration;
/// use tokio::io::AsyncWriteExt;
/// use bothways_timeout_async::fetch_line;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// tokio::spawn(async move { listener.accept().await?.0.write_all(b"hello\n").await });
/// assert_eq!(fetch_line(addr, Duration::from_secs(1), 64).await?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// ANCHOR: fetch_line
pub async fn fetch_line(
    addr: SocketAddr,
    limit: Duration,
    max_len: usize,
) -> Result<Vec<u8>, Error> {
    run(limit, async move {
        let mut stream = TcpStream::connect(addr).await?;
        let mut line = LineDecoder::new(max_len);
        let mut chunk = [0u8; 4096];
        loop {
            let want = line.room().min(chunk.len());
            match stream.read(&mut chunk[..want]).await {
                Ok(0) => return Err(line.eof().into()),
                Ok(n) => {
                    if let Some(message) = line.push(&chunk[..n])? {
                        return Ok(message);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    })
    .await?
}
// ANCHOR_END: fetch_line
