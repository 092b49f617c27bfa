//! Benchmarks the timeout pattern both ways: async and threads side by side in one group.
//!
//! Two questions: what a deadline costs around an operation that is ready at once, and how late
//! an operation that runs out of time is noticed.
//!
//! Functions in group `timeout` (ids `timeout/<case>/<function>`):
//!
//! - `ready/*`: an operation that completes at once under a 1 s limit — the pure overhead of
//!   putting a deadline around it. `tokio-bare` is `tokio::time::timeout` alone, the floor the
//!   async crate's `run` builds on; `threads` is one round trip through a [`Pool`] worker.
//! - `expire/*`: an operation that never finishes in time under a 1 ms limit, so each figure is
//!   the limit plus the overhead of noticing it.
//!
//! Every async case is measured on a `current_thread` and on a `multi_thread` runtime, as the
//! project runs every async check on both flavours.
//!
//! Before the group, untimed, the threads claim "no thread is spawned per call" is checked by
//! counting `/proc/self/task` around 10,000 `pool.run` calls; the result goes to stderr.
//!
//! Group `timeout-overshoot` (ids `timeout-overshoot/<case>/<function>`) asks how far past its
//! limit a deadline really ends: each figure is the time from the call to its `Elapsed`
//! *minus the limit*, measured from outside the call. Cases:
//!
//! - `fetch-silent-<limit>`: `fetch_line` against a server that accepts and never sends;
//! - `fetch-dripping-<limit>`: against one that sends a byte every 50–100 ms, never a newline,
//!   and never closes — so the threads fetch is inside a fresh read when the deadline comes;
//! - `accept-<limit>`: `accept` on a listener nobody connects to;
//!
//! each at limits of 300 ms, 1 s and 3 s, where the kernel's rounding of a socket timeout grows
//! with the timeout. Each sample is one call (flat sampling, ten samples): criterion's "time"
//! is the overshoot, and its median is the one to quote; the largest is in `sample.json`.

use std::future::{pending, ready};
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::{Duration, Instant};

use bothways_timeout_async::run;
use bothways_timeout_threads::Pool;
use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

/// The limit around a ready operation: far enough away that it never fires.
const READY_LIMIT: Duration = Duration::from_secs(1);
/// The limit around an operation that expires: short, so each iteration stays cheap.
const EXPIRE_LIMIT: Duration = Duration::from_millis(1);
/// How long an expiring threads operation would sleep if its token did not stop it.
const LONG: Duration = Duration::from_secs(60);
/// Workers in the pool and in the `multi_thread` runtime: the machine's two cores.
const WORKERS: usize = 2;
/// How many `pool.run` calls the thread-count check makes.
const CALLS: usize = 10_000;
/// The limits whose overshoot is measured.
const OVERSHOOT_LIMITS: [Duration; 3] = [
    Duration::from_millis(300),
    Duration::from_secs(1),
    Duration::from_secs(3),
];
/// The dripping server's shortest and longest pause between two bytes.
const DRIP_PAUSES: (u64, u64) = (50, 100);
/// Longer than any message either test server sends: only the deadline ends a fetch.
const MAX_LINE: usize = 1 << 20;

fn timeout(c: &mut Criterion) {
    // The pool is built once, outside any measurement: starting workers is a one-off cost that
    // `pool.run` is designed never to pay again.
    let unpooled = thread_count();
    let pool = match Pool::new(WORKERS) {
        Ok(pool) => pool,
        Err(e) => panic!("cannot start a pool of {WORKERS} workers: {e}"),
    };
    check_no_thread_per_call(&pool, unpooled);

    // Built after the thread check so their worker threads do not blur the count. Only the
    // time driver is needed: `run` and `tokio::time::timeout` both rely on it, nothing here
    // does I/O.
    let flavours = [
        ("current_thread", runtime(Builder::new_current_thread())),
        (
            "multi_thread",
            runtime({
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(WORKERS);
                builder
            }),
        ),
    ];

    let mut group = c.benchmark_group("timeout");
    // Modest times: the whole bench should finish well inside two minutes on two noisy cores.
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    // Ready. criterion's `to_async` runs the whole timed loop inside one `block_on`, so these
    // figures are per future, not per `block_on`.
    for (name, rt) in &flavours {
        group.bench_function(
            BenchmarkId::new("ready", format!("tokio-bare-{name}")),
            |b| {
                b.to_async(rt).iter(|| async {
                    black_box(
                        tokio::time::timeout(black_box(READY_LIMIT), ready(black_box(42u64))).await,
                    )
                });
            },
        );
        group.bench_function(BenchmarkId::new("ready", format!("async-{name}")), |b| {
            b.to_async(rt).iter(|| async {
                black_box(run(black_box(READY_LIMIT), ready(black_box(42u64))).await)
            });
        });
    }
    group.bench_function(BenchmarkId::new("ready", "threads"), |b| {
        // Each call is a round trip: a job boxed and sent to a worker, the answer sent back on
        // a fresh one-slot channel, the caller parked until it arrives.
        b.iter(|| black_box(pool.run(black_box(READY_LIMIT), |_| black_box(42u64))));
    });

    // Expire. Each iteration takes at least the 1 ms limit, so fewer samples still give a
    // stable estimate; criterion fills the measurement time with more iterations per sample.
    group.sample_size(30);
    for (name, rt) in &flavours {
        // `pending` never completes, so the only thing that ends it is the timer.
        group.bench_function(
            BenchmarkId::new("expire", format!("tokio-bare-{name}")),
            |b| {
                b.to_async(rt).iter(|| async {
                    black_box(tokio::time::timeout(black_box(EXPIRE_LIMIT), pending::<()>()).await)
                });
            },
        );
        group.bench_function(BenchmarkId::new("expire", format!("async-{name}")), |b| {
            b.to_async(rt)
                .iter(|| async { black_box(run(black_box(EXPIRE_LIMIT), pending::<()>()).await) });
        });
    }
    group.bench_function(BenchmarkId::new("expire", "threads"), |b| {
        // The operation cooperates through its token: `sleep` returns at the deadline, so the
        // worker is free again for the next iteration instead of sleeping the full minute.
        b.iter(|| black_box(pool.run(black_box(EXPIRE_LIMIT), |t| t.sleep(LONG))));
    });

    group.finish();
}

fn overshoot(c: &mut Criterion) {
    let silent = serve("silent", |_| Ok(()));
    let dripping = serve("dripping", drip);
    // Both drivers this time: the fetches and accepts do I/O.
    let flavours = [
        ("current_thread", io_runtime(Builder::new_current_thread())),
        (
            "multi_thread",
            io_runtime({
                let mut builder = Builder::new_multi_thread();
                builder.worker_threads(WORKERS);
                builder
            }),
        ),
    ];

    let mut group = c.benchmark_group("timeout-overshoot");
    // One call per sample, ten samples: a call lasts its whole limit, up to 3 s. criterion sizes
    // its runs by the time the routine reports, which here is only the overshoot, so the tiny
    // warm-up and measurement times still make it one warm-up call and ten measured ones (and
    // it warns that ten samples cannot fit in 1 ms: expected).
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_nanos(1));
    group.measurement_time(Duration::from_millis(1));

    for limit in OVERSHOOT_LIMITS {
        for (server, addr) in [("silent", silent), ("dripping", dripping)] {
            let case = format!("fetch-{server}-{}", label(limit));
            group.bench_function(BenchmarkId::new(&case, "threads"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let start = Instant::now();
                            let got = bothways_timeout_threads::fetch_line(addr, limit, MAX_LINE);
                            let elapsed =
                                matches!(got, Err(bothways_timeout_threads::Error::Elapsed { .. }));
                            late(start, limit, elapsed, &got)
                        })
                        .sum()
                });
            });
            for (name, rt) in &flavours {
                group.bench_function(BenchmarkId::new(&case, format!("async-{name}")), |b| {
                    b.to_async(rt).iter_custom(|iters| async move {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let start = Instant::now();
                            let got =
                                bothways_timeout_async::fetch_line(addr, limit, MAX_LINE).await;
                            let elapsed =
                                matches!(got, Err(bothways_timeout_async::Error::Elapsed { .. }));
                            total += late(start, limit, elapsed, &got);
                        }
                        total
                    });
                });
            }
        }

        let case = format!("accept-{}", label(limit));
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(listener) => listener,
            Err(e) => panic!("cannot bind a listener: {e}"),
        };
        group.bench_function(BenchmarkId::new(&case, "threads"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let start = Instant::now();
                        let got = bothways_timeout_threads::accept(&listener, limit);
                        let elapsed =
                            matches!(got, Err(bothways_timeout_threads::Error::Elapsed { .. }));
                        late(start, limit, elapsed, &got)
                    })
                    .sum()
            });
        });
        for (name, rt) in &flavours {
            group.bench_function(BenchmarkId::new(&case, format!("async-{name}")), |b| {
                b.to_async(rt).iter_custom(|iters| async move {
                    // Bound here, inside the runtime whose reactor it registers with.
                    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                        Ok(listener) => listener,
                        Err(e) => panic!("cannot bind a listener: {e}"),
                    };
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let got = bothways_timeout_async::accept(&listener, limit).await;
                        let elapsed =
                            matches!(got, Err(bothways_timeout_async::Error::Elapsed { .. }));
                        total += late(start, limit, elapsed, &got);
                    }
                    total
                });
            });
        }
    }

    group.finish();
}

/// How long after `limit` a call that started at `start` ended; it must have ended in
/// `Elapsed`, or the figure would mean something else.
fn late<T: std::fmt::Debug>(start: Instant, limit: Duration, elapsed: bool, got: &T) -> Duration {
    let took = start.elapsed();
    if !elapsed {
        panic!("expected Elapsed after {limit:?}; saw {got:?} after {took:?}");
    }
    took.saturating_sub(limit)
}

/// `300ms`, `1s`, `3s`.
fn label(limit: Duration) -> String {
    if limit.subsec_nanos() == 0 {
        format!("{}s", limit.as_secs())
    } else {
        format!("{}ms", limit.as_millis())
    }
}

/// A loopback server on its own threads that runs `script` on every connection, one thread
/// each, then reads until the client hangs up; returns its address.
fn serve(name: &str, script: fn(&mut std::net::TcpStream) -> std::io::Result<()>) -> SocketAddr {
    let bound = TcpListener::bind("127.0.0.1:0").and_then(|l| Ok((l.local_addr()?, l)));
    let (addr, listener) = match bound {
        Ok(bound) => bound,
        Err(e) => panic!("cannot start the {name} server: {e}"),
    };
    let spawned = thread::Builder::new()
        .name(format!("{name}-server"))
        .spawn(move || {
            for mut client in listener.incoming().flatten() {
                let _ = thread::Builder::new().spawn(move || {
                    if script(&mut client).is_ok() {
                        // The client never writes: this returns when it hangs up.
                        let _ = client.read_to_end(&mut Vec::new());
                    }
                });
            }
        });
    if let Err(e) = spawned {
        panic!("cannot start the {name} server: {e}");
    }
    addr
}

/// Sends one `x` every 50–100 ms, never a newline, until the client hangs up.
fn drip(client: &mut std::net::TcpStream) -> std::io::Result<()> {
    let (least, most) = DRIP_PAUSES;
    // A xorshift seeded from the client's port: varied pauses with no random-number crate.
    let mut state = u64::from(client.peer_addr()?.port()) | 1;
    loop {
        client.write_all(b"x")?;
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        thread::sleep(Duration::from_millis(least + state % (most - least + 1)));
    }
}

fn runtime(mut builder: Builder) -> Runtime {
    match builder.enable_time().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    }
}

fn io_runtime(mut builder: Builder) -> Runtime {
    match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    }
}

/// Counts the process's threads before and after [`CALLS`] `pool.run` calls, and the most seen
/// during one; `unpooled` is the count from before the pool was built, to show its workers.
///
/// A before/after difference alone would miss a thread spawned and joined inside each call, so
/// every operation also counts the threads while it runs: with a thread per call that count
/// would be one above the pool's.
fn check_no_thread_per_call(pool: &Pool, unpooled: Option<usize>) {
    let (Some(unpooled), Some(before)) = (unpooled, thread_count()) else {
        eprintln!("thread check skipped: /proc/self/task is not readable here (Linux only)");
        return;
    };
    let mut peak = before;
    let mut failed = 0usize;
    for _ in 0..CALLS {
        match pool.run(READY_LIMIT, |_| thread_count()) {
            Ok(Some(during)) => peak = peak.max(during),
            Ok(None) | Err(_) => failed += 1,
        }
    }
    let Some(after) = thread_count() else {
        eprintln!("thread check skipped: /proc/self/task became unreadable");
        return;
    };
    let difference = after as isize - before as isize;
    eprintln!(
        "thread check: {unpooled} threads before the pool of {}, {before} with it; {after} after \
         {CALLS} pool.run calls (difference {difference:+}); at most {peak} during a call; \
         {failed} calls failed",
        pool.workers(),
    );
}

/// The number of threads in this process. Read directly rather than through
/// `bothways_spec::resources::thread_count`: this crate does not depend on the suite.
fn thread_count() -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(tasks.filter(Result::is_ok).count())
}

criterion_group!(benches, timeout, overshoot);
criterion_main!(benches);
