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
//!   worker. When the function first runs, an untimed pass of 10,000 such pauses prints the
//!   median and p99 on stderr (criterion reports means and medians of batches, not a p99).
//! - `throughput-drain/*` and `throughput-stream/*`: 10,000 items through a worker; `bare` is
//!   the plain loop the pattern replaces, `pausable` this project's `Worker`, never paused. The
//!   ratio is the cost of being pausable.
//!
//! How the throughput comparison is kept fair:
//!
//! - Both loops get the same channel (crossbeam's on a thread, `async_channel` on a task) of
//!   the same capacity, the same effect closure and the same producer, on the same runtime.
//! - The clock is in the effect: it stamps the end of item 0 and of the last item, so spawning
//!   the worker, its first wake-up and the join are outside the timed region of both.
//! - `drain`: every item is in the input, and the input closed, before the worker starts, so
//!   the loop never waits: this is the loop's own cost per item, with no hand-off to blur it.
//!   `stream`: a producer sends into an input of 64 while the worker runs, so the figure adds
//!   the hand-offs — wake-ups, spinning and parking — of a consumer that keeps pace.
//! - Both loops receive alike: a ready item is taken with `try_recv`, as the worker does, and
//!   only an empty input is waited on with `recv` (blocking, or awaited). The worker spins and
//!   yields with the same steps as crossbeam's `recv` before it blocks. The textbook loops
//!   (`for item in rx`, `while let Ok(item) = rx.recv().await`) are slower than either on a
//!   ready input, and would flatter the worker.
//! - What is left is the cost of being pausable: one atomic load per item, the worker's
//!   `select!` over its input and the gate when the input is empty, and (async) one unit of
//!   tokio's budget per 64 items, which the bare task loop does not spend at all — so on a
//!   flood that never empties its input it never yields to the runtime's other tasks.
//! - Criterion runs the bare and the pausable function one after the other, and on a shared
//!   machine the load drifts between them by more than the cost measured. So when a pair's
//!   first function runs, an untimed pass runs bare and pausable alternately 101 times and
//!   prints both medians and the median of the paired ratios on stderr: quote that ratio.
//!
//! Every async case is measured on a `current_thread` and on a `multi_thread` runtime.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
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
/// Bare and pausable runs in the untimed paired pass of each throughput case.
const PAIRS: usize = 101;
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
        let mut reported = false;
        group.bench_function(BenchmarkId::new("latency", "threads"), |b| {
            if !std::mem::replace(&mut reported, true) {
                report("threads", (0..PAUSES).map(|_| one()).collect());
            }
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
        let mut reported = false;
        group.bench_function(BenchmarkId::new("latency", format!("async-{name}")), |b| {
            if !std::mem::replace(&mut reported, true) {
                rt.block_on(async {
                    let mut took = Vec::with_capacity(PAUSES);
                    for _ in 0..PAUSES {
                        took.push(one().await);
                    }
                    report(&format!("async-{name}"), took);
                });
            }
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

    // Throughput: the bare loop against the pausable worker, per scenario and style. When the
    // first function of a pair runs, an untimed pass runs the two alternately and prints the
    // median of the paired ratios on stderr: on a shared machine the load drifts between two
    // criterion functions run one after the other, and a cost of a few per cent drowns in it.
    for scenario in [Scenario::Drain, Scenario::Stream] {
        let name = scenario.name();
        let mut reported = false;
        for pausable in [false, true] {
            let id = BenchmarkId::new(name, format!("threads-{}", kind(pausable)));
            group.bench_function(id, |b| {
                if !std::mem::replace(&mut reported, true) {
                    report_cost(&format!("{name} threads"), |pausable| {
                        threads_run(scenario, pausable)
                    });
                }
                b.iter_custom(|iters| (0..iters).map(|_| threads_run(scenario, pausable)).sum());
            });
        }
        for (flavour, rt) in &flavours {
            let mut reported = false;
            for pausable in [false, true] {
                let id = BenchmarkId::new(name, format!("async-{flavour}-{}", kind(pausable)));
                group.bench_function(id, |b| {
                    if !std::mem::replace(&mut reported, true) {
                        report_cost(&format!("{name} async-{flavour}"), |pausable| {
                            rt.block_on(async_run(scenario, pausable))
                        });
                    }
                    b.to_async(rt).iter_custom(|iters| async move {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += async_run(scenario, pausable).await;
                        }
                        total
                    });
                });
            }
        }
    }

    group.finish();
}

/// How a throughput run feeds its worker.
#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// Every item is in the input, and the input closed, before the worker starts: the loop
    /// never waits, so this is the loop's own cost per item.
    Drain,
    /// A producer sends the items into an input of `CAPACITY` while the worker runs: the loop's
    /// cost plus the hand-offs between a producer and a consumer that keep pace.
    Stream,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Drain => "throughput-drain",
            Scenario::Stream => "throughput-stream",
        }
    }

    fn capacity(self) -> usize {
        match self {
            Scenario::Drain => ITEMS as usize,
            Scenario::Stream => CAPACITY,
        }
    }
}

fn kind(pausable: bool) -> &'static str {
    if pausable { "pausable" } else { "bare" }
}

/// One throughput run on a thread: the time from the end of item 0 to the end of the last.
fn threads_run(scenario: Scenario, pausable: bool) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded(scenario.capacity());
    if let Scenario::Drain = scenario {
        for n in 0..ITEMS {
            let _ = tx.try_send(n);
        }
    }
    let stamps = Arc::new(Stamps::default());
    let apply = stamps.effect();
    if pausable {
        let worker = match bothways_pause_threads::Worker::spawn(rx, apply) {
            Ok(worker) => worker,
            Err(e) => panic!("cannot start the threads worker: {e}"),
        };
        threads_feed(scenario, tx);
        if let Err(e) = worker.join() {
            panic!("the threads worker failed: {e}");
        }
    } else {
        // The loop the pattern replaces, with the worker's own fast path: a ready item is
        // taken with `try_recv`, so that the two loops make the same channel calls and differ
        // only by the gate. (`for item in rx` is a `recv` per item, which spins and yields
        // with the same steps as the worker's `try_recv_briefly` when the input is empty, but
        // is slower than `try_recv` on a ready one: it would flatter the worker.)
        let worker = thread::spawn(move || {
            loop {
                let item = match rx.try_recv() {
                    Ok(item) => item,
                    Err(_) => match rx.recv() {
                        Ok(item) => item,
                        Err(_) => break,
                    },
                };
                apply(item);
            }
        });
        threads_feed(scenario, tx);
        if worker.join().is_err() {
            panic!("the bare worker thread panicked");
        }
    }
    stamps.elapsed()
}

/// For `Stream`, sends every item, waiting for room in the input; then closes it.
fn threads_feed(scenario: Scenario, tx: crossbeam_channel::Sender<u64>) {
    if let Scenario::Stream = scenario {
        for n in 0..ITEMS {
            let _ = tx.send(n);
        }
    }
}

/// One throughput run on a task of the current runtime, timed as [`threads_run`]. The
/// producer is the caller's future, not a task.
async fn async_run(scenario: Scenario, pausable: bool) -> Duration {
    let (tx, rx) = async_channel::bounded(scenario.capacity());
    if let Scenario::Drain = scenario {
        for n in 0..ITEMS {
            let _ = tx.try_send(n);
        }
    }
    let stamps = Arc::new(Stamps::default());
    // The worker takes an async effect: both loops await the same one.
    let apply = {
        let apply = stamps.effect();
        move |n| {
            apply(n);
            std::future::ready(())
        }
    };
    if pausable {
        let worker = match bothways_pause_async::Worker::spawn(rx, apply) {
            Ok(worker) => worker,
            Err(e) => panic!("cannot start the async worker: {e}"),
        };
        async_feed(scenario, tx).await;
        if let Err(e) = worker.join().await {
            panic!("the async worker failed: {e}");
        }
    } else {
        // The loop the pattern replaces, with the worker's own fast path: a ready item is
        // taken with `try_recv`, so that the two loops make the same channel calls and differ
        // only by the gate and the budget. (`while let Ok(item) = rx.recv().await` builds
        // and polls a `Recv` future per item, and is slower than either: it would flatter the
        // worker.)
        let worker = tokio::spawn(async move {
            loop {
                let item = match rx.try_recv() {
                    Ok(item) => item,
                    Err(_) => match rx.recv().await {
                        Ok(item) => item,
                        Err(_) => break,
                    },
                };
                apply(item).await;
            }
        });
        async_feed(scenario, tx).await;
        if let Err(e) = worker.await {
            panic!("the bare worker task failed: {e}");
        }
    }
    stamps.elapsed()
}

/// For `Stream`, sends every item, awaiting room in the input; then closes it.
async fn async_feed(scenario: Scenario, tx: async_channel::Sender<u64>) {
    if let Scenario::Stream = scenario {
        for n in 0..ITEMS {
            let _ = tx.send(n).await;
        }
    }
}

/// When the worker finished the first and the last item of a throughput run.
#[derive(Debug, Default)]
struct Stamps {
    first: OnceLock<Instant>,
    last: OnceLock<Instant>,
}

impl Stamps {
    /// The side effect both loops apply: [`effect`], and a time stamp at the first and the last
    /// item (two compares per item, the same in both loops).
    fn effect(self: &Arc<Self>) -> impl Fn(u64) + Send + 'static {
        let stamps = Arc::clone(self);
        move |n| {
            effect(n);
            if n == 0 {
                let _ = stamps.first.set(Instant::now());
            } else if n == ITEMS - 1 {
                let _ = stamps.last.set(Instant::now());
            }
        }
    }

    /// From the end of item 0 to the end of the last item.
    fn elapsed(&self) -> Duration {
        match (self.first.get(), self.last.get()) {
            (Some(first), Some(last)) => last.duration_since(*first),
            _ => panic!("the worker did not apply every item"),
        }
    }
}

/// Runs `run(false)` (bare) and `run(true)` (pausable) alternately and prints their medians
/// and the median of the paired ratios: the cost of being pausable, robust to drifting load.
fn report_cost(name: &str, mut run: impl FnMut(bool) -> Duration) {
    let (mut bare, mut pausable, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..PAIRS {
        let b = run(false);
        let p = run(true);
        ratios.push(p.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE));
        bare.push(b);
        pausable.push(p);
    }
    bare.sort();
    pausable.sort();
    ratios.sort_by(f64::total_cmp);
    let mid = PAIRS / 2;
    if let (Some(b), Some(p), Some(r)) = (bare.get(mid), pausable.get(mid), ratios.get(mid)) {
        eprintln!(
            "pause {name}: bare {b:?}, pausable {p:?} (medians), cost {:+.1}% (median of \
             {PAIRS} paired ratios)",
            (r - 1.0) * 100.0
        );
    }
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
