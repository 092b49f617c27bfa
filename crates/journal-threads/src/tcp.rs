//! Subscribers over TCP: a client sends the sequence number it wants events from, and receives
//! one `bothways-wire` frame per event (the protocol is `bothways_journal_format::wire`).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use bothways_journal_format::wire::{self, MAX_FRAME, ServerMessage};
use bothways_wire::{FrameDecoder, frame};

use crate::{Error, Event, Journal};

/// How long [`serve`] lets a client stall: send nothing while it is expected to say where to
/// start, or take nothing while a frame waits for it. Past it the client is disconnected.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Threads: how often a client's thread, waiting for the next event, looks at the socket for
/// a hang-up. It cannot wait on its subscription and its socket at once.
const HANG_UP_CHECK: Duration = Duration::from_millis(500);

/// Accepts clients on `listener` forever, each on a thread of its own that subscribes for it
/// and sends it frames; a client that stalls for [`STALL_LIMIT`] is disconnected. Returns
/// when `accept` fails.
///
/// ```no_run
/// use std::sync::Arc;
/// use bothways_journal_threads::{Journal, Options, tcp};
/// let journal = Arc::new(Journal::open("events", Options::default())?);
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// std::thread::spawn(move || tcp::serve(journal, listener));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve(journal: Arc<Journal>, listener: TcpListener) -> Result<(), Error> {
    serve_with(journal, listener, STALL_LIMIT)
}

/// [`serve`], with a client disconnected once it stalls for `stall_limit`: sends nothing
/// while it is expected to say where to start, or takes none of a frame's bytes while the
/// frame waits for it. A client that reads slowly but steadily is kept; one waiting for
/// events on a quiet journal is kept too. A zero limit is refused. A client that hangs up
/// (ends its side of the connection) is let go without waiting for the next event; one that
/// sends anything after its subscribe frame breaks the protocol and is disconnected.
///
/// Without a limit, a client that never reads would keep its thread (and its socket) for as
/// long as the server runs: its subscription is cut with `Lagged` once its queue fills, but
/// the thread would stay blocked on the full socket.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bothways_journal_threads::{Error, Journal, Options, tcp};
/// let dir = tempfile::tempdir()?;
/// let journal = Arc::new(Journal::open(dir.path().join("events"), Options::default())?);
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// match tcp::serve_with(journal, listener, Duration::ZERO) {
///     Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput),
///     other => panic!("expected a refused limit, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve_with(
    journal: Arc<Journal>,
    listener: TcpListener,
    stall_limit: Duration,
) -> Result<(), Error> {
    if stall_limit.is_zero() {
        return Err(zero_limit().into());
    }
    loop {
        let (stream, _) = listener.accept()?;
        let journal = Arc::clone(&journal);
        // Threads: one thread per client, blocked on its subscription or its socket.
        thread::Builder::new()
            .name("bothways-journal-client".into())
            .spawn(move || {
                let _ = serve_one(&journal, stream, stall_limit);
            })?;
    }
}

fn zero_limit() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "a zero stall limit")
}

fn serve_one(journal: &Journal, mut stream: TcpStream, stall_limit: Duration) -> Result<(), Error> {
    // Threads: the limit is the socket's own (SO_RCVTIMEO, SO_SNDTIMEO): a read or a write
    // that makes no progress for that long fails, and the thread ends.
    stream.set_read_timeout(Some(stall_limit))?;
    stream.set_write_timeout(Some(stall_limit))?;
    let mut decoder = FrameDecoder::new(8);
    let mut buf = [0u8; 64];
    let from = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let mut input = &buf[..n];
        if let Some(frame) = decoder.decode(&mut input).map_err(|e| Error::failed(&e))? {
            break wire::decode_subscribe(&frame).ok_or(Error::Closed)?;
        }
    };
    let mut sub = journal.subscribe(from)?;
    let mut out = Vec::new();
    loop {
        out.clear();
        let (payload, last) = match sub.recv_timeout(HANG_UP_CHECK) {
            Ok(Some(event)) => (wire::event_frame(&event), false),
            Ok(None) => {
                // Threads: between two waits for an event, a look at the socket that does
                // not wait; the async server waits on both at once.
                if hung_up(&mut stream)? {
                    return Ok(());
                }
                continue;
            }
            Err(Error::Lagged { last_seq }) => (wire::lagged_frame(last_seq), true),
            Err(e) => return Err(e),
        };
        frame::encode(&payload, &mut out).map_err(|e| Error::failed(&e))?;
        // `write_all` is many writes, each under the socket's timeout: a frame of many
        // megabytes to a client that reads steadily may take longer than the limit, and that
        // client is not stalled.
        stream.write_all(&out)?;
        if last {
            return Ok(());
        }
    }
}

/// Whether the client ended its side of the connection, by a read that does not wait. The
/// client has nothing to say after its subscribe frame, so a byte is a protocol error.
fn hung_up(stream: &mut TcpStream) -> Result<bool, Error> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    let read = stream.read(&mut byte);
    stream.set_nonblocking(false)?;
    match read {
        Ok(0) => Ok(true),
        Ok(_) => Err(after_subscribe().into()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn after_subscribe() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the client sent bytes after its subscribe frame",
    )
}

/// A TCP subscriber.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    decoder: FrameDecoder,
    buf: Vec<u8>,
    pending: std::collections::VecDeque<Vec<u8>>,
}

impl Client {
    /// Connects to a journal server and subscribes from `from`.
    pub fn connect(addr: impl ToSocketAddrs, from: u64) -> Result<Client, Error> {
        let mut stream = TcpStream::connect(addr)?;
        let mut out = Vec::new();
        frame::encode(&wire::subscribe_frame(from), &mut out).map_err(|e| Error::failed(&e))?;
        stream.write_all(&out)?;
        Ok(Client {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
            buf: vec![0; 64 << 10],
            pending: Default::default(),
        })
    }

    /// The next event; [`Error::Lagged`] if the server disconnected this client for falling
    /// behind, [`Error::Closed`] when the server closed the connection.
    pub fn recv(&mut self) -> Result<Event, Error> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return match wire::decode_server(&frame) {
                    Ok(ServerMessage::Event(event)) => Ok(event),
                    Ok(ServerMessage::Lagged { last_seq }) => Err(Error::Lagged { last_seq }),
                    Err(len) => Err(Error::Failed {
                        message: format!("a malformed frame of {len} bytes"),
                    }),
                };
            }
            let n = self.stream.read(&mut self.buf)?;
            if n == 0 {
                return Err(Error::Closed);
            }
            let mut input = &self.buf[..n];
            while let Some(frame) = self
                .decoder
                .decode(&mut input)
                .map_err(|e| Error::failed(&e))?
            {
                self.pending.push_back(frame);
            }
        }
    }
}
