//! The loop over a TCP source: length-prefixed frames read from a socket, one event each.

use std::io::ErrorKind;

use async_channel::Sender;
use bothways_wire::FrameDecoder;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::batch::{Batcher, Ticks};
use crate::{Config, Error, Summary};

/// How much one read asks for.
const READ_CHUNK: usize = 64 * 1024;

/// Reads length-prefixed frames ([`bothways_wire::frame`]) from `stream`, one event each, and
/// batches them as [`run`](crate::run) does. A clean close between frames ends the loop with
/// its [`Summary`]; a bad frame, a frame cut off by the close, or an I/O error such as a reset
/// ends it with an [`Error`] — in every case after the batch gathered so far is handed on.
///
/// Async: the socket, the tick and the stop are three branches of one `select!` in one task.
///
/// ```
/// use bothways_ticker_async::{Config, Summary, run_tcp};
/// use bothways_wire::frame::encode;
/// use tokio::io::AsyncWriteExt;
/// use tokio_util::sync::CancellationToken;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let mut peer = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
/// let (stream, _) = listener.accept().await?;
/// let mut bytes = Vec::new();
/// encode(b"cpu 42%", &mut bytes)?;
/// encode(b"mem 7%", &mut bytes)?;
/// peer.write_all(&bytes).await?;
/// drop(peer); // the source ends: a final flush, then a clean exit
///
/// let (sink, batches) = async_channel::unbounded();
/// let summary = run_tcp(stream, sink, Config::default(), CancellationToken::new()).await?;
/// assert_eq!(summary, Summary { events: 2, batches: 1 });
/// assert_eq!(batches.recv().await?, [b"cpu 42%".to_vec(), b"mem 7%".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// ANCHOR: run_tcp
pub async fn run_tcp(
    mut stream: TcpStream,
    sink: Sender<Vec<Vec<u8>>>,
    config: Config,
    stop: CancellationToken,
) -> Result<Summary, Error> {
    let mut batch = Batcher::new(sink, &config)?;
    let mut ticks = Ticks::new(config.period);
    let mut frames = FrameDecoder::new(config.max_frame);
    let mut chunk = vec![0u8; READ_CHUNK];
    let ended: Result<(), Error> = loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break Ok(()),
            _ = ticks.tick() => batch.flush().await?,
            // Cancel safe: tokio documents `AsyncReadExt::read` as cancel safe — when another
            // branch wins, the dropped read has read nothing — and a frame split across reads
            // waits in `frames`, outside the future, so a tick winning the race loses no byte.
            // (`read_exact` would not be safe here: it can be dropped halfway, bytes in hand.)
            read = stream.read(&mut chunk) => match read {
                Ok(0) => break frames.eof().map_err(Error::from),
                Ok(n) => {
                    let taken = take(&mut frames, &chunk[..n], &mut batch, &mut ticks).await;
                    if let Err(e) = taken {
                        break Err(e);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => break Err(e.into()),
            },
        }
    };
    // Whatever ended the loop, what was gathered before it is handed on; the first error wins.
    let flushed = batch.flush().await;
    ended?;
    flushed?;
    Ok(batch.summary())
}
// ANCHOR_END: run_tcp

/// Decodes every complete frame in `input` into the batch, then hands the batch on if a tick is
/// due by the clock.
async fn take(
    frames: &mut FrameDecoder,
    mut input: &[u8],
    batch: &mut Batcher<Vec<u8>>,
    ticks: &mut Ticks,
) -> Result<(), Error> {
    while let Some(event) = frames.decode(&mut input)? {
        batch.push(event).await?;
    }
    // Async: a socket that is always ready can starve the timer; see `Ticks::due`.
    if ticks.due() {
        batch.flush().await?;
        // Async: the batch's receiver may share this thread (a `current_thread` runtime), and
        // a task that is always ready would keep it waiting for up to 128 more reads: yield.
        tokio::task::yield_now().await;
    }
    Ok(())
}
