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

use std::future::{pending, ready};
use std::hint::black_box;
use std::time::Duration;

use bothways_timeout_async::run;
use bothways_timeout_threads::Pool;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
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

fn runtime(mut builder: Builder) -> Runtime {
    match builder.enable_time().build() {
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

criterion_group!(benches, timeout);
criterion_main!(benches);
