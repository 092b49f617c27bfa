//! Benchmarks the journal pattern both ways: async and threads side by side in one group.
//!
//! Functions in group `journal` (ids `journal/<case>/<function>`), each on a fresh journal
//! in a temporary directory on this machine's disk:
//!
//! - `append_<size>_<policy>/*`: appends of 64 B or 1 KiB events to a long-lived journal,
//!   timed from the first append to a `flush()` returning (so the last flush counts); between
//!   samples, untimed, a prune empties the file so it stays small. `none` and `flush` have one appender;
//!   `group16` is fsync-before-return with 16 concurrent appenders sharing fsyncs. Throughput
//!   is in events: criterion prints appends per second.
//! - `append_<size>_group16/fsync_bound`: no journal, the disk alone: one write of 16 events'
//!   bytes (in place, into preallocated zeros, as the journals write) and one `fdatasync`,
//!   counted as 16 appends. It is what group commit would reach if
//!   every fsync took all 16 appenders and waking them cost nothing, measured in the same run,
//!   so the two styles can be read against this disk's fsync latency, which varies by minutes.
//! - `replay_1KiB/*`: a subscriber from sequence 1 receiving every event of a 16 MiB journal of
//!   1 KiB events, from the page cache (the file was just written). Throughput in bytes.
//! - `pause_<size>/*`: one `subscribe(1)` call on an idle journal of the given size: the time
//!   the writer stays paused (waiting for it to park, flushing, reading the file, registering).
//!
//! Async runs on a `multi_thread` runtime with two workers, the flavour a server would use.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_async as aj;
use bothways_journal_threads as tj;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

/// Appenders in the group-commit case.
const APPENDERS: u64 = 16;
/// Size of the replayed journal.
const REPLAY_BYTES: u64 = 16 << 20;

fn runtime() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("a runtime: {e}"))
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}"))
}

fn threads_options(durability: tj::Durability) -> tj::Options {
    tj::Options {
        durability,
        ..tj::Options::default()
    }
}

fn async_options(durability: aj::Durability) -> aj::Options {
    aj::Options {
        durability,
        ..aj::Options::default()
    }
}

/// A threads journal of `n` copies of `event`, written without fsync, in a fresh directory
/// (returned too: the journal lives as long as it).
fn threads_filled(event: &[u8], n: u64) -> (tempfile::TempDir, tj::Journal) {
    let dir = dir();
    let journal = tj::Journal::open(
        dir.path().join("events"),
        threads_options(tj::Durability::None),
    )
    .unwrap_or_else(|e| panic!("open: {e}"));
    for _ in 0..n {
        journal
            .append(event)
            .unwrap_or_else(|e| panic!("append: {e}"));
    }
    (dir, journal)
}

/// The same, with the async journal on `rt`.
fn async_filled(rt: &Runtime, event: &[u8], n: u64) -> (tempfile::TempDir, aj::Journal) {
    let dir = dir();
    let journal = rt.block_on(async {
        let j = aj::Journal::open(
            dir.path().join("events"),
            async_options(aj::Durability::None),
        )
        .await
        .unwrap_or_else(|e| panic!("open: {e}"));
        for _ in 0..n {
            j.append(event)
                .await
                .unwrap_or_else(|e| panic!("append: {e}"));
        }
        j
    });
    (dir, journal)
}

/// `iters` times: `appenders` events' bytes written after the last ones, then one
/// `fdatasync`, through the journal's own file layer (in place, into preallocated zeros, as
/// both writers do). The file is started afresh, untimed, every 16 MiB.
fn fsync_bound(event: &[u8], appenders: u64, iters: u64) -> Duration {
    use bothways_journal_format::{Fs, PREALLOCATE, Preallocated, Storage};
    let dir = dir();
    let path = dir.path().join("bound");
    let fresh = || {
        let file = Fs
            .open(&path, true)
            .and_then(|f| Preallocated::new(f, 0, PREALLOCATE));
        file.unwrap_or_else(|e| panic!("a file: {e}"))
    };
    let mut file = fresh();
    let bytes = event.repeat(appenders as usize);
    let mut elapsed = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        file.write_all(&bytes)
            .and_then(|()| file.sync_data())
            .unwrap_or_else(|e| panic!("write and fdatasync: {e}"));
        elapsed += start.elapsed();
        if file.len() >= 16 << 20 {
            drop(file);
            file = fresh();
        }
    }
    elapsed
}

/// `iters` appends of `event` with `appenders` threads, then a flush: the timed part. Then,
/// untimed, a prune of everything, so the file stays small however long criterion runs.
fn threads_appends(
    journal: &Arc<tj::Journal>,
    event: &[u8],
    appenders: u64,
    iters: u64,
) -> Duration {
    let per = iters.div_ceil(appenders);
    let start = Instant::now();
    if appenders == 1 {
        for _ in 0..per {
            journal
                .append(event)
                .unwrap_or_else(|e| panic!("append: {e}"));
        }
    } else {
        let workers: Vec<_> = (0..appenders)
            .map(|_| {
                let (journal, event) = (Arc::clone(journal), event.to_vec());
                thread::spawn(move || {
                    for _ in 0..per {
                        journal
                            .append(&event)
                            .unwrap_or_else(|e| panic!("append: {e}"));
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap_or_else(|_| panic!("an appender panicked"));
        }
    }
    journal.flush().unwrap_or_else(|e| panic!("flush: {e}"));
    let elapsed = start.elapsed();
    journal
        .prune(journal.next_seq() - 1)
        .unwrap_or_else(|e| panic!("prune: {e}"));
    elapsed
}

/// `iters` appends of `event` with `appenders` tasks, then a flush: the timed part. Then,
/// untimed, a prune of everything.
async fn async_appends(
    journal: &Arc<aj::Journal>,
    event: &[u8],
    appenders: u64,
    iters: u64,
) -> Duration {
    let per = iters.div_ceil(appenders);
    let start = Instant::now();
    if appenders == 1 {
        for _ in 0..per {
            journal
                .append(event)
                .await
                .unwrap_or_else(|e| panic!("append: {e}"));
        }
    } else {
        let tasks: Vec<_> = (0..appenders)
            .map(|_| {
                let (journal, event) = (Arc::clone(journal), event.to_vec());
                tokio::spawn(async move {
                    for _ in 0..per {
                        journal
                            .append(&event)
                            .await
                            .unwrap_or_else(|e| panic!("append: {e}"));
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap_or_else(|_| panic!("an appender panicked"));
        }
    }
    journal
        .flush()
        .await
        .unwrap_or_else(|e| panic!("flush: {e}"));
    let elapsed = start.elapsed();
    let last = journal.next_seq().await - 1;
    journal
        .prune(last)
        .await
        .unwrap_or_else(|e| panic!("prune: {e}"));
    elapsed
}

fn journal(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("journal");
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);

    for (size, event) in [("64B", vec![7u8; 64]), ("1KiB", vec![7u8; 1024])] {
        for (policy, t, a, appenders) in [
            ("none", tj::Durability::None, aj::Durability::None, 1),
            ("flush", tj::Durability::Flush, aj::Durability::Flush, 1),
            (
                "group16",
                tj::Durability::Append,
                aj::Durability::Append,
                APPENDERS,
            ),
        ] {
            let case = format!("append_{size}_{policy}");
            let tdir = dir();
            let tjournal = Arc::new(
                tj::Journal::open(tdir.path().join("events"), threads_options(t))
                    .unwrap_or_else(|e| panic!("open: {e}")),
            );
            let adir = dir();
            let ajournal = Arc::new(
                rt.block_on(aj::Journal::open(
                    adir.path().join("events"),
                    async_options(a),
                ))
                .unwrap_or_else(|e| panic!("open: {e}")),
            );
            if appenders > 1 {
                group.throughput(Throughput::Elements(appenders));
                group.bench_function(BenchmarkId::new(case.clone(), "fsync_bound"), |b| {
                    b.iter_custom(|iters| fsync_bound(&event, appenders, iters));
                });
            }
            group.throughput(Throughput::Elements(1));
            group.bench_function(BenchmarkId::new(case.clone(), "threads"), |b| {
                b.iter_custom(|iters| threads_appends(&tjournal, &event, appenders, iters));
            });
            group.bench_function(BenchmarkId::new(case, "async"), |b| {
                let (event, ajournal) = (&event, &ajournal);
                b.to_async(&rt).iter_custom(|iters| async move {
                    async_appends(ajournal, event, appenders, iters).await
                });
            });
        }
    }

    // Replay: one 16 MiB journal of 1 KiB events per style, replayed whole per iteration.
    let event = vec![7u8; 1024];
    let events = REPLAY_BYTES / 1024;
    let (_tdir, tjournal) = threads_filled(&event, events);
    let (_adir, ajournal) = async_filled(&rt, &event, events);
    group.throughput(Throughput::Bytes(REPLAY_BYTES));
    group.bench_function(BenchmarkId::new("replay_1KiB", "threads"), |b| {
        b.iter(|| {
            let mut sub = tjournal
                .subscribe(1)
                .unwrap_or_else(|e| panic!("subscribe: {e}"));
            for _ in 0..events {
                std::hint::black_box(sub.recv().unwrap_or_else(|e| panic!("recv: {e}")));
            }
        });
    });
    group.bench_function(BenchmarkId::new("replay_1KiB", "async"), |b| {
        b.to_async(&rt).iter(|| async {
            let mut sub = ajournal
                .subscribe(1)
                .await
                .unwrap_or_else(|e| panic!("subscribe: {e}"));
            for _ in 0..events {
                std::hint::black_box(sub.recv().await.unwrap_or_else(|e| panic!("recv: {e}")));
            }
        });
    });
    drop((tjournal, ajournal));

    // The writer's pause against journal size.
    group.throughput(Throughput::Elements(1));
    for mib in [1u64, 8, 32] {
        let case = format!("pause_{mib}MiB");
        let n = (mib << 20) / 1024;
        let (_tdir, tjournal) = threads_filled(&event, n);
        group.bench_function(BenchmarkId::new(case.clone(), "threads"), |b| {
            b.iter(|| {
                tjournal
                    .subscribe(1)
                    .unwrap_or_else(|e| panic!("subscribe: {e}"))
            });
        });
        let (_adir, ajournal) = async_filled(&rt, &event, n);
        group.bench_function(BenchmarkId::new(case, "async"), |b| {
            b.to_async(&rt).iter(|| async {
                ajournal
                    .subscribe(1)
                    .await
                    .unwrap_or_else(|e| panic!("subscribe: {e}"))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, journal);
criterion_main!(benches);
