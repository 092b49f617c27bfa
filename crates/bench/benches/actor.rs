//! Benchmarks the actor pattern both ways: async and threads side by side in one group.
//!
//! Functions in group `actor` (ids `actor/<case>/<style>`); async runs on a `current_thread`
//! runtime, the flavour the targets name:
//!
//! - `tell_one_pair/*`: one sender telling one actor, per message (the batch ends with an ask,
//!   so every message told has been handled when the clock stops);
//! - `tell_round_robin_100/*`: one sender telling 100 actors in turn, per message;
//! - `ask_round_trip/*`: one ask and its reply;
//! - `spawn/*`: spawning one actor with the default mailbox (64) — threads with a 64 KiB stack —
//!   in batches of 1,000; only the `spawn` calls are timed, stopping the batch is not. Each
//!   batch takes fresh memory (about 2 MB async), which on this VM costs page faults;
//! - `spawn_steady/*`: the same spawn, one actor at a time, each stopped and waited for
//!   (untimed, with `ActorRef::wait`) before the next: memory, and for threads the stack, are
//!   reused, so this is the cost of `spawn` itself.
//!
//! Before the group, untimed, the resident memory of 10,000 idle actors is measured from
//! `/proc/self/statm` and printed per actor to stderr (criterion measures time only).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::{Builder, Runtime};

/// Mailbox capacity for the tell and ask cases: room for a burst, bounded all the same.
const CAPACITY: usize = 1024;
/// Actors in the round-robin case.
const RING: usize = 100;
/// Actors spawned per timed batch in `spawn/*`, stopped after each batch.
const SPAWN_BATCH: u64 = 1_000;
/// Idle actors in the memory measurement.
const IDLE: usize = 10_000;
/// The threads style's stack for the spawn and memory cases, as in the 10,000-actor check.
const STACK: usize = 64 * 1024;
/// An ask's limit: far away, never reached.
const LIMIT: Duration = Duration::from_secs(10);

mod a {
    //! The async counter actor.
    use bothways_actor_async::{Actor, Context};

    /// Counts what it is told; answers an ask with the count.
    #[derive(Debug, Default)]
    pub(crate) struct Count(pub(crate) u64);

    impl Actor for Count {
        type Msg = u64;
        type Reply = u64;
        async fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
            self.0 += n;
            self.0
        }
    }
}

mod t {
    //! The threads counter actor.
    use bothways_actor_threads::{Actor, Context};

    /// Counts what it is told; answers an ask with the count.
    #[derive(Debug, Default)]
    pub(crate) struct Count(pub(crate) u64);

    impl Actor for Count {
        type Msg = u64;
        type Reply = u64;
        fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
            self.0 += n;
            self.0
        }
    }
}

fn async_config() -> bothways_actor_async::Config {
    bothways_actor_async::Config::default().with_capacity(CAPACITY)
}

fn threads_config() -> bothways_actor_threads::Config {
    bothways_actor_threads::Config::default()
        .with_capacity(CAPACITY)
        .with_stack_size(STACK)
}

fn runtime() -> Runtime {
    match Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a runtime: {e}"),
    }
}

/// Resident memory of the process, in bytes, from `/proc/self/statm` (pages of 4 KiB).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn idle_memory(rt: &Runtime) {
    let before = rss();
    let actors: Vec<_> = rt.block_on(async {
        let mut actors = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            if let Ok(actor) = bothways_actor_async::spawn(a::Count::default, async_config()) {
                // One message each, so the mailbox has allocated and the task has run.
                let _ = actor.ask(1, LIMIT).await;
                actors.push(actor);
            }
        }
        actors
    });
    let per = (rss().saturating_sub(before)) / IDLE as u64;
    eprintln!(
        "actor/idle_memory/async: {per} bytes per idle actor ({} actors)",
        actors.len()
    );
    drop(actors);

    let before = rss();
    let mut actors = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        if let Ok(actor) = bothways_actor_threads::spawn(t::Count::default, threads_config()) {
            let _ = actor.ask(1, LIMIT);
            actors.push(actor);
        }
    }
    let per = (rss().saturating_sub(before)) / IDLE as u64;
    eprintln!(
        "actor/idle_memory/threads: {per} bytes per idle actor ({} actors, {} KiB stacks)",
        actors.len(),
        STACK / 1024
    );
    for actor in &actors {
        actor.stop();
    }
}

fn actor(c: &mut Criterion) {
    let rt = runtime();
    idle_memory(&rt);
    let mut group = c.benchmark_group("actor");
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(1));

    // Tell, one pair. The actors are spawned once, outside the measurement.
    let one = rt.block_on(async { bothways_actor_async::spawn(a::Count::default, async_config()) });
    let Ok(one) = one else { panic!("cannot spawn") };
    group.bench_function(BenchmarkId::new("tell_one_pair", "async"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let one = one.clone();
            async move {
                let mut failed = 0u64;
                let start = Instant::now();
                for i in 0..iters {
                    failed += u64::from(one.tell(black_box(i)).await.is_err());
                }
                failed += u64::from(one.ask(0, LIMIT).await.is_err());
                let took = start.elapsed();
                // Every tell and ask went through: the time is not that of errors.
                assert_eq!(failed, 0, "tells or asks failed");
                took
            }
        });
    });
    let Ok(one_t) = bothways_actor_threads::spawn(t::Count::default, threads_config()) else {
        panic!("cannot spawn")
    };
    group.bench_function(BenchmarkId::new("tell_one_pair", "threads"), |b| {
        b.iter_custom(|iters| {
            let mut failed = 0u64;
            let start = Instant::now();
            for i in 0..iters {
                failed += u64::from(one_t.tell(black_box(i)).is_err());
            }
            failed += u64::from(one_t.ask(0, LIMIT).is_err());
            let took = start.elapsed();
            // Every tell and ask went through: the time is not that of errors.
            assert_eq!(failed, 0, "tells or asks failed");
            took
        });
    });

    // Tell, round robin over 100.
    let ring: Vec<_> = rt.block_on(async {
        (0..RING)
            .filter_map(|_| bothways_actor_async::spawn(a::Count::default, async_config()).ok())
            .collect()
    });
    assert_eq!(ring.len(), RING, "cannot spawn the ring");
    group.bench_function(BenchmarkId::new("tell_round_robin_100", "async"), |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let ring = ring.clone();
            async move {
                let mut failed = 0u64;
                let start = Instant::now();
                for i in 0..iters {
                    failed += u64::from(
                        ring[(i % RING as u64) as usize]
                            .tell(black_box(i))
                            .await
                            .is_err(),
                    );
                }
                for actor in &ring {
                    failed += u64::from(actor.ask(0, LIMIT).await.is_err());
                }
                let took = start.elapsed();
                // Every tell and ask went through: the time is not that of errors.
                assert_eq!(failed, 0, "tells or asks failed");
                took
            }
        });
    });
    let ring_t: Vec<_> = (0..RING)
        .filter_map(|_| bothways_actor_threads::spawn(t::Count::default, threads_config()).ok())
        .collect();
    assert_eq!(ring_t.len(), RING, "cannot spawn the ring");
    group.bench_function(BenchmarkId::new("tell_round_robin_100", "threads"), |b| {
        b.iter_custom(|iters| {
            let mut failed = 0u64;
            let start = Instant::now();
            for i in 0..iters {
                failed += u64::from(
                    ring_t[(i % RING as u64) as usize]
                        .tell(black_box(i))
                        .is_err(),
                );
            }
            for actor in &ring_t {
                failed += u64::from(actor.ask(0, LIMIT).is_err());
            }
            let took = start.elapsed();
            // Every tell and ask went through: the time is not that of errors.
            assert_eq!(failed, 0, "tells or asks failed");
            took
        });
    });

    // Ask round trip.
    group.bench_function(BenchmarkId::new("ask_round_trip", "async"), |b| {
        b.to_async(&rt).iter(|| async {
            let got = one.ask(black_box(1), LIMIT).await;
            assert!(got.is_ok(), "{got:?}");
            black_box(got)
        });
    });
    group.bench_function(BenchmarkId::new("ask_round_trip", "threads"), |b| {
        b.iter(|| {
            let got = one_t.ask(black_box(1), LIMIT);
            assert!(got.is_ok(), "{got:?}");
            black_box(got)
        });
    });

    // Spawn, in batches, each stopped (untimed) before the next, so that the threads case
    // never holds more than a batch of threads. The default mailbox, not the 1,024 above: a
    // crossbeam mailbox is allocated in full at spawn, so its size would be timed as well.
    group.bench_function(BenchmarkId::new("spawn", "async"), |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(SPAWN_BATCH);
                let start = Instant::now();
                let actors: Vec<_> = (0..n)
                    .filter_map(|_| {
                        bothways_actor_async::spawn(a::Count::default, Default::default()).ok()
                    })
                    .collect();
                timed += start.elapsed();
                assert_eq!(actors.len() as u64, n, "cannot spawn");
                for actor in &actors {
                    actor.stop();
                }
                drop(actors);
                tokio::task::yield_now().await;
                left -= n;
            }
            timed
        });
    });
    group.bench_function(BenchmarkId::new("spawn", "threads"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(SPAWN_BATCH);
                let start = Instant::now();
                let actors: Vec<_> = (0..n)
                    .filter_map(|_| {
                        let config =
                            bothways_actor_threads::Config::default().with_stack_size(STACK);
                        bothways_actor_threads::spawn(t::Count::default, config).ok()
                    })
                    .collect();
                timed += start.elapsed();
                assert_eq!(actors.len() as u64, n, "cannot spawn");
                // Idle with an empty mailbox, each thread ends at once on a stop.
                for actor in &actors {
                    actor.stop();
                }
                drop(actors);
                left -= n;
            }
            timed
        });
    });
    // Spawn, one at a time, each ended before the next.
    group.bench_function(BenchmarkId::new("spawn_steady", "async"), |b| {
        b.to_async(&rt).iter_custom(|iters| async move {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let config = bothways_actor_async::Config::default();
                let start = Instant::now();
                let actor = bothways_actor_async::spawn(a::Count::default, config);
                timed += start.elapsed();
                let Ok(actor) = actor else {
                    panic!("cannot spawn")
                };
                actor.stop();
                let Ok(_) = actor.wait(Duration::MAX).await else {
                    panic!("no exit")
                };
            }
            timed
        });
    });
    group.bench_function(BenchmarkId::new("spawn_steady", "threads"), |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                let config = bothways_actor_threads::Config::default().with_stack_size(STACK);
                let start = Instant::now();
                let actor = bothways_actor_threads::spawn(t::Count::default, config);
                timed += start.elapsed();
                let Ok(actor) = actor else {
                    panic!("cannot spawn")
                };
                actor.stop();
                let Ok(_) = actor.wait(Duration::MAX) else {
                    panic!("no exit")
                };
            }
            timed
        });
    });
    group.finish();
}

criterion_group!(benches, actor);
criterion_main!(benches);
