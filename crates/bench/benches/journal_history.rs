//! The journal's costs against the size of its history, both styles in one group: the writer's
//! pause for a subscribe, the first event from the last sequence number, `open`, a streamed
//! replay of everything, and a prune that drops a gibibyte.
//!
//! Group `journal_history`, ids `<what>/<size>` with functions `threads` and `async` (a
//! two-worker multi_thread runtime). The histories are 1 KiB events, built once by
//! `bothways_bench::history` in the system's temporary directory and kept between runs: 32 MiB,
//! 1 GiB and 4 GiB. `BOTHWAYS_BENCH_SMALL=1` skips the two big ones (and replays and prunes
//! 32 MiB instead of 1 GiB), for a quick run. `pause` is the `subscribe` call, within which
//! the writer is paused: an upper bound on the pause. Memory per subscriber is measured by the
//! `journal-history` experiment (`cargo run --release -- journal-history --full`), which
//! samples the resident set during a replay.

use std::path::Path;
use std::time::{Duration, Instant};

use bothways_bench::history::{self, EVENT};
use bothways_journal_async as aj;
use bothways_journal_threads as tj;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("cannot {what}: {e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    must(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        "build a runtime",
    )
}

fn small() -> bool {
    std::env::var("BOTHWAYS_BENCH_SMALL").is_ok_and(|v| v == "1")
}

/// A fresh journal of `mib` MiB to prune, synced, so that the prune is timed alone.
fn to_prune(dir: &Path, mib: u64) -> u64 {
    let _ = std::fs::remove_dir_all(dir);
    let events = history::events_in(mib);
    let journal = must(tj::Journal::open(dir, tj::Options::default()), "open");
    let payload = vec![b'.'; EVENT];
    for _ in 0..events {
        must(journal.append(&payload), "append");
    }
    must(journal.close(), "close");
    events
}

fn journal_history(c: &mut Criterion) {
    let sizes: &[u64] = if small() { &[32] } else { &[32, 1024, 4096] };
    let root = history::root();
    let runtime = runtime();
    let mut group = c.benchmark_group("journal_history");
    group.sample_size(20);
    for &mib in sizes {
        let (path, last) = must(history::journal(&root, mib), "build a history");
        let size = format!("{mib}MiB");
        // Threads.
        let journal = must(tj::Journal::open(&path, tj::Options::default()), "open");
        group.bench_function(BenchmarkId::new(format!("pause/{size}"), "threads"), |b| {
            b.iter(|| must(journal.subscribe(last), "subscribe"));
        });
        group.bench_function(
            BenchmarkId::new(format!("first_event/{size}"), "threads"),
            |b| {
                b.iter(|| must(must(journal.subscribe(last), "subscribe").recv(), "recv"));
            },
        );
        must(journal.close(), "close");
        drop(journal);
        group.bench_function(BenchmarkId::new(format!("open/{size}"), "threads"), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    let journal = must(tj::Journal::open(&path, tj::Options::default()), "open");
                    spent += start.elapsed();
                    must(journal.close(), "close");
                }
                spent
            });
        });
        // Async.
        let journal = must(
            runtime.block_on(aj::Journal::open(&path, aj::Options::default())),
            "open",
        );
        group.bench_function(BenchmarkId::new(format!("pause/{size}"), "async"), |b| {
            b.to_async(&runtime)
                .iter(|| async { must(journal.subscribe(last).await, "subscribe") });
        });
        group.bench_function(
            BenchmarkId::new(format!("first_event/{size}"), "async"),
            |b| {
                b.to_async(&runtime).iter(|| async {
                    let mut sub = must(journal.subscribe(last).await, "subscribe");
                    must(sub.recv().await, "recv")
                });
            },
        );
        must(runtime.block_on(journal.close()), "close");
        drop(journal);
        group.bench_function(BenchmarkId::new(format!("open/{size}"), "async"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let path = path.clone();
                async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let start = Instant::now();
                        let journal = must(
                            aj::Journal::open(&path, aj::Options::default()).await,
                            "open",
                        );
                        spent += start.elapsed();
                        must(journal.close().await, "close");
                    }
                    spent
                }
            });
        });
    }
    // A streamed replay of everything, from the first event.
    let replayed = if small() { 32 } else { 1024 };
    let (path, last) = must(history::journal(&root, replayed), "build a history");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(last * (EVENT as u64 + 20)));
    let id = format!("replay/{replayed}MiB");
    let journal = must(tj::Journal::open(&path, tj::Options::default()), "open");
    group.bench_function(BenchmarkId::new(id.clone(), "threads"), |b| {
        b.iter(|| {
            let mut sub = must(journal.subscribe(1), "subscribe");
            for _ in 0..last {
                must(sub.recv(), "recv");
            }
        });
    });
    must(journal.close(), "close");
    drop(journal);
    let journal = must(
        runtime.block_on(aj::Journal::open(&path, aj::Options::default())),
        "open",
    );
    group.bench_function(BenchmarkId::new(id, "async"), |b| {
        b.to_async(&runtime).iter(|| async {
            let mut sub = must(journal.subscribe(1).await, "subscribe");
            for _ in 0..last {
                must(sub.recv().await, "recv");
            }
        });
    });
    must(runtime.block_on(journal.close()), "close");
    drop(journal);
    // A prune dropping all but the last segment of a fresh journal, built untimed each time.
    let dir = root.join(format!("prune-bench-{replayed}MiB"));
    group.throughput(Throughput::Elements(1));
    let id = format!("prune/{replayed}MiB");
    group.bench_function(BenchmarkId::new(id.clone(), "threads"), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let events = to_prune(&dir, replayed);
                let journal = must(tj::Journal::open(&dir, tj::Options::default()), "open");
                let start = Instant::now();
                must(journal.prune(events - 1), "prune");
                spent += start.elapsed();
                must(journal.close(), "close");
            }
            spent
        });
    });
    group.bench_function(BenchmarkId::new(id, "async"), |b| {
        b.to_async(&runtime).iter_custom(|iters| {
            let dir = dir.clone();
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let events = to_prune(&dir, replayed);
                    let journal = must(
                        aj::Journal::open(&dir, aj::Options::default()).await,
                        "open",
                    );
                    let start = Instant::now();
                    must(journal.prune(events - 1).await, "prune");
                    spent += start.elapsed();
                    must(journal.close().await, "close");
                }
                spent
            }
        });
    });
    let _ = std::fs::remove_dir_all(&dir);
    group.finish();
}

criterion_group!(benches, journal_history);
criterion_main!(benches);
