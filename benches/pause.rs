//! Benchmarks the pause pattern both ways: async and threads side by side in one group.
//!
//! Two questions: how long a caller waits from asking for a pause to holding the guard, and
//! what being pausable costs a worker that is never paused.
//!
//! Functions in group `pause` (ids `pause/<case>/<function>`):
//!
//! - `latency/*`: one `pause()` and the guard dropped, while a producer floods the worker with
//!   short items — the time to reach a safe point and hear the acknowledgement. Each sample
//!   first waits for the worker to do one more item, so the pause is always asked of a running
//!   worker. Before the group, 10,000 such pauses per implementation give the median and p99
//!   on stderr (criterion reports means and medians of batches, not a p99).
//! - `throughput/*`: 10,000 items through a worker, from spawn to drained. `bare` is the plain
//!   loop the pattern replaces (`for item in rx` on a thread; `while let Ok(item) =
//!   rx.recv().await` on a task); `pausable` is this project's `Worker`, never paused. The
//!   ratio is the cost of being pausable.
//!
//! Every async case is measured on a `current_thread` and on a `multi_thread` runtime.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bothways_pause_async::async_channel;
use bothways_pause_threads::crossbeam_channel;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

/// Items per throughput iteration.
const ITEMS: u64 = 10_000;
/// Pauses in the untimed p99 pass.
const PAUSES: usize = 10_000;
/// Input capacity everywhere.
const CAPACITY: usize = 64;
/// Worker threads of the `multi_thread` runtime: the machine's two cores.
const WORKERS: usize = 2;

/// The per-item side effect: a little arithmetic that cannot be optimised away, about the
/// cost of appending a small event to an in-memory journal.
fn effect(item: u64) {
    let mut h = item;
    for _ in 0..16 {
        h = h.rotate_left(5) ^ h.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    black_box(h);
}

/// A producer thread that sends items to `send` until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Flood {
    fn start(send: impl Fn(u64) -> bool + Send + 'static) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) && send(n) {
                    n += 1;
                }
            })
        };
        Flood {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn pause(c: &mut Criterion) {
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

    let mut group = c.benchmark_group("pause");
    // Modest times: the whole bench should finish in a few minutes on two noisy cores.
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));

    // Latency, threads. Each sample first waits until the worker has done another item, so
    // every pause is asked of a worker that is running, never of one still parked from the
    // previous sample (which would answer at once).
    {
        let done = Arc::new(AtomicU64::new(0));
        let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
        let worker = {
            let done = Arc::clone(&done);
            match bothways_pause_threads::Worker::spawn(rx, move |n| {
                effect(n);
                done.fetch_add(1, Ordering::Relaxed);
            }) {
                Ok(worker) => worker,
                Err(e) => panic!("cannot start the threads worker: {e}"),
            }
        };
        let flood = Flood::start(move |n| tx.send(n).is_ok());
        let one = || {
            let seen = done.load(Ordering::Relaxed);
            while done.load(Ordering::Relaxed) == seen {
                thread::yield_now();
            }
            let asked = Instant::now();
            let guard = worker.pause();
            let took = asked.elapsed();
            drop(black_box(guard));
            took
        };
        report("threads", (0..PAUSES).map(|_| one()).collect());
        group.bench_function(BenchmarkId::new("latency", "threads"), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| one()).sum());
        });
        drop(flood);
        let _ = worker.join();
    }

    // Latency, async. `pause()` is awaited on the runtime the worker runs on, as an
    // application task would; the producer is a plain thread using the blocking send.
    for (name, rt) in &flavours {
        let done = Arc::new(AtomicU64::new(0));
        let (tx, rx) = async_channel::bounded(CAPACITY);
        let worker = {
            let _inside = rt.enter();
            let done = Arc::clone(&done);
            match bothways_pause_async::Worker::spawn(rx, move |n| {
                let done = Arc::clone(&done);
                async move {
                    effect(n);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }) {
                Ok(worker) => worker,
                Err(e) => panic!("cannot start the async worker: {e}"),
            }
        };
        // Closing the input is what stops a producer blocked on a full input once nothing
        // drives a current_thread runtime any more.
        let closer = tx.clone();
        let flood = Flood::start(move |n| tx.send_blocking(n).is_ok());
        let handle = worker.handle();
        let one = || async {
            let seen = done.load(Ordering::Relaxed);
            while done.load(Ordering::Relaxed) == seen {
                // On a current_thread runtime this is what lets the worker task run at all.
                tokio::task::yield_now().await;
            }
            let asked = Instant::now();
            let guard = handle.pause().await;
            let took = asked.elapsed();
            drop(black_box(guard));
            took
        };
        rt.block_on(async {
            let mut took = Vec::with_capacity(PAUSES);
            for _ in 0..PAUSES {
                took.push(one().await);
            }
            report(&format!("async-{name}"), took);
        });
        group.bench_function(BenchmarkId::new("latency", format!("async-{name}")), |b| {
            b.to_async(rt).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += one().await;
                }
                total
            });
        });
        closer.close();
        drop(flood);
        let _ = rt.block_on(worker.join());
    }

    // Throughput, threads: the bare loop against the pausable worker.
    group.bench_function(BenchmarkId::new("throughput", "threads-bare"), |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
            let worker = thread::spawn(move || {
                for item in rx {
                    effect(item);
                }
            });
            for n in 0..ITEMS {
                let _ = tx.send(n);
            }
            drop(tx);
            let _ = worker.join();
        });
    });
    group.bench_function(BenchmarkId::new("throughput", "threads-pausable"), |b| {
        b.iter(|| {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
            let worker = match bothways_pause_threads::Worker::spawn(rx, effect) {
                Ok(worker) => worker,
                Err(e) => panic!("cannot start the threads worker: {e}"),
            };
            for n in 0..ITEMS {
                let _ = tx.send(n);
            }
            drop(tx);
            let _ = worker.join();
        });
    });

    // Throughput, async: the same, with the producer a task on the same runtime.
    for (name, rt) in &flavours {
        group.bench_function(
            BenchmarkId::new("throughput", format!("async-bare-{name}")),
            |b| {
                b.to_async(rt).iter(|| async {
                    let (tx, rx) = async_channel::bounded::<u64>(CAPACITY);
                    let worker = tokio::spawn(async move {
                        while let Ok(item) = rx.recv().await {
                            effect(item);
                        }
                    });
                    for n in 0..ITEMS {
                        let _ = tx.send(n).await;
                    }
                    drop(tx);
                    let _ = worker.await;
                });
            },
        );
        group.bench_function(
            BenchmarkId::new("throughput", format!("async-pausable-{name}")),
            |b| {
                b.to_async(rt).iter(|| async {
                    let (tx, rx) = async_channel::bounded::<u64>(CAPACITY);
                    let worker =
                        match bothways_pause_async::Worker::spawn(rx, |n| async move { effect(n) })
                        {
                            Ok(worker) => worker,
                            Err(e) => panic!("cannot start the async worker: {e}"),
                        };
                    for n in 0..ITEMS {
                        let _ = tx.send(n).await;
                    }
                    drop(tx);
                    let _ = worker.join().await;
                });
            },
        );
    }

    group.finish();
}

fn report(name: &str, mut took: Vec<Duration>) {
    took.sort();
    let at = |q: usize| took.get(took.len() * q / 100).copied().unwrap_or_default();
    eprintln!(
        "pause latency {name}: median {:?}, p99 {:?}, max {:?} over {} pauses under a flood",
        at(50),
        at(99),
        took.last().copied().unwrap_or_default(),
        took.len()
    );
}

fn runtime(mut builder: Builder) -> Runtime {
    match builder.enable_time().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    }
}

criterion_group!(benches, pause);
criterion_main!(benches);
