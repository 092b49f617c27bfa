//! Subscribers over TCP: a client sends the sequence number it wants events from, and receives
//! one `bothways-wire` frame per event (the protocol is `bothways_journal_format::wire`).
//!
//! Where this file and its threads twin differ: one task per client waits on its subscription
//! and its socket at once (`select!`), limits are timers around each read and write, and a
//! server stops through a `CancellationToken`; a thread waits on one thing at a time, so the
//! threads server looks at the socket between waits, limits with socket timeouts, and polls a
//! non-blocking listener to be stoppable.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bothways_journal_format::wire::{self, MAX_FRAME, ServerMessage};
use bothways_wire::{FrameDecoder, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{Error, Event, Journal};

/// How long [`serve`] lets a client stall: send nothing while it is expected to say where to
/// start, or take nothing while a frame waits for it. Past it the client is disconnected.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Accepts clients on `listener` until the listener itself fails, each on a task of its own
/// that subscribes for it and sends it frames; a client that stalls for [`STALL_LIMIT`] is
/// disconnected. An `accept` that fails for one connection's sake, or for want of resources
/// (no file descriptor left, say), is tried again: [`serve_with`] says when. [`serve_until`]
/// can also be shut down from outside.
///
/// ```no_run
/// use std::sync::Arc;
/// use bothways_journal_async::{Journal, Options, tcp};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let journal = Arc::new(Journal::open("events", Options::default()).await?);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// tokio::spawn(tcp::serve(journal, listener));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn serve(journal: Arc<Journal>, listener: TcpListener) -> Result<(), Error> {
    serve_with(journal, listener, STALL_LIMIT).await
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
/// Without a limit, a client that never reads would keep its task (and its socket) for as
/// long as the server runs: its subscription is cut with `Lagged` once its queue fills, but
/// the task would stay parked on the full socket.
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
/// Async: dropping its future (aborting its task, or ending its runtime) ends it too, and lets
/// its clients go.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use bothways_journal_async::{Error, Journal, Options, tcp};
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let journal = Arc::new(Journal::open(dir.path().join("events"), Options::default()).await?);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// match tcp::serve_with(journal, listener, Duration::ZERO).await {
///     Err(Error::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput),
///     other => panic!("expected a refused limit, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn serve_with(
    journal: Arc<Journal>,
    listener: TcpListener,
    stall_limit: Duration,
) -> Result<(), Error> {
    serve_until(journal, listener, stall_limit, CancellationToken::new()).await
}

/// [`serve_with`], until `shutdown` is cancelled. Then it accepts no one more: it closes the
/// listener, so a new connection is refused. Every client's task ends where it waits — for
/// the client's subscribe frame, for an event, or for room in the client's socket — sending
/// nothing more (a frame under way is cut short), and closes its socket: the client sees its
/// connection end. `serve_until` returns `Ok(())` once those tasks are gone. The journal
/// stays open.
///
/// Async: the accept waits on the token as well, and every client's task is aborted where it
/// waits, so all of this is at once.
///
/// ```
/// use std::sync::Arc;
/// use bothways_journal_async::{Error, Journal, Options, tcp};
/// use tokio_util::sync::CancellationToken;
/// # tokio::runtime::Runtime::new()?.block_on(async {
/// let dir = tempfile::tempdir()?;
/// let journal = Arc::new(Journal::open(dir.path().join("events"), Options::default()).await?);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let addr = listener.local_addr()?;
/// let shutdown = CancellationToken::new();
/// let server = tokio::spawn(tcp::serve_until(
///     Arc::clone(&journal),
///     listener,
///     tcp::STALL_LIMIT,
///     shutdown.clone(),
/// ));
/// let mut client = tcp::Client::connect(addr, 1).await?;
/// journal.append(b"one").await?;
/// assert_eq!(client.recv().await?.payload, b"one");
/// shutdown.cancel();
/// server.await??;
/// assert!(matches!(client.recv().await, Err(Error::Closed)));
/// journal.append(b"two").await?; // the journal goes on
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub async fn serve_until(
    journal: Arc<Journal>,
    listener: TcpListener,
    stall_limit: Duration,
    shutdown: CancellationToken,
) -> Result<(), Error> {
    if stall_limit.is_zero() {
        return Err(zero_limit().into());
    }
    let mut clients = JoinSet::new();
    let mut pause = FIRST_PAUSE;
    let ended = loop {
        let accepted = tokio::select! {
            // Shutdown first: once it is asked for, no one more is accepted.
            biased;
            () = shutdown.cancelled() => break Ok(()),
            // A `JoinSet` keeps what a finished task returned until it is joined: each client's
            // is taken as it ends.
            Some(_) = clients.join_next(), if !clients.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
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
                    tokio::select! {
                        biased;
                        () = shutdown.cancelled() => break Ok(()),
                        () = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(LONGEST_PAUSE);
                    continue;
                }
                Retry::Never => break Err(Error::Listener { source: e }),
            },
        };
        pause = FIRST_PAUSE;
        let journal = Arc::clone(&journal);
        // Async: one task per client, parked on its subscription or its socket.
        clients.spawn(async move {
            let _ = serve_one(&journal, stream, stall_limit).await;
        });
    };
    drop(listener);
    // Async: aborting a task drops its future wherever it waits, and the client's socket with
    // it; the same happens if this future is dropped, as a `JoinSet` aborts its tasks on drop.
    clients.shutdown().await;
    ended
}

// What a failed `accept` calls for is the same in both styles: one copy, in the wire crate.
use bothways_wire::accept::{FIRST_PAUSE, LONGEST_PAUSE, Retry, retry};

fn zero_limit() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "a zero stall limit")
}

/// Async: the limit is a timer around each read and each write, from the outside, so that
/// it means what the threads server's socket timeouts mean: no progress for that long.
async fn progress_within<T>(
    stall_limit: Duration,
    io: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    tokio::time::timeout(stall_limit, io)
        .await
        .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

async fn serve_one(
    journal: &Journal,
    mut stream: TcpStream,
    stall_limit: Duration,
) -> Result<(), Error> {
    let Some(from) = read_subscribe(&mut stream, stall_limit).await? else {
        return Ok(());
    };
    let mut sub = journal.subscribe(from).await?;
    // Once the client has hung up: the last event it is still owed.
    let mut owed: Option<u64> = None;
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if owed.is_some_and(|last| sub.next_seq() > last) {
            return Ok(());
        }
        let received = if owed.is_some() {
            // Owed events that do not come within the limit will not come (the writer failed).
            match sub.recv_timeout(stall_limit).await? {
                Some(event) => Ok(event),
                None => return Ok(()),
            }
        } else {
            // Async: one task waits on its subscription and its socket at once, so a hang-up
            // or a breach on a quiet journal is seen when it happens; the threads server looks
            // at the socket between waits.
            tokio::select! {
                // Events first: a client that ends its side right after its subscribe frame
                // still gets what is there.
                biased;
                received = sub.recv() => received,
                read = stream.read(&mut byte) => {
                    owed = hung_up(read, journal).await?;
                    continue;
                }
            }
        };
        let (payload, last) = match received {
            Ok(event) => (wire::event_frame(&event), false),
            Err(Error::Lagged { last_seq }) => (wire::lagged_frame(last_seq), true),
            Err(e) => return Err(e),
        };
        out.clear();
        frame::encode(&payload, &mut out).map_err(|e| Error::failed(&e))?;
        // Many writes, each under the timer, not `write_all` under one: a frame of many
        // megabytes to a client that reads steadily may take longer than the limit, and that
        // client is not stalled.
        let mut rest = &out[..];
        while !rest.is_empty() {
            let n = progress_within(stall_limit, stream.write(rest)).await?;
            if n == 0 {
                return Err(Error::Io(io::ErrorKind::WriteZero.into()));
            }
            rest = &rest[n..];
        }
        if last {
            return Ok(());
        }
        if owed.is_none() {
            // Async: while events flow, the biased select above never polls the socket; a
            // read that does not wait, after each event, costs nothing unless bytes came
            // (tokio answers it from the readiness it already has).
            match stream.try_read(&mut byte) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                read => owed = hung_up(read, journal).await?,
            }
        }
    }
}

/// Reads the client's subscribe frame: the sequence number it wants events from, or `None` if
/// it hung up first. Anything after the frame in the same read breaks the protocol.
async fn read_subscribe(
    stream: &mut TcpStream,
    stall_limit: Duration,
) -> Result<Option<u64>, Error> {
    let mut decoder = FrameDecoder::new(8);
    let mut buf = [0u8; 64];
    loop {
        let n = progress_within(stall_limit, stream.read(&mut buf)).await?;
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
// Async: the read was made by the select, or by `try_read`; the threads server makes it here.
async fn hung_up(read: io::Result<usize>, journal: &Journal) -> Result<Option<u64>, Error> {
    match read {
        Ok(0) => Ok(Some(journal.next_seq().await.saturating_sub(1))),
        Ok(_) => Err(after_subscribe().into()),
        Err(e) => Err(e.into()),
    }
}

fn not_a_subscribe_frame() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the client's first frame is not an 8-byte subscribe frame",
    )
}

/// The client has nothing to say after its subscribe frame, so a byte is a protocol error.
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
    pending: VecDeque<Vec<u8>>,
}

impl Client {
    /// Connects to a journal server and subscribes from `from`.
    pub async fn connect(addr: impl ToSocketAddrs, from: u64) -> Result<Client, Error> {
        let mut stream = TcpStream::connect(addr).await?;
        let mut out = Vec::new();
        frame::encode(&wire::subscribe_frame(from), &mut out).map_err(|e| Error::failed(&e))?;
        stream.write_all(&out).await?;
        Ok(Client {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
            buf: vec![0; 64 << 10],
            pending: VecDeque::new(),
        })
    }

    /// The next event; [`Error::Lagged`] if the server disconnected this client for falling
    /// behind, [`Error::Closed`] when the server closed the connection.
    pub async fn recv(&mut self) -> Result<Event, Error> {
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
            let n = self.stream.read(&mut self.buf).await?;
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
