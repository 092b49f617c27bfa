//! What the journal checks share: scratch directories, opening and reading a journal, payload
//! makers, a TCP client written from the protocol, simulated disks, and the crash child the
//! SIGKILL and file-descriptor checks re-execute.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bothways_journal_format::Storage;
use bothways_journal_format::sim::SimDisk;
use bothways_journal_format::wire::{self, MAX_FRAME, ServerMessage};
use bothways_wire::{FrameDecoder, frame};

use crate::check::{Failure, Rng, ensure};
use crate::journal::{
    ANSWER_WITHIN, CRASH_IMPL_VAR, CRASH_MODE_VAR, CRASH_PATH_VAR, Durability, Error, JournalSpec,
    PRUNE_EVERY, PRUNE_KEEP, Settings, SpecJournal, SpecSubscription,
};

// Named in doc links only.
#[cfg(doc)]
use crate::journal::tcp_server_survives_fd_exhaustion;

/// A directory of its own under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct Scratch(pub(crate) PathBuf);

impl Scratch {
    /// A fresh, empty directory.
    pub fn new() -> Result<Scratch, Failure> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "bothways-journal-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Failure::new("a scratch directory", e.to_string()))?;
        Ok(Scratch(dir))
    }

    /// The journal's path inside it.
    pub fn file(&self) -> PathBuf {
        self.0.join("events")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn open<T: JournalSpec>(
    imp: &T,
    path: &Path,
    durability: Durability,
    queue: usize,
) -> Result<T::Journal, Failure> {
    imp.open(path, durability, queue)
        .map_err(|e| Failure::new("the journal to open", format!("{e:?}")))
}

pub(crate) fn call<R>(what: &str, result: Result<R, Error>) -> Result<R, Failure> {
    result.map_err(|e| Failure::new(format!("{what} to succeed"), format!("{e:?}")))
}

/// Receives events until `last`, checking they are exactly `from..=last`, each once, in order,
/// with the payloads `expect` gives (when it knows them).
pub(crate) fn expect_range<S: SpecSubscription>(
    sub: &mut S,
    from: u64,
    last: u64,
    expect: impl Fn(u64) -> Option<Vec<u8>>,
) -> Result<(), Failure> {
    let mut next = from;
    while next <= last {
        match sub.recv_within(ANSWER_WITHIN) {
            Ok(Some((seq, payload))) => {
                ensure(
                    seq == next,
                    &format!("events {from}..={last} in order, each once"),
                    || format!("{seq} where {next} was due"),
                )?;
                if let Some(want) = expect(seq) {
                    ensure(payload == want, &format!("event {seq}'s own bytes"), || {
                        format!("{:?}", String::from_utf8_lossy(&payload))
                    })?;
                }
                next += 1;
            }
            Ok(None) => {
                return Err(Failure::new(
                    format!("events {from}..={last}"),
                    format!("nothing after {} within {ANSWER_WITHIN:?}", next - 1),
                ));
            }
            Err(e) => {
                return Err(Failure::new(
                    format!("events {from}..={last}"),
                    format!("{e:?} at {next}"),
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn payload(seq: u64) -> Vec<u8> {
    format!("event {seq}").into_bytes()
}

/// Starts a crash child, kills it with SIGKILL a random moment (up to 20 ms) after its first
/// acknowledged append, and returns every line it printed.
pub(crate) fn kill_at_random(mut command: Command, rng: &mut Rng) -> Result<Vec<String>, Failure> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Failure::new("the crash child to start", e.to_string()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::new("the child's stdout", "none"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = thread::spawn(move || {
        let mut lines = Vec::new();
        let mut started = Some(tx);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("acked ")
                && let Some(tx) = started.take()
            {
                let _ = tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let _ = rx.recv_timeout(ANSWER_WITHIN);
    thread::sleep(Duration::from_micros(rng.below(20_000)));
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    reader
        .join()
        .map_err(|_| Failure::new("the child's output", "a panic"))
}

/// The number in a child's line `<prefix><number>`.
pub(crate) fn number_after(line: &str, prefix: &str) -> Option<u64> {
    line.strip_prefix(prefix)?.parse().ok()
}

/// The body of the crash checks' child: appends with fsync-before-return forever, printing
/// `acked <seq>` after each append returns, until killed; with [`CRASH_MODE_VAR`] set to
/// `prune`, it also prunes to its latest [`PRUNE_KEEP`] events every [`PRUNE_EVERY`] appends,
/// printing `pruning <after>` before and `pruned <after>` once the prune returned. Does
/// nothing unless [`CRASH_PATH_VAR`] is set and [`CRASH_IMPL_VAR`] names `imp`. With
/// [`CRASH_MODE_VAR`] set to `serve`, it serves the journal over TCP instead (see
/// [`tcp_server_survives_fd_exhaustion`]).
pub fn crash_child<T: JournalSpec>(imp: &T) {
    let Some(path) = std::env::var_os(CRASH_PATH_VAR) else {
        return;
    };
    if std::env::var(CRASH_IMPL_VAR).ok() != Some(imp.name()) {
        return;
    }
    if std::env::var(CRASH_MODE_VAR).is_ok_and(|mode| mode == "serve") {
        return serve_child(imp, Path::new(&path));
    }
    let prunes = std::env::var(CRASH_MODE_VAR).is_ok_and(|mode| mode == "prune");
    let Ok(journal) = imp.open(Path::new(&path), Durability::Append, 16) else {
        return;
    };
    let mut out = std::io::stdout().lock();
    // The first append learns where the file's sequence stands; each later one carries the
    // bytes of the number it must get, which the check compares after the crash.
    let Ok(mut seq) = journal.append(b"child started") else {
        return;
    };
    loop {
        let Ok(got) = journal.append(&payload(seq + 1)) else {
            return;
        };
        if got != seq + 1 {
            return;
        }
        seq = got;
        if writeln!(out, "acked {got}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
        if prunes && seq % PRUNE_EVERY == 0 {
            let after = seq.saturating_sub(PRUNE_KEEP);
            if writeln!(out, "pruning {after}")
                .and_then(|()| out.flush())
                .is_err()
                || journal.prune(after).is_err()
                || writeln!(out, "pruned {after}")
                    .and_then(|()| out.flush())
                    .is_err()
            {
                return;
            }
        }
    }
}

/// What a raw TCP client of the journal's protocol read next.
#[derive(Debug)]
pub(crate) enum Frame {
    Event(u64, Vec<u8>),
    Lagged(u64),
    /// The server closed the connection.
    End,
    /// Nothing within the limit.
    Nothing,
}

/// A TCP subscriber written here, from the protocol's bytes alone (`bothways-wire` frames of
/// `bothways_journal_format::wire` messages), so the check tests what goes over the socket
/// rather than the implementation's own client.
pub(crate) struct TcpSub {
    pub(crate) stream: TcpStream,
    pub(crate) decoder: FrameDecoder,
    pub(crate) pending: VecDeque<Vec<u8>>,
    pub(crate) buf: Vec<u8>,
}

impl TcpSub {
    pub(crate) fn connect(addr: SocketAddr, from: u64) -> Result<TcpSub, Failure> {
        TcpSub::connect_with(addr, from, &[])
    }

    /// Connects and sends the subscribe frame followed by `extra`, in one write.
    pub(crate) fn connect_with(
        addr: SocketAddr,
        from: u64,
        extra: &[u8],
    ) -> Result<TcpSub, Failure> {
        let fail =
            |e: std::io::Error| Failure::new("a TCP connection to the journal", e.to_string());
        let mut stream = TcpStream::connect(addr).map_err(fail)?;
        let mut out = Vec::new();
        frame::encode(&wire::subscribe_frame(from), &mut out)
            .map_err(|e| Failure::new("a subscribe frame to encode", e.to_string()))?;
        out.extend_from_slice(extra);
        stream.write_all(&out).map_err(fail)?;
        Ok(TcpSub {
            stream,
            decoder: FrameDecoder::new(MAX_FRAME),
            pending: VecDeque::new(),
            buf: vec![0; 64 << 10],
        })
    }

    pub(crate) fn next(&mut self, limit: Duration) -> Result<Frame, Failure> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(payload) = self.pending.pop_front() {
                return match wire::decode_server(&payload) {
                    Ok(ServerMessage::Event(event)) => Ok(Frame::Event(event.seq, event.payload)),
                    Ok(ServerMessage::Lagged { last_seq }) => Ok(Frame::Lagged(last_seq)),
                    Err(len) => Err(Failure::new(
                        "well-formed server frames",
                        format!("a malformed frame of {len} bytes"),
                    )),
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Frame::Nothing);
            }
            self.stream
                .set_read_timeout(Some(left))
                .map_err(|e| Failure::new("a read timeout on the socket", e.to_string()))?;
            let n = match self.stream.read(&mut self.buf) {
                Ok(0) => return Ok(Frame::End),
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Ok(Frame::Nothing);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A reset is how a server that closed with unread bytes ends the connection.
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(Frame::End),
                Err(e) => return Err(Failure::new("the socket to read", e.to_string())),
            };
            let mut input = &self.buf[..n];
            while let Some(payload) = self
                .decoder
                .decode(&mut input)
                .map_err(|e| Failure::new("well-formed server frames", e.to_string()))?
            {
                self.pending.push_back(payload);
            }
        }
    }

    /// Receives frames until event `last`, checking they are exactly `from..=last`, in order,
    /// once each, with the bytes `expect` gives.
    pub(crate) fn expect_range(
        &mut self,
        from: u64,
        last: u64,
        expect: impl Fn(u64) -> Vec<u8>,
    ) -> Result<(), Failure> {
        let mut next = from;
        while next <= last {
            match self.next(ANSWER_WITHIN)? {
                Frame::Event(seq, bytes) => {
                    ensure(
                        seq == next,
                        &format!("TCP events {from}..={last} in order, each once"),
                        || format!("{seq} where {next} was due"),
                    )?;
                    ensure(
                        bytes == expect(seq),
                        &format!("TCP event {seq}'s own bytes"),
                        || format!("{} bytes", bytes.len()),
                    )?;
                    next += 1;
                }
                other => {
                    return Err(Failure::new(
                        format!("TCP events {from}..={last}"),
                        format!("{other:?} where {next} was due"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The stall limit of the TCP checks that do not test it: longer than any stall they make.
pub(crate) const PATIENT: Duration = Duration::from_secs(120);

/// A loopback listener on a port the system picks, served with a stall limit no check
/// reaches but the one about it.
pub(crate) fn serve<J: SpecJournal>(journal: &J) -> Result<SocketAddr, Failure> {
    serve_limited(journal, PATIENT)
}

pub(crate) fn serve_limited<J: SpecJournal>(
    journal: &J,
    limit: Duration,
) -> Result<SocketAddr, Failure> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .map_err(|e| Failure::new("a loopback listener", e.to_string()))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::new("the listener's address", e.to_string()))?;
    call("serve_tcp", journal.serve_tcp(listener, limit))?;
    Ok(addr)
}

/// The size of each event in the TCP lag check.
pub const TCP_EVENT_LEN: usize = 1024;

pub(crate) fn big_payload(seq: u64) -> Vec<u8> {
    let mut bytes = payload(seq);
    bytes.resize(TCP_EVENT_LEN, b'.');
    bytes
}

/// The subscriber queue of the checks on a [`SimDisk`]: more than they append, and small, as
/// a bounded channel's slots are made when it is.
pub(crate) const SIM_QUEUE: usize = 1024;
/// The simulated journal's directory and file in the checks that run on a [`SimDisk`].
pub const SIM_DIR: &str = "/journal";

/// A simulated disk with the journal's directory made, and the journal's path on it.
pub(crate) fn sim_disk() -> Result<(SimDisk, PathBuf), Failure> {
    let disk = SimDisk::new();
    disk.create_dir_all(Path::new(SIM_DIR))
        .map_err(|e| Failure::new("a simulated directory", e.to_string()))?;
    Ok((disk, Path::new(SIM_DIR).join("events")))
}

pub(crate) fn open_sim<T: JournalSpec>(
    imp: &T,
    disk: &SimDisk,
    path: &Path,
    durability: Durability,
) -> Result<T::Journal, Failure> {
    imp.open_on(Arc::new(disk.clone()), path, durability, SIM_QUEUE)
        .map_err(|e| {
            Failure::new(
                "the journal to open on the simulated disk",
                format!("{e:?}"),
            )
        })
}

/// Events the serving child appends before it serves.
pub(crate) const CHILD_EVENTS: u64 = 3;

/// A child process, killed and reaped however the check that started it ends.
pub(crate) struct Reaped(pub(crate) std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `command`, run by `sh` once it has lowered its open-file limit to `files`: std cannot set a
/// child's limits without `unsafe`, and `ulimit` is POSIX.
pub(crate) fn with_file_limit(command: &Command, files: u32) -> Command {
    let mut limited = Command::new("sh");
    limited
        .arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => limited.env(key, value),
            None => limited.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        limited.current_dir(dir);
    }
    limited
}

/// The address the serving child printed (`serving <address>`), among the test harness's lines.
pub(crate) fn served_at(child: &mut std::process::Child) -> Result<SocketAddr, Failure> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| Failure::new("the child's stdout", "none"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads on to the end, so that the child never blocks on a full pipe.
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // After libtest's `test … ` on the same line.
            if let Some((_, addr)) = line.split_once("serving ") {
                let _ = tx.send(addr.parse::<SocketAddr>());
            }
        }
    });
    match rx.recv_timeout(ANSWER_WITHIN) {
        Ok(Ok(addr)) => Ok(addr),
        Ok(Err(e)) => Err(Failure::new("an address after `serving `", e.to_string())),
        Err(_) => Err(Failure::new(
            "the serving child to print `serving <address>`",
            format!("nothing within {ANSWER_WITHIN:?}"),
        )),
    }
}

/// The body of the serving child of check 29: opens the journal, appends [`CHILD_EVENTS`]
/// events, serves them on a loopback listener with the implementation's own server, prints
/// `serving <address>`, and waits for its stdin to end (the check kills it first).
fn serve_child<T: JournalSpec>(imp: &T, path: &Path) {
    let Ok(journal) = imp.open(path, Durability::None, 1024) else {
        return;
    };
    if (1..=CHILD_EVENTS).any(|seq| journal.append(&payload(seq)).is_err()) {
        return;
    }
    let Ok(listener) = TcpListener::bind(("127.0.0.1", 0)) else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    if journal.serve_tcp(listener, PATIENT).is_err() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "serving {addr}")
        .and_then(|()| out.flush())
        .is_ok()
    {
        drop(out);
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    }
}

/// Opens a journal on a simulated disk with the given segment size.
pub(crate) fn open_sim_sized<T: JournalSpec>(
    imp: &T,
    disk: &SimDisk,
    path: &Path,
    durability: Durability,
    segment_size: u64,
) -> Result<T::Journal, Failure> {
    let settings = Settings {
        durability,
        subscriber_queue: SIM_QUEUE,
        segment_size,
    };
    imp.open_with(Arc::new(disk.clone()), path, settings)
        .map_err(|e| {
            Failure::new(
                "the journal to open on the simulated disk",
                format!("{e:?}"),
            )
        })
}

/// Events of [`TCP_EVENT_LEN`] bytes, 1..=`n`, appended and flushed.
pub(crate) fn append_big<J: SpecJournal>(journal: &J, n: u64) -> Result<(), Failure> {
    for seq in 1..=n {
        call("append", journal.append(&big_payload(seq)))?;
    }
    call("flush", journal.flush())
}
