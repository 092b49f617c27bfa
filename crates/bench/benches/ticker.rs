//! Benchmarks the ticker pattern both ways: async and threads side by side in one group.
//!
//! Functions in group `ticker` (ids `ticker/<case>/<function>`), each one iteration pushing
//! [`EVENTS`] events of 64 bytes through a loop until its source ends, so criterion's
//! throughput is events per second:
//!
//! - `in_process/*`: from an in-process channel (async-channel / crossbeam-channel);
//! - `tcp/*`: length-prefixed frames over loopback TCP, written by one std thread in 64 KiB
//!   writes — the same writer for both styles.
//!
//! Every async case runs on a `current_thread` and on a `multi_thread` runtime. The tick is
//! 1 ms and the size cap 4096, so both flush paths are taken.
//!
//! Before the group, untimed, tick lateness under load is measured for each style: a loop with a
//! 1 ms tick and no size cap reads frames as fast as a writer can send them for 1 s; each gap
//! between two batches is one tick apart, so `gap - period` is how late the tick was. p50 and
//! p99 go to stderr.

use std::hint::black_box;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bothways_ticker_async as ticker_async;
use bothways_ticker_threads as ticker_threads;
use bothways_wire::frame::encode;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};
use tokio_util::sync::CancellationToken;

/// Events per iteration.
const EVENTS: usize = 100_000;
/// Bytes per event.
const EVENT_LEN: usize = 64;
/// Workers in the `multi_thread` runtime: the machine's two cores.
const WORKERS: usize = 2;
/// How long the lateness measurement runs, per style.
const LATENESS_FOR: Duration = Duration::from_secs(1);

fn config() -> ticker_async::Config {
    ticker_async::Config {
        period: Duration::from_millis(1),
        max_batch: 4096,
        max_frame: 1024,
    }
}

fn threads_config(c: ticker_async::Config) -> ticker_threads::Config {
    ticker_threads::Config {
        period: c.period,
        max_batch: c.max_batch,
        max_frame: c.max_frame,
    }
}

/// A connected loopback pair: (writer's end, loop's end).
fn pair() -> (TcpStream, TcpStream) {
    let listener = must(TcpListener::bind("127.0.0.1:0"), "bind");
    let addr = must(listener.local_addr(), "read the address");
    let writer = must(TcpStream::connect(addr), "connect");
    let (ours, _) = must(listener.accept(), "accept");
    (writer, ours)
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("cannot {what}: {e}"),
    }
}

/// Writes `bytes` in 64 KiB pieces on a thread of its own, then closes.
fn write_all_then_close(mut writer: TcpStream, bytes: Arc<Vec<u8>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        for piece in bytes.chunks(64 * 1024) {
            if writer.write_all(piece).is_err() {
                return;
            }
        }
    })
}

fn runtime(mut builder: Builder) -> Runtime {
    must(builder.enable_all().build(), "build a runtime")
}

fn ticker(c: &mut Criterion) {
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
    for (name, rt) in &flavours {
        lateness_async(name, rt);
    }
    lateness_threads();

    let event = vec![7u8; EVENT_LEN];
    let mut frames = Vec::with_capacity(EVENTS * (EVENT_LEN + 4));
    for _ in 0..EVENTS {
        must(encode(&event, &mut frames), "encode");
    }
    let frames = Arc::new(frames);

    let mut group = c.benchmark_group("ticker");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));

    for (name, rt) in &flavours {
        group.bench_function(
            BenchmarkId::new("in_process", format!("async-{name}")),
            |b| {
                b.to_async(rt).iter(|| async {
                    let (events, source) = async_channel::bounded(4096);
                    let (sink, batches) = async_channel::unbounded();
                    let looping = tokio::spawn(ticker_async::run(
                        source,
                        sink,
                        config(),
                        CancellationToken::new(),
                    ));
                    let feeding = tokio::spawn({
                        let event = event.clone();
                        async move {
                            for _ in 0..EVENTS {
                                if events.send(event.clone()).await.is_err() {
                                    return;
                                }
                            }
                        }
                    });
                    let mut got = 0;
                    while let Ok(batch) = batches.recv().await {
                        got += black_box(batch).len();
                    }
                    let _ = feeding.await;
                    let summary = must(must(looping.await, "join the loop"), "run the loop");
                    assert_eq!(got, EVENTS);
                    summary
                });
            },
        );
    }
    group.bench_function(BenchmarkId::new("in_process", "threads"), |b| {
        b.iter(|| {
            let (events, source) = crossbeam_channel::bounded(4096);
            let (sink, batches) = crossbeam_channel::unbounded();
            let config = threads_config(config());
            let looping = thread::spawn(move || {
                ticker_threads::run(source, sink, config, crossbeam_channel::never())
            });
            let feeding = thread::spawn({
                let event = event.clone();
                move || {
                    for _ in 0..EVENTS {
                        if events.send(event.clone()).is_err() {
                            return;
                        }
                    }
                }
            });
            let got: usize = batches.iter().map(|b| black_box(b).len()).sum();
            let _ = feeding.join();
            let summary = must(must(looping.join().map_err(|_| "a panic"), "join"), "run");
            assert_eq!(got, EVENTS);
            summary
        });
    });

    for (name, rt) in &flavours {
        group.bench_function(BenchmarkId::new("tcp", format!("async-{name}")), |b| {
            b.to_async(rt).iter(|| async {
                let (writer, ours) = pair();
                must(ours.set_nonblocking(true), "set non-blocking");
                let stream = must(tokio::net::TcpStream::from_std(ours), "register");
                let writing = write_all_then_close(writer, Arc::clone(&frames));
                let (sink, batches) = async_channel::unbounded();
                let looping = tokio::spawn(ticker_async::run_tcp(
                    stream,
                    sink,
                    config(),
                    CancellationToken::new(),
                ));
                let mut got = 0;
                while let Ok(batch) = batches.recv().await {
                    got += black_box(batch).len();
                }
                let summary = must(must(looping.await, "join the loop"), "run the loop");
                let _ = writing.join();
                assert_eq!(got, EVENTS);
                summary
            });
        });
    }
    group.bench_function(BenchmarkId::new("tcp", "threads"), |b| {
        b.iter(|| {
            let (writer, ours) = pair();
            let writing = write_all_then_close(writer, Arc::clone(&frames));
            let (sink, batches) = crossbeam_channel::unbounded();
            let config = threads_config(config());
            let looping = thread::spawn(move || {
                ticker_threads::run_tcp(ours, sink, config, crossbeam_channel::never())
            });
            let got: usize = batches.iter().map(|b| black_box(b).len()).sum();
            let summary = must(must(looping.join().map_err(|_| "a panic"), "join"), "run");
            let _ = writing.join();
            assert_eq!(got, EVENTS);
            summary
        });
    });
    group.finish();
}

/// Writes frames as fast as the socket takes them until `stop`.
fn flood(mut writer: TcpStream, stop: Arc<AtomicBool>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = Vec::new();
        while chunk.len() < 64 * 1024 {
            must(encode(&[1u8; EVENT_LEN], &mut chunk), "encode");
        }
        while !stop.load(Ordering::Relaxed) {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    })
}

/// p50 and p99 of how late each tick was, from the arrival times of consecutive batches.
fn report(style: &str, arrivals: &[Instant], period: Duration) {
    let mut late: Vec<Duration> = arrivals
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]).saturating_sub(period))
        .collect();
    late.sort();
    let at = |q: f64| late.get(((late.len() as f64 - 1.0) * q) as usize).copied();
    eprintln!(
        "ticker lateness under load, {style}: {} ticks, p50 {:?}, p99 {:?}",
        late.len(),
        at(0.50).unwrap_or_default(),
        at(0.99).unwrap_or_default(),
    );
}

fn lateness_config() -> ticker_async::Config {
    ticker_async::Config {
        max_batch: usize::MAX,
        ..config()
    }
}

/// Tick lateness under load, async, on one runtime; printed, not timed by criterion.
fn lateness_async(name: &str, rt: &Runtime) {
    let c = lateness_config();
    let (writer, ours) = pair();
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood(writer, Arc::clone(&stop));
    let arrivals = rt.block_on(async {
        must(ours.set_nonblocking(true), "set non-blocking");
        let stream = must(tokio::net::TcpStream::from_std(ours), "register");
        let (sink, batches) = async_channel::unbounded();
        let cancel = CancellationToken::new();
        let looping = tokio::spawn(ticker_async::run_tcp(stream, sink, c, cancel.clone()));
        let mut arrivals = Vec::new();
        let start = Instant::now();
        while let Ok(batch) = batches.recv().await {
            arrivals.push(Instant::now());
            black_box(batch);
            if start.elapsed() >= LATENESS_FOR {
                cancel.cancel();
            }
        }
        let _ = looping.await;
        arrivals
    });
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.join();
    report(&format!("async {name}"), &arrivals, c.period);
}

/// Tick lateness under load, threads; printed, not timed by criterion.
fn lateness_threads() {
    let c = threads_config(lateness_config());
    let (writer, ours) = pair();
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = flood(writer, Arc::clone(&stop));
    let (sink, batches) = crossbeam_channel::unbounded();
    let (cancel, cancelled) = crossbeam_channel::bounded(1);
    let looping = thread::spawn(move || ticker_threads::run_tcp(ours, sink, c, cancelled));
    let mut arrivals = Vec::new();
    let start = Instant::now();
    for batch in batches {
        arrivals.push(Instant::now());
        black_box(batch);
        if start.elapsed() >= LATENESS_FOR {
            let _ = cancel.try_send(());
        }
    }
    let _ = looping.join();
    stop.store(true, Ordering::Relaxed);
    let _ = flooding.join();
    report("threads", &arrivals, c.period);
}

criterion_group!(benches, ticker);
criterion_main!(benches);
