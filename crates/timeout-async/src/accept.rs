//! Accept with a deadline: wait for one connection, at most `limit`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::{Error, run};

/// Accepts one connection on `listener`, waiting at most `limit`.
///
/// Async: tokio's accept is a future like any other, so the same [`run`] bounds it; the
/// runtime wakes this task when a connection arrives, with no polling in between.
///
/// # Panics
///
/// Inside a tokio runtime built without its I/O and time drivers (`enable_all` has both),
/// as tokio's own sockets and timers do. Outside any runtime it returns [`Error::NoRuntime`].
///
/// ```
/// use std::time::Duration;
/// use bothways_timeout_async::{Error, accept};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let nobody = accept(&listener, Duration::from_millis(20)).await;
/// assert!(matches!(nobody, Err(Error::Elapsed { .. })));
///
/// let client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
/// let (_stream, peer) = accept(&listener, Duration::from_secs(1)).await?;
/// assert_eq!(peer, client.local_addr()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn accept(
    listener: &TcpListener,
    limit: Duration,
) -> Result<(TcpStream, SocketAddr), Error> {
    Ok(run(limit, listener.accept()).await??)
}
