//! C10K: an echo server with a thread per connection against one with a tokio task per
//! connection, under 1k, 5k and 10k concurrent loopback clients.
//!
//! The server runs in a child process (this binary re-executed with a hidden argument, see
//! [`crate::child_main`]): its resident memory is then its own, read from /proc/<pid>/status, and
//! server and clients do not share one file-descriptor limit (10k connections need 10k descriptors
//! on each side; the limit, "Max open files" in /proc/self/limits, is read at run time, checked
//! before a run starts and stated in the findings). The clients are tokio tasks in the parent, on one two-worker
//! runtime, identical for both servers so the client side costs the same.
//!
//! Measured exactly:
//! - *memory per connection*: the server's VmRSS once every client has connected and completed one
//!   echo (so every handler exists and has run), minus its VmRSS before the first connection,
//!   divided by the clients. Socket buffers live in the kernel and are not in VmRSS.
//! - *throughput*: all clients then run round trips, all at once, for a fixed time (`phase`; at
//!   most `echoes` each), each finishing the one it has started; echoes completed
//!   divided by the wall time from the start of that phase to the last client's last echo.
//! - *latency*: each round trip (write `message` bytes, read them all back) timed on its client;
//!   p50 and p99 over all of them. The loop is closed (each client sends its next echo as soon as
//!   the last one is back), so these are latencies at saturation: on average about clients divided
//!   by throughput (Little's law), and the percentiles show how fairly the server shares itself.
//!
//! Bounded: clients connect at most `connect_batch` at a time (a burst beyond the listen backlog
//! makes loopback SYNs retry after a second), every client does a fixed number of echoes, the whole
//! client phase has a deadline, and the server child is killed and reaped on every path (a guard
//! whose `Drop` kills and waits), after a grace period when it does not exit once its stdin is
//! closed.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Chart, Error, Experiment, Point, Scale, Series, Style, proc};

/// The load the clients put on the server.
///
/// ```
/// let load = bothways_bench::c10k::Load::new(20, 10);
/// assert_eq!((load.clients, load.echoes), (20, 10));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Concurrent connections.
    pub clients: usize,
    /// Round trips per client in the measured phase, at most.
    pub echoes: usize,
    /// How long each client starts round trips in the measured phase; `None`: until it has
    /// done `echoes`. A time, not a count, so a short run and a long one measure alike.
    pub phase: Option<Duration>,
    /// Bytes per echo.
    pub message: usize,
    /// Connections opened at most at once.
    pub connect_batch: usize,
    /// Deadline for the whole client phase (connect, warm-up echo, measured echoes).
    pub deadline: Duration,
}

impl Load {
    /// `clients` clients doing `echoes` echoes of 64 bytes, connecting 100 at a time (below std's
    /// listen backlog of 128), with a deadline of 30 s plus 20 ms per client.
    ///
    /// ```
    /// assert_eq!(bothways_bench::c10k::Load::new(1, 1).message, 64);
    /// ```
    pub fn new(clients: usize, echoes: usize) -> Load {
        let per_client = u32::try_from(clients).unwrap_or(u32::MAX);
        Load {
            clients,
            echoes,
            phase: None,
            message: 64,
            connect_batch: 100,
            deadline: Duration::from_secs(30)
                .saturating_add(Duration::from_millis(20).saturating_mul(per_client)),
        }
    }
}

/// What one run against one server measured.
///
/// ```
/// use bothways_bench::{c10k::Sample, Style};
/// let s = Sample {
///     server: Style::Threads, clients: 100, rss_base_kib: 2_000, rss_loaded_kib: 3_000,
///     kernel_stack_kib_per_conn: 16.0, echoes_done: 5_000, echoes_per_sec: 40_000.0,
///     p50_us: 900.0, p99_us: 4_000.0, failure: None,
/// };
/// assert_eq!(s.rss_kib_per_conn(), 10.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The server's style.
    pub server: Style,
    /// Clients asked for.
    pub clients: usize,
    /// Server VmRSS before the first connection, KiB.
    pub rss_base_kib: u64,
    /// Server VmRSS with every client connected and echoed once, KiB (0 if never reached).
    pub rss_loaded_kib: u64,
    /// Growth of the machine's kernel stacks (/proc/meminfo KernelStack) over the same interval,
    /// per connection, KiB: a thread's kernel-side stack, which VmRSS does not count (system-wide,
    /// so other processes add noise).
    pub kernel_stack_kib_per_conn: f64,
    /// Round trips completed and verified in the measured phase.
    pub echoes_done: u64,
    /// Echoes per second in the measured phase.
    pub echoes_per_sec: f64,
    /// Median round trip, µs.
    pub p50_us: f64,
    /// 99th-percentile round trip, µs.
    pub p99_us: f64,
    /// Why the run did not complete (a client's I/O error or the deadline), with the server's
    /// stderr (e.g. its thread-spawn failure); `None` when every echo came back.
    pub failure: Option<String>,
}

impl Sample {
    /// Resident memory per connection, KiB: the growth from base to loaded over the clients (0
    /// if the server shrank or was never loaded).
    ///
    /// ```
    /// use bothways_bench::{c10k::Sample, Style};
    /// let mut s = Sample {
    ///     server: Style::Async, clients: 4, rss_base_kib: 100, rss_loaded_kib: 120,
    ///     kernel_stack_kib_per_conn: 0.0, echoes_done: 0, echoes_per_sec: 0.0,
    ///     p50_us: 0.0, p99_us: 0.0, failure: None,
    /// };
    /// assert_eq!(s.rss_kib_per_conn(), 5.0);
    /// s.rss_loaded_kib = 90;
    /// assert_eq!(s.rss_kib_per_conn(), 0.0);
    /// ```
    pub fn rss_kib_per_conn(&self) -> f64 {
        self.rss_loaded_kib.saturating_sub(self.rss_base_kib) as f64 / self.clients.max(1) as f64
    }
}

/// Starts `exe` as an echo server of style `server` and drives `load` against it. `exe` must call
/// [`crate::child_main`] first in its main.
///
/// Connection errors and the deadline end in a [`Sample`] with `failure` set (a limit reached is
/// a finding); a wrong echo, or a server that does not start, is an [`Error`].
///
/// ```no_run
/// // no_run: needs a binary that calls child_main; the crate's tests use bothways-bench's.
/// use bothways_bench::{c10k, Style};
/// let exe = std::path::Path::new("target/release/bothways-bench");
/// let s = c10k::measure(exe, Style::Async, &c10k::Load::new(100, 50)).unwrap();
/// println!("{:.0} echoes/s", s.echoes_per_sec);
/// ```
pub fn measure(exe: &Path, server: Style, load: &Load) -> Result<Sample, Error> {
    // Bounded before anything starts: the latency vector is sized from clients × echoes.
    let total = load
        .clients
        .checked_mul(load.echoes)
        .ok_or(Error::TooLarge {
            what: "clients × echoes".into(),
            got: u64::MAX,
            max: usize::MAX as u64,
        })?;
    if load.clients > MAX_CLIENTS {
        return Err(Error::TooLarge {
            what: "clients".into(),
            got: load.clients as u64,
            max: MAX_CLIENTS as u64,
        });
    }
    // One descriptor per client here, and the server child inherits the same limit and needs one
    // per connection: fail at once and name the limit rather than midway through connecting.
    crate::proc::check_fds(
        &format!("{} loopback clients", load.clients),
        load.clients as u64 + 64,
    )?;
    let rt = crate::runtime(true)?;
    // The guard kills and reaps the server on every path out of this function, `?` included.
    let mut guard = crate::child::Guard::start(exe, &["c10k-server", &server.to_string()])?;
    let child_err = |detail: &str| Error::Child {
        role: format!("c10k-server {server}"),
        detail: detail.into(),
    };
    let pid = guard.id().ok_or_else(|| child_err("exited at once"))?;
    let line = guard.first_line(Duration::from_secs(10))?;
    let Ok(port) = line.trim().parse::<u16>() else {
        let (_, said) = guard.finish(); // e.g. the server's own error on exiting early
        return Err(child_err(&format!(
            "printed {line:?}, not a port; stderr: {}",
            said.trim()
        )));
    };
    let base = proc::rss_kib(Some(pid))?;
    let kstack_base = proc::kernel_stack_kib()?;
    let mut sample = Sample {
        server,
        clients: load.clients,
        rss_base_kib: base,
        rss_loaded_kib: 0,
        kernel_stack_kib_per_conn: 0.0,
        echoes_done: 0,
        echoes_per_sec: 0.0,
        p50_us: 0.0,
        p99_us: 0.0,
        failure: None,
    };
    // The timeout is built inside the runtime: its timer needs the runtime's context.
    let outcome = rt.block_on(async {
        tokio::time::timeout(
            load.deadline,
            drive(port, pid, kstack_base, load, total, &mut sample),
        )
        .await
    });
    // The clients' sockets close with the runtime; then closing its stdin tells the server to exit.
    drop(rt);
    drop(guard.take_stdin());
    let exited = guard.wait_timeout(Duration::from_secs(5))?;
    let (_, server_said) = guard.finish(); // kills it first if it did not exit, then reaps it
    let server_said = server_said.trim();
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e @ Error::EchoMismatch { .. })) => return Err(e),
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("clients not done after {:?}", load.deadline)),
    };
    let failure = match (failure, exited) {
        (f, Some(_)) => f,
        (None, None) => Some("the server did not exit within 5 s of its stdin closing".into()),
        (Some(f), None) => Some(f),
    };
    sample.failure = failure.map(|f| {
        if server_said.is_empty() {
            f
        } else {
            format!("{f}; server: {server_said}")
        }
    });
    Ok(sample)
}

/// The most clients one run accepts: bounds what a typo can ask of the machine (the issue's top
/// figure is 10,000).
pub const MAX_CLIENTS: usize = 100_000;

/// The bytes client `client` sends in echo `echo`: distinct per client and echo, so a mixed-up
/// reply is caught.
fn message(client: usize, echo: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (client.wrapping_mul(31) ^ echo.wrapping_mul(7) ^ i) as u8)
        .collect()
}

async fn echo_once(s: &mut TcpStream, client: usize, echo: usize, len: usize) -> Result<(), Error> {
    let out = message(client, echo, len);
    s.write_all(&out)
        .await
        .map_err(Error::io(format!("client {client} writing")))?;
    let mut back = vec![0u8; len];
    s.read_exact(&mut back)
        .await
        .map_err(Error::io(format!("client {client} reading echo {echo}")))?;
    if back != out {
        return Err(Error::EchoMismatch { client, echo });
    }
    Ok(())
}

async fn drive(
    port: u16,
    pid: u32,
    kstack_base: u64,
    load: &Load,
    total: usize,
    sample: &mut Sample,
) -> Result<(), Error> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let len = load.message;
    // Phase 1: connect (at most connect_batch at once) and echo once, so every handler exists.
    let gate = Arc::new(tokio::sync::Semaphore::new(load.connect_batch.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for c in 0..load.clients {
        let gate = gate.clone();
        set.spawn(async move {
            // The semaphore is never closed, so acquire only fails if it were: treat as an error.
            let _permit = gate.acquire_owned().await.map_err(|_| Error::Panicked {
                what: "connect gate".into(),
            })?;
            let mut s = TcpStream::connect(addr)
                .await
                .map_err(Error::io(format!("client {c} connecting")))?;
            s.set_nodelay(true)
                .map_err(Error::io("setting TCP_NODELAY"))?;
            echo_once(&mut s, c, 0, len).await?;
            Ok::<_, Error>((c, s))
        });
    }
    let mut streams = Vec::with_capacity(load.clients); // <= MAX_CLIENTS, checked by `measure`
    while let Some(r) = set.join_next().await {
        streams.push(r.map_err(|_| Error::Panicked {
            what: "a client".into(),
        })??);
    }
    sample.rss_loaded_kib = proc::rss_kib(Some(pid))?;
    let kstack = proc::kernel_stack_kib()?.saturating_sub(kstack_base);
    sample.kernel_stack_kib_per_conn = kstack as f64 / load.clients.max(1) as f64;
    // Phase 2: every client runs its echoes, all at once.
    let (echoes, phase) = (load.echoes, load.phase);
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for (c, mut s) in streams {
        set.spawn(async move {
            // Capped: `echoes` is the caller's, and a vector grows by itself past this.
            let mut lat = Vec::with_capacity(echoes.min(1 << 16));
            for e in 1..=echoes {
                if phase.is_some_and(|p| start.elapsed() >= p) {
                    break;
                }
                let t = Instant::now();
                echo_once(&mut s, c, e, len).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e6);
            }
            Ok::<_, Error>(lat)
        });
    }
    let mut all = Vec::with_capacity(total.min(1 << 20));
    while let Some(r) = set.join_next().await {
        all.extend(r.map_err(|_| Error::Panicked {
            what: "a client".into(),
        })??);
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
    };
    sample.echoes_done = all.len() as u64;
    sample.echoes_per_sec = all.len() as f64 / secs.max(f64::MIN_POSITIVE);
    sample.p50_us = pct(0.50).unwrap_or(0.0);
    sample.p99_us = pct(0.99).unwrap_or(0.0);
    Ok(())
}

/// The child role `c10k-server <threads|async>`: prints its port, echoes until its stdin closes.
pub(crate) fn child(args: &[String]) -> Result<(), Error> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(Error::io("binding the echo server"))?;
    let port = listener
        .local_addr()
        .map_err(Error::io("the echo server's address"))?
        .port();
    let rt = match args.first().map(String::as_str) {
        Some("threads") => {
            std::thread::Builder::new()
                .spawn(move || threads_server(listener))
                .map_err(Error::io("spawning the accept thread"))?;
            None
        }
        Some("async") => {
            let rt = crate::runtime(true)?;
            listener
                .set_nonblocking(true)
                .map_err(Error::io("making the listener non-blocking"))?;
            let listener = {
                let _guard = rt.enter(); // from_std registers with this runtime's reactor
                tokio::net::TcpListener::from_std(listener)
                    .map_err(Error::io("registering the listener"))?
            };
            rt.spawn(async_server(listener));
            Some(rt)
        }
        _ => {
            return Err(Error::Child {
                role: format!("c10k-server {}", args.join(" ")),
                detail: "bad arguments".into(),
            });
        }
    };
    println!("{port}");
    std::io::stdout()
        .flush()
        .map_err(Error::io("printing the port"))?;
    // The parent closes our stdin to stop us; exiting the process ends every handler at once.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    if let Some(rt) = rt {
        rt.shutdown_background();
    }
    Ok(())
}

/// Threads: one accept loop, one thread (Rust's default 2 MiB stack) per connection.
fn threads_server(listener: std::net::TcpListener) {
    let mut count = 0u64;
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // e.g. out of descriptors: say so, and do not spin while it lasts.
                eprintln!(
                    "accept failed after {} connections: {e}",
                    crate::thousands(count)
                );
                std::thread::sleep(std::time::Duration::from_millis(10));
                continue;
            }
        };
        count += 1;
        let spawned = std::thread::Builder::new().spawn(move || {
            let _ = stream.set_nodelay(true);
            let mut s = stream;
            let mut buf = [0u8; 1024];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        if let Err(e) = spawned {
            // The connection is dropped (its client sees EOF); said once, then keep serving.
            eprintln!(
                "thread spawn failed at connection {}: {e}",
                crate::thousands(count)
            );
        }
    }
}

/// Async: one accept loop, one task per connection on a two-worker runtime.
async fn async_server(listener: tokio::net::TcpListener) {
    loop {
        let mut s = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 1024];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

/// Runs the experiment: 200 / 1,000 clients (quick, echoing for 1 s) or 1,000 / 5,000 / 10,000
/// (full, 2 s), 3 runs per point, against a server started from `std::env::current_exe()`.
/// Both include 1,000 clients, so a quick figure can be read against a full one.
///
/// ```no_run
/// // no_run: re-executes the current binary, which must call child_main (a doc test does not).
/// let e = bothways_bench::c10k::run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// ```
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let exe = std::env::current_exe().map_err(Error::io("finding the current executable"))?;
    let (ns, phase): (&[usize], u64) = match scale {
        Scale::Quick => (&[200, 1_000], 1),
        Scale::Full => (&[1_000, 5_000, 10_000], 2),
    };
    // The count only bounds the phase: no client gets near it in that time.
    let load = |n| Load {
        phase: Some(Duration::from_secs(phase)),
        ..Load::new(n, MAX_ECHOES)
    };
    run_loads(&exe, ns, &load, 3, progress)
}

/// Round trips per client at most when the phase is timed.
const MAX_ECHOES: usize = 100_000;

/// The experiment at the given client counts, `echoes` round trips per client, `repeats` runs
/// (each with a fresh server) per point, servers started from `exe` (see [`measure`]). Each figure
/// is the median of the runs that completed; a point none of whose runs completed is empty, its
/// note saying why (e.g. the descriptor limit).
///
/// ```no_run
/// // no_run: needs a binary that calls child_main (see `measure`).
/// let exe = std::path::Path::new("target/release/bothways-bench");
/// let e = bothways_bench::c10k::run_with(exe, &[20], 5, 3, &mut |_| {}).unwrap();
/// ```
pub fn run_with(
    exe: &Path,
    ns: &[usize],
    echoes: usize,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    run_loads(exe, ns, &|n| Load::new(n, echoes), repeats, progress)
}

/// The experiment with the load `load(n)` at each client count.
fn run_loads(
    exe: &Path,
    ns: &[usize],
    load: &dyn Fn(usize) -> Load,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let repeats = repeats.max(1);
    let styles = [
        (Style::Threads, "threads: thread per connection"),
        (Style::Async, "async: task per connection"),
    ];
    let mut figures: [Vec<Vec<Point>>; 4] = Default::default();
    let mut notes = Vec::new();
    match proc::open_files_limit()? {
        Some(limit) => notes.push(format!(
            "\"Max open files\" (/proc/self/limits) is {} for the clients' process and for the server it starts: a run needs one descriptor per client on each side.",
            crate::thousands(limit)
        )),
        None => notes.push("\"Max open files\" (/proc/self/limits) is unlimited.".into()),
    }
    for (style, label) in styles {
        let mut per: [Vec<Point>; 4] = Default::default();
        for &n in ns {
            let mut ok = Vec::new();
            let mut failures = Vec::new();
            for run in 1..=repeats {
                progress(&format!("c10k {style} {n} clients, run {run} of {repeats}"));
                // A failed run (limit, deadline, server error) is recorded, never fatal to the rest.
                match measure(exe, style, &load(n)) {
                    Ok(s) if s.failure.is_none() => ok.push(s),
                    Ok(s) => failures.push(s.failure.unwrap_or_default()),
                    Err(e @ Error::EchoMismatch { .. }) => return Err(e),
                    Err(e) => failures.push(e.to_string()),
                }
            }
            let med = |f: &dyn Fn(&Sample) -> f64| {
                let mut v: Vec<f64> = ok.iter().map(f).collect();
                v.sort_by(f64::total_cmp);
                v.get(v.len() / 2).copied()
            };
            let values = [
                med(&|s| s.rss_kib_per_conn()),
                med(&|s| s.echoes_per_sec),
                med(&|s| s.p50_us),
                med(&|s| s.p99_us),
            ];
            let failed = failures.len();
            failures.dedup(); // the same limit hit k times is said once
            let note = (failed > 0).then(|| {
                format!(
                    "{failed} of {repeats} runs failed: {}",
                    failures.join(" | ")
                )
            });
            for (k, v) in values.into_iter().enumerate() {
                per[k].push(Point {
                    n: n as u64,
                    value: v,
                    note: note.clone(),
                });
            }
            if let [Some(rss), Some(tput), Some(p50), Some(p99)] = values {
                let kstack = med(&|s| s.kernel_stack_kib_per_conn).unwrap_or(0.0);
                let tputs: Vec<String> = ok
                    .iter()
                    .map(|s| format!("{:.0}", s.echoes_per_sec))
                    .collect();
                notes.push(format!(
                    "{label}, {} clients (median of {} runs): {rss:.1} KiB resident per connection (plus {kstack:.1} KiB of kernel stacks, machine-wide, noisy), {tput:.0} echoes/s (runs: {}), p50 {p50:.0} µs, p99 {p99:.0} µs.",
                    crate::thousands(n as u64),
                    ok.len(),
                    tputs.join(", ")
                ));
            }
            if let Some(f) = note {
                notes.push(format!(
                    "{label}, {} clients: {f}",
                    crate::thousands(n as u64)
                ));
            }
        }
        for (k, points) in per.into_iter().enumerate() {
            figures[k].push(points);
        }
    }
    let titles = [
        (
            "Server resident memory per connection",
            "KiB per connection (server VmRSS growth / clients)",
        ),
        ("Echo throughput", "echoes per second"),
        ("Echo round trip, median", "µs (p50)"),
        ("Echo round trip, 99th percentile", "µs (p99)"),
    ];
    let charts = figures
        .into_iter()
        .zip(titles)
        .map(|(lines, (title, y))| Chart {
            title: title.into(),
            x_label: "concurrent loopback clients (N)".into(),
            y_label: format!("{y}, median of {repeats} runs"),
            log_x: true,
            series: lines
                .into_iter()
                .zip(styles)
                .map(|(points, (style, label))| Series {
                    style,
                    label: label.into(),
                    points,
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    if let Some(&n) = ns.last() {
        let get = |k: usize, label: &str| crate::value_at(&charts[k], label, n as u64);
        if let (Some(tm), Some(am), Some(tt), Some(at)) = (
            get(0, styles[0].1),
            get(0, styles[1].1),
            get(1, styles[0].1),
            get(1, styles[1].1),
        ) {
            notes.insert(
                0,
                format!(
                    "At {} clients the thread-per-connection server holds {:.1}× the async server's resident memory per connection and moves {:.2}× its echoes per second (medians).",
                    crate::thousands(n as u64),
                    tm / am.max(f64::MIN_POSITIVE),
                    tt / at.max(f64::MIN_POSITIVE)
                ),
            );
        }
    }
    Ok(Experiment {
        id: "c10k",
        title: "C10K: echo server, thread per connection vs async".into(),
        claim: "Fire up a thread per connection and your computer will grind to a halt at 10,000 connections.".into(),
        charts,
        notes,
        peers: Vec::new(),
    })
}
