//! The ticker against the ecosystem: bothways' batching loops beside tokio-stream's
//! `chunks_timeout`, the ready-made async "batch by size or by time" a user would pick instead.
//!
//! Group `ticker_peers`, one function per row, each iteration pushing [`EVENTS`] events of 64 B
//! from the same in-process source as the root `ticker` bench's `in_process` case (a bounded
//! channel of 4096 fed by a task or thread) through the loop into an unbounded sink until the
//! source ends, so criterion's throughput is events per second. Every loop has the same size
//! cap (4096) and the same 1 ms period:
//!
//! - `bothways-threads`: `bothways_ticker_threads::run` over crossbeam-channel;
//! - `bothways-async-<flavour>`: `bothways_ticker_async::run` over async-channel;
//! - `tokio-stream-<flavour>`: `source.chunks_timeout(4096, 1 ms)` over the same async-channel,
//!   each chunk sent to the sink.
//!
//! What differs: `chunks_timeout` starts its timer at the first event of each chunk, the
//! bothways loops tick on a fixed period; with a source that is always ready both hand on full
//! batches of 4096, so the work is the same.

use std::hint::black_box;
use std::pin::pin;
use std::thread;
use std::time::Duration;

use bothways_ticker_async as ticker_async;
use bothways_ticker_threads as ticker_threads;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;

/// Events per iteration.
const EVENTS: usize = 100_000;
/// Bytes per event.
const EVENT_LEN: usize = 64;
/// The size cap of every loop.
const MAX_BATCH: usize = 4096;
/// The period of every loop.
const PERIOD: Duration = Duration::from_millis(1);

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("cannot {what}: {e}"))
}

fn config() -> ticker_async::Config {
    ticker_async::Config {
        period: PERIOD,
        max_batch: MAX_BATCH,
        max_frame: 1024,
    }
}

fn runtime(mut builder: Builder) -> Runtime {
    must(builder.enable_all().build(), "build a runtime")
}

/// The in-process source: a task sending `EVENTS` events into a bounded channel of 4096.
fn feed(events: async_channel::Sender<Vec<u8>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let event = vec![7u8; EVENT_LEN];
        for _ in 0..EVENTS {
            if events.send(event.clone()).await.is_err() {
                return;
            }
        }
    })
}

/// Receives every batch; the events counted.
async fn drain(batches: async_channel::Receiver<Vec<Vec<u8>>>) -> usize {
    let mut got = 0;
    while let Ok(batch) = batches.recv().await {
        got += black_box(batch).len();
    }
    got
}

async fn bothways_async() {
    let (events, source) = async_channel::bounded(MAX_BATCH);
    let (sink, batches) = async_channel::unbounded();
    let looping = tokio::spawn(ticker_async::run(
        source,
        sink,
        config(),
        CancellationToken::new(),
    ));
    let feeding = feed(events);
    let got = drain(batches).await;
    must(feeding.await, "join the feeder");
    must(must(looping.await, "join the loop"), "run the loop");
    assert_eq!(got, EVENTS);
}

async fn tokio_stream() {
    let (events, source) = async_channel::bounded(MAX_BATCH);
    let (sink, batches) = async_channel::unbounded();
    let looping = tokio::spawn(async move {
        let mut chunks = pin!(source.chunks_timeout(MAX_BATCH, PERIOD));
        while let Some(batch) = chunks.next().await {
            if sink.send(batch).await.is_err() {
                return;
            }
        }
    });
    let feeding = feed(events);
    let got = drain(batches).await;
    must(feeding.await, "join the feeder");
    must(looping.await, "join the loop");
    assert_eq!(got, EVENTS);
}

fn bothways_threads() {
    let (events, source) = crossbeam_channel::bounded(MAX_BATCH);
    let (sink, batches) = crossbeam_channel::unbounded();
    let c = config();
    let config = ticker_threads::Config {
        period: c.period,
        max_batch: c.max_batch,
        max_frame: c.max_frame,
    };
    let looping = thread::spawn(move || {
        ticker_threads::run(source, sink, config, crossbeam_channel::never())
    });
    let feeding = thread::spawn(move || {
        let event = vec![7u8; EVENT_LEN];
        for _ in 0..EVENTS {
            if events.send(event.clone()).is_err() {
                return;
            }
        }
    });
    let got: usize = batches
        .iter()
        .map(|b: Vec<Vec<u8>>| black_box(b).len())
        .sum();
    must(feeding.join().map_err(|_| "a panic"), "join the feeder");
    must(
        must(looping.join().map_err(|_| "a panic"), "join the loop"),
        "run the loop",
    );
    assert_eq!(got, EVENTS);
}

fn ticker_peers(c: &mut Criterion) {
    let flavours = [
        ("current_thread", runtime(Builder::new_current_thread())),
        ("multi_thread", {
            let mut builder = Builder::new_multi_thread();
            builder.worker_threads(2);
            runtime(builder)
        }),
    ];
    let mut group = c.benchmark_group("ticker_peers");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    group.throughput(Throughput::Elements(EVENTS as u64));

    group.bench_function("bothways-threads", |b| b.iter(bothways_threads));
    for (name, rt) in &flavours {
        group.bench_function(format!("bothways-async-{name}"), |b| {
            b.to_async(rt).iter(bothways_async);
        });
    }
    for (name, rt) in &flavours {
        group.bench_function(format!("tokio-stream-{name}"), |b| {
            b.to_async(rt).iter(tokio_stream);
        });
    }
    group.finish();
}

criterion_group!(benches, ticker_peers);
criterion_main!(benches);
