//! Subscribers over TCP: a client sends the sequence number it wants events from, and receives
//! one `bothways-wire` frame per event (the protocol is `bothways_journal_format::wire`).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_format::wire::{self, MAX_FRAME, ServerMessage};
use bothways_wire::{FrameDecoder, frame};

use crate::{Error, Event, Journal};

/// How long [`serve`] lets a client stall: send nothing while it is expected to say where to
/// start, or take nothing while a frame waits for it. Past it the client is disconnected.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Threads: how often a client's thread looks at its socket for a hang-up or a breach, events
/// flowing or not (at most; half the stall limit if that is shorter). It cannot wait on its
/// subscription and its socket at once.
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
/// events on a quiet journal is kept too. A zero limit is refused.
///
/// A client that hangs up (ends its side of the connection) is sent every event appended
/// before its hang-up was noticed, then let go, without waiting for later ones. A client that
/// sends anything after its subscribe frame — in the same segment or later — breaks the
/// protocol and is disconnected. Either is noticed within half a second, or half the stall
/// limit if that is shorter, however busy or quiet the journal is.
///
/// Without a limit, a client that never reads would keep its thread (and its socket) for as
/// long as the server runs: its subscription is cut with `Lagged` once its queue fills, but
/// the thread would stay blocked on the full socket.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, Instant};
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
    let Some(from) = read_subscribe(&mut stream)? else {
        return Ok(());
    };
    let mut sub = journal.subscribe(from)?;
    // Threads: the socket is looked at every so often, events flowing or not, so a breach or
    // a hang-up is seen within this much even on a busy journal.
    // (Never under a millisecond, so that a tiny limit does not make the wait a spin.)
    let look_every = HANG_UP_CHECK
        .min(stall_limit / 2)
        .max(Duration::from_millis(1));
    let mut looked = Instant::now();
    // Once the client has hung up: the last event it is still owed.
    let mut owed: Option<u64> = None;
    let mut out = Vec::new();
    loop {
        if owed.is_some_and(|last| sub.next_seq() > last) {
            return Ok(());
        }
        let wait = if owed.is_some() {
            stall_limit
        } else {
            look_every
        };
        let (payload, last) = match sub.recv_timeout(wait) {
            Ok(Some(event)) => (wire::event_frame(&event), false),
            // Owed events that do not come within the limit will not come (the writer failed).
            Ok(None) if owed.is_some() => return Ok(()),
            Ok(None) => (Vec::new(), false),
            Err(Error::Lagged { last_seq }) => (wire::lagged_frame(last_seq), true),
            Err(e) => return Err(e),
        };
        if !payload.is_empty() {
            out.clear();
            frame::encode(&payload, &mut out).map_err(|e| Error::failed(&e))?;
            // `write_all` is many writes, each under the socket's timeout: a frame of many
            // megabytes to a client that reads steadily may take longer than the limit, and
            // that client is not stalled.
            stream.write_all(&out)?;
        }
        if last {
            return Ok(());
        }
        if owed.is_none() && looked.elapsed() >= look_every {
            looked = Instant::now();
            // Threads: a look at the socket that does not wait, between two waits for an
            // event; the async server waits on both at once.
            owed = hung_up(&mut stream, journal)?;
        }
    }
}

/// Reads the client's subscribe frame: the sequence number it wants events from, or `None` if
/// it hung up first. Anything after the frame in the same read breaks the protocol.
fn read_subscribe(stream: &mut TcpStream) -> Result<Option<u64>, Error> {
    let mut decoder = FrameDecoder::new(8);
    let mut buf = [0u8; 64];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        let mut input = &buf[..n];
        if let Some(frame) = decoder.decode(&mut input).map_err(|e| Error::failed(&e))? {
            if !input.is_empty() {
                return Err(after_subscribe().into());
            }
            return wire::decode_subscribe(&frame)
                .map(Some)
                .ok_or_else(|| not_a_subscribe_frame().into());
        }
    }
}

/// What a read of the client's socket after its subscribe frame finds: the end of its side (a
/// hang-up) makes it owed what was appended before it was noticed, which the writer may not
/// have handed to the subscription yet; a byte breaks the protocol.
// Threads: the read is made here, without waiting; the async server's select made it.
fn hung_up(stream: &mut TcpStream, journal: &Journal) -> Result<Option<u64>, Error> {
    stream.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    let read = stream.read(&mut byte);
    stream.set_nonblocking(false)?;
    match read {
        Ok(0) => Ok(Some(journal.next_seq().saturating_sub(1))),
        Ok(_) => Err(after_subscribe().into()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn not_a_subscribe_frame() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the client's first frame is not an 8-byte subscribe frame",
    )
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
