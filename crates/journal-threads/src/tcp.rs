//! Subscribers over TCP: a client sends the sequence number it wants events from, and receives
//! one `bothways-wire` frame per event (the protocol is `bothways_journal_format::wire`).
//!
//! Where this file and its async twin differ: a thread waits on one thing at a time, so a
//! client's thread looks at its socket between waits for events, limits come from the
//! socket's own timeouts, and the accept loop polls a non-blocking listener to be stoppable;
//! the async server's task waits on its subscription and its socket at once (`select!`), with
//! timers around each read and write, and stops through a `CancellationToken`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::thread::{self, JoinHandle};
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

/// Threads: how long the accept loop waits between two looks at its listener while no one
/// connects (see [`serve_until`]).
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// Accepts clients on `listener` until the listener itself fails, each on a thread of its own
/// that subscribes for it and sends it frames; a client that stalls for [`STALL_LIMIT`] is
/// disconnected. An `accept` that fails for one connection's sake, or for want of resources
/// (no file descriptor left, say), is tried again: [`serve_with`] says when. [`serve_until`]
/// can also be shut down from outside.
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
/// # When `accept` fails
///
/// An error that is one connection's — ECONNABORTED (the client left before it was accepted),
/// ECONNRESET, EINTR, or a network error Linux hands on from the pending connection (ENETDOWN,
/// ENETUNREACH, EHOSTUNREACH, EPERM from a firewall) — is followed by the next `accept` at
/// once. One that is a want of resources — EMFILE or ENFILE (no file descriptor left in the
/// process or the system), ENOBUFS, ENOMEM — is followed by a pause, then the next `accept`:
/// 10 ms, doubling with each such failure in a row up to 1 s, back to 10 ms once a client is
/// accepted. Meanwhile the connections that could not be taken wait in the listener's queue,
/// and are served once descriptors are free again. Each failure is a `tracing` warning. Any
/// other error means the listener itself is unusable (EBADF, EINVAL, ENOTSOCK: closed, not
/// listening, not a socket): the clients are let go as on shutdown ([`serve_until`]), and
/// [`Error::Listener`] is returned. Nothing else ends the server.
///
/// Threads: a thread that cannot be started for a client is a want of resources too: that
/// client's connection is closed, with the same warning and pause.
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
    serve_until(journal, listener, stall_limit, Stop::new())
}

/// [`serve_with`], until `stop` is stopped ([`Stop::stop`]). Then it accepts no one more: it
/// closes the listener, so a new connection is refused. Every client's thread ends where it
/// waits — for the client's subscribe frame, for an event, or for room in the client's socket
/// — sending nothing more (a frame under way is cut short), and closes its socket: the client
/// sees its connection end. `serve_until` returns `Ok(())` once those threads are gone. The
/// journal stays open.
///
/// Threads: none of them can wait on `stop` and on its socket or subscription at once. The
/// listener does not block, and is looked at every 10 ms while no one connects (so a client
/// that connects to an idle server may wait that long to be accepted); a client's socket is
/// shut down, which wakes a thread blocked reading or writing it at once; a thread waiting
/// for an event sees `stop` at its next look at the socket, within half a second (or half the
/// stall limit if that is shorter).
///
/// ```
/// use std::sync::Arc;
/// use bothways_journal_threads::{Error, Journal, Options, tcp};
/// let dir = tempfile::tempdir()?;
/// let journal = Arc::new(Journal::open(dir.path().join("events"), Options::default())?);
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let stop = tcp::Stop::new();
/// let server = std::thread::spawn({
///     let (journal, stop) = (Arc::clone(&journal), stop.clone());
///     move || tcp::serve_until(journal, listener, tcp::STALL_LIMIT, stop)
/// });
/// let mut client = tcp::Client::connect(addr, 1)?;
/// journal.append(b"one")?;
/// assert_eq!(client.recv()?.payload, b"one");
/// stop.stop();
/// server.join().map_err(|_| "the server panicked")??;
/// assert!(matches!(client.recv(), Err(Error::Closed)));
/// journal.append(b"two")?; // the journal goes on
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn serve_until(
    journal: Arc<Journal>,
    listener: TcpListener,
    stall_limit: Duration,
    stop: Stop,
) -> Result<(), Error> {
    if stall_limit.is_zero() {
        return Err(zero_limit().into());
    }
    // Threads: std can neither wait on a socket and a signal at once nor interrupt a blocked
    // `accept`. It could be woken by connecting to the listener's own address, which costs
    // nothing while no one connects, but needs a free descriptor (and a reachable address) at
    // the moment of stopping: what a server out of descriptors, the case this loop outlives,
    // lacks. So the listener does not block, and between two looks at it the loop waits on
    // `stop`, which ends the wait at once.
    listener.set_nonblocking(true)?;
    // Each client's socket, to shut it down at the end — a `Weak`, so that the socket closes
    // as soon as its thread is done with it — and its thread; and the signal that ends them.
    let mut clients: Vec<(Weak<TcpStream>, JoinHandle<()>)> = Vec::new();
    let leaving = Stop::new();
    let mut pause = FIRST_PAUSE;
    let ended = loop {
        if stop.is_stopped() {
            break Ok(());
        }
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                stop.wait(ACCEPT_POLL);
                continue;
            }
            Err(e) => match retry(&e) {
                Retry::Now => {
                    tracing::warn!(error = %e, "accept failed; accepting the next client");
                    continue;
                }
                Retry::AfterPause => {
                    tracing::warn!(
                        error = %e,
                        pause_ms = pause.as_millis() as u64,
                        "accept failed for want of resources; accepting again after a pause"
                    );
                    stop.wait(pause);
                    pause = (pause * 2).min(LONGEST_PAUSE);
                    continue;
                }
                Retry::Never => break Err(Error::Listener { source: e }),
            },
        };
        clients.retain(|(_, thread)| !thread.is_finished());
        let stream = Arc::new(stream);
        let socket = Arc::downgrade(&stream);
        let (journal, leaving) = (Arc::clone(&journal), leaving.clone());
        // Threads: one thread per client, blocked on its subscription or its socket.
        let spawned = thread::Builder::new()
            .name("bothways-journal-client".into())
            .spawn(move || {
                let _ = serve_one(&journal, &stream, stall_limit, &leaving);
            });
        match spawned {
            Ok(thread) => {
                pause = FIRST_PAUSE;
                clients.push((socket, thread));
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    pause_ms = pause.as_millis() as u64,
                    "no thread for a client, whose connection is closed; accepting again after \
                     a pause"
                );
                stop.wait(pause);
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    };
    drop(listener);
    // Threads: a thread blocked reading or writing its socket is woken by shutting the socket
    // down (from here, through the `Arc` it shares: `&TcpStream` reads and writes, so no
    // second descriptor is needed); one waiting for an event sees `leaving` at its next look.
    leaving.stop();
    for (socket, _) in &clients {
        if let Some(socket) = socket.upgrade() {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
    for (_, thread) in clients {
        let _ = thread.join();
    }
    ended
}

/// A handle that stops [`serve_until`] from any thread; its clones share it.
///
/// ```
/// let stop = bothways_journal_threads::tcp::Stop::new();
/// assert!(!stop.is_stopped());
/// stop.clone().stop();
/// assert!(stop.is_stopped());
/// ```
// Threads: std has no cancellation token (the async server takes tokio-util's): this is the
// smallest one that also ends the server's waits at once, a flag and a condition variable.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<(Mutex<bool>, Condvar)>);

impl Stop {
    /// A handle not stopped yet.
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Stops every server given this handle or a clone of it, and returns at once: each one's
    /// [`serve_until`] returns once its clients are gone.
    pub fn stop(&self) {
        let (stopped, changed) = &*self.0;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        changed.notify_all();
    }

    /// Whether [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits `limit`, or less if [`Stop::stop`] is called meanwhile.
    fn wait(&self, limit: Duration) {
        let (stopped, changed) = &*self.0;
        let stopped = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = changed.wait_timeout_while(stopped, limit, |stopped| !*stopped);
    }
}

// What a failed `accept` calls for is the same in both styles: one copy, in the wire crate.
use bothways_wire::accept::{FIRST_PAUSE, LONGEST_PAUSE, Retry, retry};

fn zero_limit() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "a zero stall limit")
}

fn serve_one(
    journal: &Journal,
    stream: &TcpStream,
    stall_limit: Duration,
    leaving: &Stop,
) -> Result<(), Error> {
    // BSD and macOS hand the listener's O_NONBLOCK on to the sockets it accepts; Linux does not.
    stream.set_nonblocking(false)?;
    // Threads: the limit is the socket's own (SO_RCVTIMEO, SO_SNDTIMEO): a read or a write
    // that makes no progress for that long fails, and the thread ends.
    stream.set_read_timeout(Some(stall_limit))?;
    stream.set_write_timeout(Some(stall_limit))?;
    let Some(from) = read_subscribe(stream)? else {
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
    let mut socket = stream;
    loop {
        // Threads: the server is shutting down; its shutdown of the socket woke this thread
        // if it was blocked on it, and a wait for an event lasts `look_every` at most.
        if leaving.is_stopped() || owed.is_some_and(|last| sub.next_seq() > last) {
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
            socket.write_all(&out)?;
        }
        if last {
            return Ok(());
        }
        if owed.is_none() && looked.elapsed() >= look_every {
            looked = Instant::now();
            // Threads: a look at the socket that does not wait, between two waits for an
            // event; the async server waits on both at once.
            owed = hung_up(stream, journal)?;
        }
    }
}

/// Reads the client's subscribe frame: the sequence number it wants events from, or `None` if
/// it hung up first. Anything after the frame in the same read breaks the protocol.
fn read_subscribe(mut stream: &TcpStream) -> Result<Option<u64>, Error> {
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
fn hung_up(mut stream: &TcpStream, journal: &Journal) -> Result<Option<u64>, Error> {
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
