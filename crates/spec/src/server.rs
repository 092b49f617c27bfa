//! A loopback TCP server for the checks: it answers fast, drips bytes slowly or never answers,
//! and records when each client closed its end, so a check can see a cancelled read hang up.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How often an idle connection handler looks at the stop flag.
const POLL: Duration = Duration::from_millis(10);

/// What the server sends to each client.
///
/// ```
/// use bothways_spec::server::Script;
/// use std::time::Duration;
/// let _fast = Script::fast(b"hello\n");
/// let _slow = Script::drip(b"hello\n", Duration::from_millis(20));
/// let _mute = Script::silent();
/// let _torn = Script::fast(b"hel").then_close();
/// ```
#[derive(Debug, Clone)]
pub struct Script {
    bytes: Vec<u8>,
    every: Option<Duration>,
    close: bool,
}

impl Script {
    /// Sends `bytes` at once, then holds the connection open until the client closes it.
    pub fn fast(bytes: &[u8]) -> Self {
        Script {
            bytes: bytes.to_vec(),
            every: None,
            close: false,
        }
    }

    /// Sends `bytes` one byte at a time, one every `every`.
    pub fn drip(bytes: &[u8], every: Duration) -> Self {
        Script {
            bytes: bytes.to_vec(),
            every: Some(every),
            close: false,
        }
    }

    /// Accepts and never sends anything.
    pub fn silent() -> Self {
        Script {
            bytes: Vec::new(),
            every: None,
            close: false,
        }
    }

    /// Closes the connection once everything is sent, instead of holding it open.
    pub fn then_close(mut self) -> Self {
        self.close = true;
        self
    }
}

/// What the server saw of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    /// When the server accepted it.
    pub accepted: Instant,
    /// When the server saw the client's end close (EOF or reset), if it has.
    pub closed: Option<Instant>,
    /// How many bytes of the script the server managed to send.
    pub sent: usize,
}

#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    connections: Mutex<Vec<Connection>>,
    handlers: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, Vec<Connection>> {
        // Handlers only push or overwrite whole `Connection` values, so a poisoned lock still
        // holds a consistent log.
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut Connection)) {
        if let Some(c) = self.connections().get_mut(index) {
            f(c);
        }
    }
}

/// A loopback server playing one [`Script`] to every client, on its own threads.
///
/// Dropping it stops accepting, ends every handler and joins all its threads, so a check that
/// counts threads afterwards sees none of them.
///
/// ```
/// use bothways_spec::server::{LineServer, Script};
/// use std::io::Read;
/// let server = LineServer::start(Script::fast(b"hi\n").then_close()).unwrap();
/// let mut client = std::net::TcpStream::connect(server.addr()).unwrap();
/// let mut got = Vec::new();
/// client.read_to_end(&mut got).unwrap();
/// assert_eq!(got, b"hi\n");
/// ```
#[derive(Debug)]
pub struct LineServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl LineServer {
    /// Binds `127.0.0.1:0` and starts accepting.
    pub fn start(script: Script) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let acceptor = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("spec-server-accept".into())
                .spawn(move || accept_loop(&listener, &shared, &script))?
        };
        Ok(LineServer {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every connection so far, in the order accepted.
    pub fn connections(&self) -> Vec<Connection> {
        self.shared.connections().clone()
    }

    /// Waits up to `within` for the server to see the client close connection `index`, and
    /// returns when it did.
    pub fn wait_for_close(&self, index: usize, within: Duration) -> Option<Instant> {
        let give_up = Instant::now().checked_add(within);
        loop {
            if let Some(closed) = self.connections().get(index).and_then(|c| c.closed) {
                return Some(closed);
            }
            if give_up.is_some_and(|t| Instant::now() >= t) {
                return None;
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl Drop for LineServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // The acceptor is blocked in `accept`; a connection of our own wakes it to see the flag.
        // Should that fail, leave the acceptor behind rather than hang the check in `join`.
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(acceptor) = self.acceptor.take().filter(|_| woken) {
            let _ = acceptor.join();
        }
        let handlers = std::mem::take(
            &mut *self
                .shared
                .handlers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for handler in handlers {
            let _ = handler.join();
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, script: &Script) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors, say, because an implementation under test leaks them: back
            // off instead of spinning on the error.
            thread::sleep(POLL);
            continue;
        };
        let index = {
            let mut log = shared.connections();
            log.push(Connection {
                accepted: Instant::now(),
                closed: None,
                sent: 0,
            });
            log.len() - 1
        };
        let handler = {
            let shared = Arc::clone(shared);
            let script = script.clone();
            thread::Builder::new()
                .name("spec-server-conn".into())
                .spawn(move || serve(stream, index, &shared, &script))
        };
        let mut handlers = shared
            .handlers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Join finished handlers as we go, so a thousand connections do not pile up handles.
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut *handlers)
            .into_iter()
            .partition(JoinHandle::is_finished);
        *handlers = running;
        if let Ok(handler) = handler {
            handlers.push(handler);
        }
        drop(handlers);
        for handler in done {
            let _ = handler.join();
        }
    }
}

/// Plays the script to one client. Waiting for the client's EOF with a read timeout doubles as
/// the pause between dripped bytes, so one thread both sends and notices the hang-up at once.
fn serve(mut stream: TcpStream, index: usize, shared: &Shared, script: &Script) {
    let closed = |shared: &Shared| shared.update(index, |c| c.closed = Some(Instant::now()));
    let mut sent = 0;
    let chunk = if script.every.is_some() {
        1
    } else {
        script.bytes.len().max(1)
    };
    let mut buf = [0u8; 512];
    // A client that stops reading must not wedge the handler, and with it the server's drop.
    if stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .is_err()
    {
        return closed(shared);
    }
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if sent < script.bytes.len() {
            let end = (sent + chunk).min(script.bytes.len());
            match stream.write_all(&script.bytes[sent..end]) {
                Ok(()) => {
                    sent = end;
                    shared.update(index, |c| c.sent = sent);
                }
                Err(_) => return closed(shared),
            }
        }
        if sent == script.bytes.len() && script.close {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        let wait = if sent < script.bytes.len() {
            script.every.unwrap_or(POLL)
        } else {
            POLL
        };
        if stream
            .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .is_err()
        {
            return closed(shared);
        }
        match stream.read(&mut buf) {
            // The client never writes, so any read that returns is its EOF or a reset.
            Ok(0) => return closed(shared),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return closed(shared),
        }
    }
}
