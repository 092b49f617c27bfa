//! The loop over a TCP source: length-prefixed frames read from a socket, one event each.

use std::io::{ErrorKind, Read};
use std::net::{Shutdown, TcpStream};
use std::thread;

use bothways_wire::FrameDecoder;
use crossbeam_channel::{Receiver, Sender, bounded, select_biased};

use crate::batch::{Batcher, ticks};
use crate::{Config, Error, Summary};

/// How much one read asks for.
const READ_CHUNK: usize = 64 * 1024;
/// Reads the reader thread may run ahead of the loop before it waits.
const READ_AHEAD: usize = 16;

/// What the reader thread hands the loop: the events of one read, or how the source failed.
type Chunk = Result<Vec<Vec<u8>>, Error>;

/// Reads length-prefixed frames ([`bothways_wire::frame`]) from `stream`, one event each, and
/// batches them as [`run`](crate::run) does. A clean close between frames ends the loop with
/// its [`Summary`]; a bad frame, a frame cut off by the close, or an I/O error such as a reset
/// ends it with an [`Error`] — in every case after the batch gathered so far is handed on.
///
/// Threads: a blocking read cannot be a branch of a select, so a reader thread reads and
/// decodes, and hands each read's events to the loop over a channel.
///
/// ```
/// use std::io::Write;
/// use bothways_ticker_threads::{Config, Summary, run_tcp};
/// use bothways_wire::frame::encode;
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let mut peer = std::net::TcpStream::connect(listener.local_addr()?)?;
/// let (stream, _) = listener.accept()?;
/// let mut bytes = Vec::new();
/// encode(b"cpu 42%", &mut bytes)?;
/// encode(b"mem 7%", &mut bytes)?;
/// peer.write_all(&bytes)?;
/// drop(peer); // the source ends: a final flush, then a clean exit
///
/// let (sink, batches) = crossbeam_channel::unbounded();
/// let summary = run_tcp(stream, sink, Config::default(), crossbeam_channel::never())?;
/// assert_eq!(summary, Summary { events: 2, batches: 1 });
/// assert_eq!(batches.recv()?, [b"cpu 42%".to_vec(), b"mem 7%".to_vec()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
// ANCHOR: run_tcp
pub fn run_tcp(
    stream: TcpStream,
    sink: Sender<Vec<Vec<u8>>>,
    config: Config,
    stop: Receiver<()>,
) -> Result<Summary, Error> {
    let mut batch = Batcher::new(sink, &config)?;
    let ticks = ticks(config.period);
    // Threads: the loop keeps a handle on the socket, to shut it down under a reader blocked
    // in `read` — the only way to stop a blocking read from another thread.
    let socket = stream.try_clone()?;
    let (reads_tx, reads) = bounded::<Chunk>(READ_AHEAD);
    let max_frame = config.max_frame;
    let reader = thread::Builder::new()
        .name("ticker-reader".into())
        .spawn(move || read_frames(stream, max_frame, &reads_tx))?;
    let ended: Result<(), Error> = loop {
        select_biased! {
            recv(stop) -> _ => break Ok(()),
            recv(ticks) -> _ => {
                if let Err(e) = batch.flush() {
                    break Err(e);
                }
            }
            // A read's events, or its error; a hang-up is the reader ending at a clean close.
            recv(reads) -> read => match read {
                Ok(Ok(events)) => {
                    if let Err(e) = events.into_iter().try_for_each(|e| batch.push(e)) {
                        break Err(e);
                    }
                }
                Ok(Err(e)) => break Err(e),
                Err(_) => break Ok(()),
            },
        }
    };
    // Threads: wake the reader wherever it waits — in `read` by the shutdown, in `send` by
    // dropping the channel's receiver — and join it, so no thread outlives the loop. (The
    // shutdown fails harmlessly on a socket the peer has already reset.)
    let _ = socket.shutdown(Shutdown::Both);
    drop(reads);
    let joined = reader.join();
    // Whatever ended the loop, what was gathered before it is handed on; the first error wins.
    let flushed = batch.flush();
    ended?;
    joined.map_err(|_| Error::ReaderPanicked)?;
    flushed?;
    Ok(batch.summary())
}
// ANCHOR_END: run_tcp

/// The reader thread: reads, decodes, and hands the events of each read to the loop, then the
/// error if the source fails. Returns when the source ends or the loop is gone.
fn read_frames(mut stream: TcpStream, max_frame: u32, reads: &Sender<Chunk>) {
    let mut frames = FrameDecoder::new(max_frame);
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                if let Err(e) = frames.eof() {
                    let _ = reads.send(Err(e.into()));
                }
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = reads.send(Err(e.into()));
                return;
            }
        };
        let mut input = &chunk[..n];
        let mut events = Vec::new();
        let failed = loop {
            match frames.decode(&mut input) {
                Ok(Some(event)) => events.push(event),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        // The events before a bad frame go first, so none is lost to the error.
        if !events.is_empty() && reads.send(Ok(events)).is_err() {
            return;
        }
        if let Some(e) = failed {
            let _ = reads.send(Err(e.into()));
            return;
        }
    }
}
