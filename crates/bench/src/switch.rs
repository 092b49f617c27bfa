//! Switch cost: a ring of N tasks or N threads passing one token round and round, Jim Blandy's
//! context-switch method (github.com/jimblandy/context-switch): time per hop.
//!
//! Timed exactly: member 0 sends the token and waits for it to come back, round after round, for
//! a fixed *time* (not a fixed count: a quick run of a few rounds once read 4× slower than a long
//! one); every other member waits for it and passes it on. The time from member 0's first timed
//! send to its last receive, after untimed warm-up rounds (a quarter of that time, so thread
//! start-up and cold caches are not counted), divided by N × rounds, is one hop: one wake-up of a
//! sleeping unit and a hand-over. Only one unit is ever runnable, so every hop is a switch. A
//! token of 0 then goes round once to tell every member to stop.
//!
//! Three media: a one-byte write to a *pipe* (both styles make the same system calls, so the
//! difference is the kernel's thread switch against tokio's reactor and scheduler); the same
//! through a *socketpair* (`UnixStream::pair`, what Blandy's `thread-brigade` and `async-brigade`
//! actually use, so his method and ours sit on one row); and an in-process *channel* (std
//! `sync_channel` vs tokio `mpsc`: the thread still sleeps in the kernel, the task only in tokio's
//! scheduler — the seeds' "function call" claim). At N = 128 the channel ring is also run over the
//! channels a user would pick instead (crossbeam-channel, flume; async-channel, flume), so the
//! report can say what the choice of channel costs each style.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Chart, Column, Error, Experiment, Peer, Peers, Scale, Series, Style};

/// The token that keeps the ring going; [`STOP`] ends it.
const GO: u8 = 1;
/// The token that tells each member to pass it on once more and stop.
const STOP: u8 = 0;

/// Every run of a point, so the spread behind a median is on record: "runs: 812, 790, 1,030 ns".
fn runs_note(runs: &[f64]) -> String {
    let v: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    format!("runs: {} ns", v.join(", "))
}

/// What carries the token.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// assert!(ns_per_hop(Ring::Threads, Medium::Socketpair, 2, Duration::from_millis(5)).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// A one-byte write into an OS pipe.
    Pipe,
    /// A one-byte write into a Unix socketpair (Blandy's programs).
    Socketpair,
    /// A bounded in-process channel of capacity 1: std `sync_channel` for threads, tokio `mpsc`
    /// for tasks.
    Channel,
}

/// Who passes the token.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// assert!(ns_per_hop(Ring::MultiThread, Medium::Channel, 3, Duration::from_millis(5)).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    /// OS threads (64 KiB stacks).
    Threads,
    /// tokio tasks on a current_thread runtime.
    CurrentThread,
    /// tokio tasks on a two-worker multi_thread runtime.
    MultiThread,
}

impl Ring {
    fn label(self) -> &'static str {
        match self {
            Ring::Threads => "threads",
            Ring::CurrentThread => "tokio current_thread",
            Ring::MultiThread => "tokio multi_thread (2 workers)",
        }
    }
}

/// A channel crate carrying the token, for the ring against the ecosystem: the first three on
/// threads, the last three on a tokio current_thread runtime.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{channel_ns_per_hop, Chan};
/// assert!(channel_ns_per_hop(Chan::FlumeAsync, 3, Duration::from_millis(5)).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chan {
    /// `std::sync::mpsc::sync_channel(1)`, threads.
    StdMpsc,
    /// `crossbeam_channel::bounded(1)`, threads: bothways-threads' channel.
    Crossbeam,
    /// `flume::bounded(1)` with blocking `send`/`recv`, threads.
    Flume,
    /// `tokio::sync::mpsc::channel(1)`, tasks.
    TokioMpsc,
    /// `async_channel::bounded(1)`, tasks: bothways-async's channel.
    AsyncChannel,
    /// `flume::bounded(1)` with `send_async`/`recv_async`, tasks.
    FlumeAsync,
}

impl Chan {
    /// Every channel measured, threads' first.
    pub const ALL: [Chan; 6] = [
        Chan::Crossbeam,
        Chan::StdMpsc,
        Chan::Flume,
        Chan::AsyncChannel,
        Chan::TokioMpsc,
        Chan::FlumeAsync,
    ];

    fn label(self) -> &'static str {
        match self {
            Chan::StdMpsc => "threads: std mpsc",
            Chan::Crossbeam => "threads: crossbeam-channel",
            Chan::Flume => "threads: flume",
            Chan::TokioMpsc => "current_thread: tokio mpsc",
            Chan::AsyncChannel => "current_thread: async-channel",
            Chan::FlumeAsync => "current_thread: flume",
        }
    }

    fn style(self) -> Style {
        match self {
            Chan::StdMpsc | Chan::Crossbeam | Chan::Flume => Style::Threads,
            Chan::TokioMpsc | Chan::AsyncChannel | Chan::FlumeAsync => Style::Async,
        }
    }

    /// Whether bothways' own pattern crates use this channel in this style.
    fn is_bothways(self) -> bool {
        matches!(self, Chan::Crossbeam | Chan::AsyncChannel)
    }
}

/// Nanoseconds per hop for a ring of `n` members passing the token for `budget` (after a
/// quarter of it in untimed warm-up rounds; at least one round each).
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// let ns = ns_per_hop(Ring::CurrentThread, Medium::Channel, 4, Duration::from_millis(5)).unwrap();
/// assert!(ns > 0.0 && ns.is_finite());
/// ```
pub fn ns_per_hop(ring: Ring, medium: Medium, n: usize, budget: Duration) -> Result<f64, Error> {
    let n = check_ring(n)?;
    if medium != Medium::Channel {
        // Two descriptors per member (both ends of its pipe or socketpair), all open at once:
        // check the limit before creating the first, so a ring too large fails at once and
        // cleanly.
        let what = match medium {
            Medium::Pipe => "pipe",
            _ => "socketpair",
        };
        crate::proc::check_fds(&format!("a {what} ring of {n}"), 2 * n as u64)?;
    }
    let timed = match (ring, medium) {
        (Ring::Threads, Medium::Pipe) => thread_ring::<PipeLink>(n, budget)?,
        (Ring::Threads, Medium::Socketpair) => thread_ring::<SocketLink>(n, budget)?,
        (Ring::Threads, Medium::Channel) => thread_ring::<StdLink>(n, budget)?,
        (Ring::CurrentThread | Ring::MultiThread, m) => {
            let rt = crate::runtime(ring == Ring::MultiThread)?;
            match m {
                Medium::Pipe => rt.block_on(task_ring::<TokioPipeLink>(n, budget))?,
                Medium::Socketpair => rt.block_on(task_ring::<TokioSocketLink>(n, budget))?,
                Medium::Channel => rt.block_on(task_ring::<TokioMpscLink>(n, budget))?,
            }
        }
    };
    Ok(timed.ns_per_hop(n))
}

/// Nanoseconds per hop for a ring of `n` members passing the token through `chan` for `budget`
/// (threads for the blocking channels, tasks on a current_thread runtime for the async ones).
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{channel_ns_per_hop, Chan};
/// assert!(channel_ns_per_hop(Chan::Crossbeam, 3, Duration::from_millis(5)).unwrap() > 0.0);
/// ```
pub fn channel_ns_per_hop(chan: Chan, n: usize, budget: Duration) -> Result<f64, Error> {
    let n = check_ring(n)?;
    let timed = match chan {
        Chan::StdMpsc => thread_ring::<StdLink>(n, budget)?,
        Chan::Crossbeam => thread_ring::<CrossbeamLink>(n, budget)?,
        Chan::Flume => thread_ring::<FlumeLink>(n, budget)?,
        Chan::TokioMpsc => {
            crate::runtime(false)?.block_on(task_ring::<TokioMpscLink>(n, budget))?
        }
        Chan::AsyncChannel => {
            crate::runtime(false)?.block_on(task_ring::<AsyncChannelLink>(n, budget))?
        }
        Chan::FlumeAsync => {
            crate::runtime(false)?.block_on(task_ring::<FlumeAsyncLink>(n, budget))?
        }
    };
    Ok(timed.ns_per_hop(n))
}

/// Nanoseconds per hop with no switch at all: one thread writes the token into each of `n`
/// links in turn and reads it straight back (Blandy's `one-thread-brigade`), for `budget`. The
/// medium's own cost, which every hop of a ring pays on top of its switch.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::switch::{alone_ns_per_hop, Medium};
/// assert!(alone_ns_per_hop(Medium::Pipe, 4, Duration::from_millis(5)).unwrap() > 0.0);
/// ```
pub fn alone_ns_per_hop(medium: Medium, n: usize, budget: Duration) -> Result<f64, Error> {
    let n = check_ring(n)?;
    if medium != Medium::Channel {
        crate::proc::check_fds(&format!("{n} {medium:?} links"), 2 * n as u64)?;
    }
    let timed = match medium {
        Medium::Pipe => alone::<PipeLink>(n, budget)?,
        Medium::Socketpair => alone::<SocketLink>(n, budget)?,
        Medium::Channel => alone::<StdLink>(n, budget)?,
    };
    Ok(timed.ns_per_hop(n))
}

/// The label of the no-switch line.
const ALONE: &str = "one thread, no switch (the medium alone)";

fn alone<L: Link>(n: usize, budget: Duration) -> Result<Timed, Error> {
    let mut links = (0..n).map(|_| L::pair()).collect::<Result<Vec<_>, _>>()?;
    let mut clock = Clock::new(budget);
    loop {
        for (tx, rx) in &mut links {
            L::send(tx, GO)?;
            L::recv(rx)?;
        }
        if let Some(t) = clock.round_done() {
            return Ok(t);
        }
    }
}

/// At least two members, at most [`MAX_RING`].
fn check_ring(n: usize) -> Result<usize, Error> {
    let n = n.max(2);
    if n > MAX_RING {
        return Err(Error::TooLarge {
            what: "ring members".into(),
            got: n as u64,
            max: MAX_RING as u64,
        });
    }
    Ok(n)
}

/// The largest ring accepted: each member is a thread (64 KiB stack) or a task plus a pipe or
/// channel, so this bounds what a typo can ask of the machine.
pub const MAX_RING: usize = 100_000;

/// What member 0 measured: whole timed rounds and the time they took.
#[derive(Debug, Clone, Copy)]
struct Timed {
    rounds: u64,
    elapsed: Duration,
}

impl Timed {
    fn ns_per_hop(self, n: usize) -> f64 {
        self.elapsed.as_secs_f64() * 1e9 / (self.rounds.max(1) * n as u64) as f64
    }
}

/// Member 0's clock: warm-up rounds until a quarter of the budget has passed, then timed rounds
/// until the budget has; at least one of each.
struct Clock {
    budget: Duration,
    warm_until: Instant,
    start: Option<Instant>,
    rounds: u64,
}

impl Clock {
    fn new(budget: Duration) -> Clock {
        Clock {
            budget,
            warm_until: Instant::now() + budget / 4,
            start: None,
            rounds: 0,
        }
    }

    /// Called after each round; `Some` when the timed rounds are done.
    fn round_done(&mut self) -> Option<Timed> {
        let now = Instant::now();
        match self.start {
            None if now >= self.warm_until => self.start = Some(now),
            None => {}
            Some(start) => {
                self.rounds += 1;
                let elapsed = now - start;
                if elapsed >= self.budget {
                    return Some(Timed {
                        rounds: self.rounds,
                        elapsed,
                    });
                }
            }
        }
        None
    }
}

fn closed() -> Error {
    Error::Io {
        what: "ring channel".into(),
        source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
    }
}

/// One link of a thread ring: a sending and a receiving end of one token.
trait Link {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error>;
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error>;
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error>;
}

fn read_byte(r: &mut impl Read) -> Result<u8, Error> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b).map_err(Error::io("ring reading"))?;
    Ok(b[0])
}

struct PipeLink;
impl Link for PipeLink {
    type Tx = std::io::PipeWriter;
    type Rx = std::io::PipeReader;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        let (r, w) = std::io::pipe().map_err(Error::io("creating a ring pipe"))?;
        Ok((w, r))
    }
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.write_all(&[token]).map_err(Error::io("ring writing"))
    }
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        read_byte(rx)
    }
}

struct SocketLink;
impl Link for SocketLink {
    type Tx = UnixStream;
    type Rx = UnixStream;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        UnixStream::pair().map_err(Error::io("creating a ring socketpair"))
    }
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.write_all(&[token]).map_err(Error::io("ring writing"))
    }
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        read_byte(rx)
    }
}

struct StdLink;
impl Link for StdLink {
    type Tx = std::sync::mpsc::SyncSender<u8>;
    type Rx = std::sync::mpsc::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(std::sync::mpsc::sync_channel(1))
    }
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send(token).map_err(|_| closed())
    }
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv().map_err(|_| closed())
    }
}

struct CrossbeamLink;
impl Link for CrossbeamLink {
    type Tx = crossbeam_channel::Sender<u8>;
    type Rx = crossbeam_channel::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(crossbeam_channel::bounded(1))
    }
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send(token).map_err(|_| closed())
    }
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv().map_err(|_| closed())
    }
}

struct FlumeLink;
impl Link for FlumeLink {
    type Tx = flume::Sender<u8>;
    type Rx = flume::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(flume::bounded(1))
    }
    fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send(token).map_err(|_| closed())
    }
    fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv().map_err(|_| closed())
    }
}

/// A ring of `n` threads (64 KiB stacks) passing the token through `L`: member 0 is the calling
/// thread.
fn thread_ring<L: Link>(n: usize, budget: Duration) -> Result<Timed, Error> {
    let mut txs = Vec::with_capacity(n);
    let mut rxs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = L::pair()?;
        txs.push(tx);
        rxs.push(rx);
    }
    // Member i receives on link i and sends on link i + 1 (mod n).
    txs.rotate_left(1);
    let mut pairs = rxs.into_iter().zip(txs);
    let Some((mut rx0, mut tx0)) = pairs.next() else {
        return Err(closed());
    };
    let mut members = Vec::with_capacity(n);
    for (mut rx, mut tx) in pairs {
        let member = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || {
                loop {
                    let token = L::recv(&mut rx)?;
                    L::send(&mut tx, token)?;
                    if token == STOP {
                        return Ok::<(), Error>(());
                    }
                }
            })
            .map_err(Error::io("spawning a ring thread"))?;
        members.push(member);
    }
    let mut lead = || {
        let mut clock = Clock::new(budget);
        let timed = loop {
            L::send(&mut tx0, GO)?;
            L::recv(&mut rx0)?;
            if let Some(t) = clock.round_done() {
                break t;
            }
        };
        L::send(&mut tx0, STOP)?;
        L::recv(&mut rx0)?;
        Ok::<Timed, Error>(timed)
    };
    let timed = lead();
    drop((rx0, tx0)); // on error, wakes every member with EOF/EPIPE/disconnection
    let mut joined = Ok(());
    for m in members {
        let r = m.join().map_err(|_| Error::Panicked {
            what: "a ring thread".into(),
        });
        if joined.is_ok() {
            joined = r.and_then(|r| r);
        }
    }
    let timed = timed?;
    joined?;
    Ok(timed)
}

/// One link of a task ring: a sending and a receiving end of one token.
trait TaskLink {
    type Tx: Send + 'static;
    type Rx: Send + 'static;
    /// Called on the runtime: tokio's pipes and sockets register with its reactor.
    fn pair() -> Result<(Self::Tx, Self::Rx), Error>;
    fn send(tx: &mut Self::Tx, token: u8) -> impl Future<Output = Result<(), Error>> + Send;
    fn recv(rx: &mut Self::Rx) -> impl Future<Output = Result<u8, Error>> + Send;
}

struct TokioPipeLink;
impl TaskLink for TokioPipeLink {
    type Tx = tokio::net::unix::pipe::Sender;
    type Rx = tokio::net::unix::pipe::Receiver;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        tokio::net::unix::pipe::pipe().map_err(Error::io("creating a ring pipe"))
    }
    async fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.write_all(&[token])
            .await
            .map_err(Error::io("ring writing"))
    }
    async fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.read_u8().await.map_err(Error::io("ring reading"))
    }
}

struct TokioSocketLink;
impl TaskLink for TokioSocketLink {
    type Tx = tokio::net::UnixStream;
    type Rx = tokio::net::UnixStream;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        tokio::net::UnixStream::pair().map_err(Error::io("creating a ring socketpair"))
    }
    async fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.write_all(&[token])
            .await
            .map_err(Error::io("ring writing"))
    }
    async fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.read_u8().await.map_err(Error::io("ring reading"))
    }
}

struct TokioMpscLink;
impl TaskLink for TokioMpscLink {
    type Tx = tokio::sync::mpsc::Sender<u8>;
    type Rx = tokio::sync::mpsc::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(tokio::sync::mpsc::channel(1))
    }
    async fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send(token).await.map_err(|_| closed())
    }
    async fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv().await.ok_or_else(closed)
    }
}

struct AsyncChannelLink;
impl TaskLink for AsyncChannelLink {
    type Tx = async_channel::Sender<u8>;
    type Rx = async_channel::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(async_channel::bounded(1))
    }
    async fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send(token).await.map_err(|_| closed())
    }
    async fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv().await.map_err(|_| closed())
    }
}

struct FlumeAsyncLink;
impl TaskLink for FlumeAsyncLink {
    type Tx = flume::Sender<u8>;
    type Rx = flume::Receiver<u8>;
    fn pair() -> Result<(Self::Tx, Self::Rx), Error> {
        Ok(flume::bounded(1))
    }
    async fn send(tx: &mut Self::Tx, token: u8) -> Result<(), Error> {
        tx.send_async(token).await.map_err(|_| closed())
    }
    async fn recv(rx: &mut Self::Rx) -> Result<u8, Error> {
        rx.recv_async().await.map_err(|_| closed())
    }
}

/// A ring of `n` tasks passing the token through `L`, on the runtime this is awaited on.
async fn task_ring<L: TaskLink>(n: usize, budget: Duration) -> Result<Timed, Error> {
    let mut txs = Vec::with_capacity(n);
    let mut rxs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = L::pair()?;
        txs.push(tx);
        rxs.push(rx);
    }
    txs.rotate_left(1);
    let mut pairs = rxs.into_iter().zip(txs);
    let Some((mut rx0, mut tx0)) = pairs.next() else {
        return Err(closed());
    };
    let members: Vec<_> = pairs
        .map(|(mut rx, mut tx)| {
            tokio::spawn(async move {
                loop {
                    let token = L::recv(&mut rx).await?;
                    L::send(&mut tx, token).await?;
                    if token == STOP {
                        return Ok::<(), Error>(());
                    }
                }
            })
        })
        .collect();
    // Member 0 runs as a spawned task too, so on multi_thread it sits on a worker like the rest.
    let lead = tokio::spawn(async move {
        let mut clock = Clock::new(budget);
        let timed = loop {
            L::send(&mut tx0, GO).await?;
            L::recv(&mut rx0).await?;
            if let Some(t) = clock.round_done() {
                break t;
            }
        };
        L::send(&mut tx0, STOP).await?;
        L::recv(&mut rx0).await?;
        Ok::<Timed, Error>(timed)
    });
    let panicked = |what: &str| Error::Panicked { what: what.into() };
    // When the lead fails its ends are dropped with it, and each member's error follows.
    let timed = lead.await.map_err(|_| panicked("the ring lead task"));
    let mut joined = Ok(());
    for m in members {
        let r = m.await.map_err(|_| panicked("a ring task"));
        if joined.is_ok() {
            joined = r.and_then(|r| r);
        }
    }
    let timed = timed??;
    joined?;
    Ok(timed)
}

/// Runs the experiment: rings of 2 … 128 (quick: 3 runs of 50 ms per point) or 2 … 1,024 (full:
/// 5 runs of 300 ms), each point the median of its runs; then the channel crates at N = 128.
///
/// ```no_run
/// // no_run: several seconds of token passing.
/// let e = bothways_bench::switch::run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// assert_eq!(e.charts.len(), 3);
/// ```
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let (ns, budget, repeats): (&[u64], u64, usize) = match scale {
        Scale::Quick => (&[2, 16, 128], 50, 3),
        Scale::Full => (&[2, 16, 128, 1_024], 300, 5),
    };
    run_with(ns, Duration::from_millis(budget), repeats, progress)
}

/// The ring size the channel crates are compared at: 128, or the largest of `ns` below it.
fn peers_n(ns: &[u64]) -> Option<u64> {
    ns.iter().copied().filter(|&n| n <= 128).max()
}

/// The experiment at the given ring sizes: `repeats` rings per point (each built afresh), each
/// passing the token for `budget`, the point being their median; then each channel crate at
/// N = 128 (or the largest N below it). A ring that cannot be built or run (e.g. too few file
/// descriptors for its pipes) leaves that point empty with the reason as its note.
///
/// ```
/// use std::time::Duration;
/// let e = bothways_bench::switch::run_with(&[2, 8], Duration::from_millis(5), 1, &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series[0].points.len(), 2);
/// assert_eq!(e.peers.len(), 3); // pipes against socketpairs, and the channels of each style
/// ```
pub fn run_with(
    ns: &[u64],
    budget: Duration,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let repeats = repeats.max(1);
    let mut charts = Vec::new();
    let mut notes = Vec::new();
    for (medium, title) in [
        (Medium::Pipe, "Token ring through pipes"),
        (
            Medium::Socketpair,
            "Token ring through socketpairs (Blandy's programs)",
        ),
        (Medium::Channel, "Token ring through in-process channels"),
    ] {
        let mut series = Vec::new();
        for ring in [Ring::Threads, Ring::CurrentThread, Ring::MultiThread] {
            let mut points = Vec::new();
            for &n in ns {
                progress(&format!("switch {medium:?} {} N={n}", ring.label()));
                let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
                let measured =
                    crate::median_of(repeats, || ns_per_hop(ring, medium, n_usize, budget));
                let runs = measured.as_ref().ok().map(|(_, runs)| runs_note(runs));
                points.push(crate::point(n, measured.map(|(m, _)| m), runs));
            }
            let style = if ring == Ring::Threads {
                Style::Threads
            } else {
                Style::Async
            };
            series.push(Series {
                style,
                label: ring.label().into(),
                points,
            });
        }
        if medium != Medium::Channel {
            let mut points = Vec::new();
            for &n in ns {
                progress(&format!("switch {medium:?} alone N={n}"));
                let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
                let measured =
                    crate::median_of(repeats, || alone_ns_per_hop(medium, n_usize, budget));
                let runs = measured.as_ref().ok().map(|(_, runs)| runs_note(runs));
                points.push(crate::point(n, measured.map(|(m, _)| m), runs));
            }
            series.push(Series {
                style: Style::Threads,
                label: ALONE.into(),
                points,
            });
        }
        let chart = Chart {
            title: title.into(),
            x_label: "ring members (N)".into(),
            y_label: format!(
                "ns per hop (median of {repeats} runs of {} ms)",
                budget.as_millis()
            ),
            log_x: true,
            series,
        };
        for s in &chart.series {
            for p in s.points.iter().filter(|p| p.value.is_none()) {
                if let Some(why) = &p.note {
                    notes.push(format!(
                        "{medium:?} ring of {}, {}: not measured: {why}.",
                        crate::thousands(p.n),
                        s.label
                    ));
                }
            }
        }
        for &n in ns {
            let t = crate::value_at(&chart, Ring::Threads.label(), n);
            let ct = crate::value_at(&chart, Ring::CurrentThread.label(), n);
            let mt = crate::value_at(&chart, Ring::MultiThread.label(), n);
            if let (Some(t), Some(ct), Some(mt)) = (t, ct, mt) {
                notes.push(format!(
                    "{medium:?} ring of {}: a thread hop takes {t:.0} ns, a task hop {ct:.0} ns (current_thread) / {mt:.0} ns (multi_thread): threads {:.2}× / {:.2}× the task's.",
                    crate::thousands(n),
                    t / ct,
                    t / mt
                ));
            }
        }
        charts.push(chart);
    }
    notes.extend(blandy_notes(&charts, ns));
    let mut peers = Vec::new();
    peers.extend(media_peers(&charts, ns, repeats, budget));
    if let Some(n) = peers_n(ns) {
        let (tables, found) = channel_peers(n, budget, repeats, progress);
        peers.extend(tables);
        notes.extend(found);
    }
    Ok(Experiment {
        id: "switch",
        title: "Switch cost: a token ring of tasks vs threads".into(),
        claim: "A thread switch is a trip through the kernel while a task switch is little more than a function call.".into(),
        charts,
        notes,
        peers,
    })
}

/// Where Blandy's socketpairs and our pipes part, from this run's own figures: what each
/// medium costs with no switch at all, what it adds to each style's hop, and the threads ÷ task
/// ratio it gives.
fn blandy_notes(charts: &[Chart], ns: &[u64]) -> Vec<String> {
    let mut notes = Vec::new();
    let (Some(pipe), Some(sock)) = (charts.first(), charts.get(1)) else {
        return notes;
    };
    for &n in ns {
        let get = |c: &Chart, label: &str| crate::value_at(c, label, n);
        let (Some(pa), Some(sa)) = (get(pipe, ALONE), get(sock, ALONE)) else {
            continue;
        };
        let (Some(pt), Some(pc), Some(pm), Some(st), Some(sc), Some(sm)) = (
            get(pipe, Ring::Threads.label()),
            get(pipe, Ring::CurrentThread.label()),
            get(pipe, Ring::MultiThread.label()),
            get(sock, Ring::Threads.label()),
            get(sock, Ring::CurrentThread.label()),
            get(sock, Ring::MultiThread.label()),
        ) else {
            continue;
        };
        notes.push(format!(
            "Blandy's socketpairs against our pipes, ring of {}: with no switch at all, one thread's write and read of the token cost {pa:.0} ns through a pipe and {sa:.0} ns through a socketpair ({:+.0} ns). Every hop pays its medium on top of its switch: a socketpair hop costs threads {:+.0} ns, current_thread tasks {:+.0} ns and multi_thread tasks {:+.0} ns against a pipe hop (a task's hop also makes one more read, the one that finds the socket empty, and an epoll_wait). The same few microseconds added to both styles shrink threads ÷ tasks from {:.2} to {:.2} (current_thread) and from {:.2} to {:.2} (multi_thread); Blandy's async-brigade runs under #[tokio::main], a multi_thread runtime (two workers here), so his figure is the last.",
            crate::thousands(n),
            sa - pa,
            st - pt,
            sc - pc,
            sm - pm,
            pt / pc,
            st / sc,
            pt / pm,
            st / sm
        ));
    }
    notes
}

/// The channel ring at N = `n` over each channel crate: the ecosystem table of each style, each
/// crate against the one bothways uses, and a note per crate with its runs.
fn channel_peers(
    n: u64,
    budget: Duration,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> (Vec<Peers>, Vec<String>) {
    let mut values = Vec::new();
    let mut notes = Vec::new();
    for chan in Chan::ALL {
        progress(&format!("switch channel {} N={n}", chan.label()));
        let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
        match crate::median_of(repeats, || channel_ns_per_hop(chan, n_usize, budget)) {
            Ok((median, runs)) => {
                notes.push(format!(
                    "Channel ring of {n}, {}: {median:.0} ns per hop (median; {}).",
                    chan.label(),
                    runs_note(&runs)
                ));
                values.push(Some(median));
            }
            Err(e) => {
                notes.push(format!(
                    "Channel ring of {n}, {}: not measured: {e}.",
                    chan.label()
                ));
                values.push(None);
            }
        }
    }
    let value = |c: Chan| {
        Chan::ALL
            .iter()
            .position(|&x| x == c)
            .and_then(|i| values[i])
    };
    let tables = [Style::Threads, Style::Async]
        .into_iter()
        .map(|style| {
            let ours = Chan::ALL
                .into_iter()
                .find(|c| c.style() == style && c.is_bothways());
            let ours_value = ours.and_then(value);
            let ours_name = ours.map_or("", |c| crate_name(c.label()));
            Peers {
                workload: format!(
                    "Token ring of {n} {} through a bounded(1) channel (median of {repeats} runs of {} ms)",
                    if style == Style::Threads {
                        "threads"
                    } else {
                        "tasks on tokio current_thread"
                    },
                    budget.as_millis()
                ),
                columns: vec![
                    Column::figure("ns per hop"),
                    Column::ratio(&format!("÷ {ours_name}")),
                ],
                rows: Chan::ALL
                    .into_iter()
                    .filter(|c| c.style() == style)
                    .map(|c| {
                        let v = value(c);
                        Peer {
                            name: crate_name(c.label()).into(),
                            style,
                            bothways: c.is_bothways(),
                            values: vec![v, ratio(v, ours_value)],
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    (tables, notes)
}

/// "threads: flume" → "flume".
fn crate_name(label: &str) -> &str {
    label.split_once(": ").map_or(label, |(_, name)| name)
}

/// `a ÷ b`, when both were measured.
fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(a? / b?)
}

/// Blandy's medium (socketpairs) against ours (pipes) at N = 128, as an ecosystem table: his
/// method and ours on the same row for each ring, with the threads ÷ ring ratio each gives.
fn media_peers(charts: &[Chart], ns: &[u64], repeats: usize, budget: Duration) -> Option<Peers> {
    let n = peers_n(ns)?;
    let (pipe, sock) = (charts.first()?, charts.get(1)?);
    let threads = (
        crate::value_at(pipe, Ring::Threads.label(), n),
        crate::value_at(sock, Ring::Threads.label(), n),
    );
    let rows = [Ring::Threads, Ring::CurrentThread, Ring::MultiThread]
        .into_iter()
        .map(|ring| {
            let p = crate::value_at(pipe, ring.label(), n);
            let s = crate::value_at(sock, ring.label(), n);
            Peer {
                name: ring.label().into(),
                style: if ring == Ring::Threads {
                    Style::Threads
                } else {
                    Style::Async
                },
                bothways: true,
                values: vec![p, s, ratio(s, p), ratio(threads.0, p), ratio(threads.1, s)],
            }
        })
        .chain(std::iter::once({
            let (p, s) = (
                crate::value_at(pipe, ALONE, n),
                crate::value_at(sock, ALONE, n),
            );
            Peer {
                name: ALONE.into(),
                style: Style::Threads,
                bothways: false,
                values: vec![p, s, ratio(s, p), None, None],
            }
        }))
        .collect();
    Some(Peers {
        workload: format!(
            "Token ring of {n}: pipes (this experiment's) against socketpairs (Blandy's thread-brigade and async-brigade), median of {repeats} runs of {} ms",
            budget.as_millis()
        ),
        columns: vec![
            Column::figure("pipes, ns per hop"),
            Column::figure("socketpairs, ns per hop"),
            Column::ratio("socketpair ÷ pipe"),
            Column::ratio("threads ÷ this, pipes"),
            Column::ratio("threads ÷ this, socketpairs"),
        ],
        rows,
    })
}
