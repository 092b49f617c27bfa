//! The actor pattern against its peers: bothways' async actor beside kameo and ractor, and its
//! threads actor beside the thread + channel actor any threads user can write in 20 lines (once
//! with crossbeam-channel, once with std's mpsc), one criterion group per workload so one run
//! shows them side by side.
//!
//! Groups (ids `<group>/<flavour>/<who>` for async, on a `current_thread` runtime and on a
//! `multi_thread` one with 2 workers, the machine's cores; `<group>/<who>` for threads, which
//! have no flavour — so the report reads each flavour, and threads, as one workload):
//!
//! - `actor_tell_peers`: one sender tells a counting actor, per message; every batch ends with an
//!   ask, so the clock stops only once every message told has been handled;
//! - `actor_ask_peers`: one ask and its reply, no limit on any side;
//! - `actor_ask_limit_peers`: the same with a 10 s limit on every side: bothways' `ask` limit,
//!   kameo's `reply_timeout`, ractor's call timeout, `recv_timeout` in the hand-written actors;
//! - `actor_spawn_stop_peers`: spawn an actor, stop it, and wait until it has ended, per actor.
//!
//! Like for like: every mailbox holds [`CAPACITY`] messages (bothways, kameo `bounded`,
//! crossbeam `bounded`, std `sync_channel`) and every actor does the same work (adds the number
//! to a total, answers an ask with the total). What differs: ractor has no bounded mailbox (its
//! input port is an unbounded channel), so its sender never waits for room; kameo and ractor box
//! each message (their handlers are chosen at run time by message type), bothways and the
//! hand-written actors do not. Async senders run as a task on the runtime being measured (on a
//! worker for `multi_thread`), as a sender in an application would. Threads actors get 64 KiB
//! stacks. Spawning uses the 64-message mailbox of kameo's and bothways' default.
//!
//! Reading the threads rows: a sender and a threads actor hand messages over in one of two
//! ways, and the kernel picks which when it places the actor's thread. On the sender's core,
//! the sender fills the mailbox and the actor drains it in turns: pure CPU cost per message
//! (measured on one core with `taskset -c 0`: the crossbeam actor 42 ns, bothways 58 ns). On
//! the other core, the two pass each message across caches: ~100 ns for either. One criterion
//! run of a function lands in one of the two, so the ratio between two rows of one run swings
//! (0.4–1.2 here on 2 cores); compare rows from several runs, or pin the process to one core.
//! An ask is a strict ping-pong, so the same choice decides it more sharply: ~1–2 µs with the
//! asker and the actor on two cores, 10–20 µs when the kernel stacks them on one (seen with
//! `perf stat`: 0.74 CPUs used and 300k context switches per 500k asks) — the crossbeam
//! 20-liner lands there too, in some runs.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use criterion::{Throughput, measurement::WallTime};
use tokio::runtime::{Builder, Runtime};

/// Mailbox capacity for the tell and ask cases, the same on every side.
const CAPACITY: usize = 1024;
/// Mailbox capacity when spawning: kameo's and bothways' default.
const SPAWN_CAPACITY: usize = 64;
/// The limit of `actor_ask_limit_peers`: far away, never reached; bothways' usual figure.
const LIMIT: Duration = Duration::from_secs(10);
/// Stack of every threads actor.
const STACK: usize = 64 * 1024;

/// The counting actor in bothways' async style.
mod bw_async {
    use bothways_actor_async::{Actor, ActorRef, Config, Context, spawn};

    /// Adds what it is told; answers an ask with the total.
    #[derive(Debug, Default)]
    pub(crate) struct Count(u64);

    impl Actor for Count {
        type Msg = u64;
        type Reply = u64;
        async fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
            self.0 += n;
            self.0
        }
    }

    pub(crate) fn start(capacity: usize) -> ActorRef<Count> {
        match spawn(Count::default, Config::default().with_capacity(capacity)) {
            Ok(actor) => actor,
            Err(e) => panic!("cannot spawn: {e}"),
        }
    }

    /// Spawns, stops, and waits until the actor has ended.
    pub(crate) async fn spawn_stop() {
        let actor = start(super::SPAWN_CAPACITY);
        actor.stop();
        let Ok(_) = actor.wait(super::Duration::MAX).await else {
            panic!("no exit")
        };
    }
}

/// The counting actor in bothways' threads style.
mod bw_threads {
    use bothways_actor_threads::{Actor, ActorRef, Config, Context, spawn};

    /// Adds what it is told; answers an ask with the total.
    #[derive(Debug, Default)]
    pub(crate) struct Count(u64);

    impl Actor for Count {
        type Msg = u64;
        type Reply = u64;
        fn handle(&mut self, n: u64, _: &Context<Self>) -> u64 {
            self.0 += n;
            self.0
        }
    }

    pub(crate) fn start(capacity: usize) -> ActorRef<Count> {
        let config = Config::default()
            .with_capacity(capacity)
            .with_stack_size(super::STACK);
        match spawn(Count::default, config) {
            Ok(actor) => actor,
            Err(e) => panic!("cannot spawn: {e}"),
        }
    }

    /// Spawns, stops, and waits until the actor has ended.
    pub(crate) fn spawn_stop() {
        let actor = start(super::SPAWN_CAPACITY);
        actor.stop();
        let Ok(_) = actor.wait(super::Duration::MAX) else {
            panic!("no exit")
        };
    }
}

/// The counting actor on kameo.
mod km {
    use kameo::actor::{ActorRef, Spawn};
    use kameo::error::Infallible;
    use kameo::mailbox;
    use kameo::message::{Context, Message};

    /// Adds what it is told; answers an ask with the total.
    #[derive(Debug, Default)]
    pub(crate) struct Count(u64);

    impl kameo::Actor for Count {
        type Args = Self;
        type Error = Infallible;
        async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
            Ok(state)
        }
    }

    /// The one message type: a number to add.
    #[derive(Debug)]
    pub(crate) struct Add(pub(crate) u64);

    impl Message<Add> for Count {
        type Reply = u64;
        async fn handle(&mut self, Add(n): Add, _: &mut Context<Self, u64>) -> u64 {
            self.0 += n;
            self.0
        }
    }

    pub(crate) fn start(capacity: usize) -> ActorRef<Count> {
        Count::spawn_with_mailbox(Count::default(), mailbox::bounded(capacity))
    }

    /// Spawns, stops, and waits until the actor has ended.
    pub(crate) async fn spawn_stop() {
        let actor = start(super::SPAWN_CAPACITY);
        let Ok(()) = actor.stop_gracefully().await else {
            panic!("cannot stop")
        };
        actor.wait_for_shutdown().await;
    }
}

/// The counting actor on ractor.
mod rc {
    use ractor::{ActorProcessingErr, ActorRef, RpcReplyPort};

    /// Adds what it is told; answers an ask with the total (its state).
    #[derive(Debug)]
    pub(crate) struct Count;

    /// A number to add, with or without a reply port.
    #[derive(Debug)]
    pub(crate) enum Msg {
        Add(u64),
        Ask(u64, RpcReplyPort<u64>),
    }

    impl ractor::Actor for Count {
        type Msg = Msg;
        type State = u64;
        type Arguments = ();
        async fn pre_start(&self, _: ActorRef<Msg>, (): ()) -> Result<u64, ActorProcessingErr> {
            Ok(0)
        }
        async fn handle(
            &self,
            _: ActorRef<Msg>,
            msg: Msg,
            total: &mut u64,
        ) -> Result<(), ActorProcessingErr> {
            match msg {
                Msg::Add(n) => *total += n,
                Msg::Ask(n, reply) => {
                    *total += n;
                    let _ = reply.send(*total);
                }
            }
            Ok(())
        }
    }

    // Ractor: no mailbox capacity to set; its input port is unbounded.
    pub(crate) async fn start() -> ActorRef<Msg> {
        match ractor::Actor::spawn(None, Count, ()).await {
            Ok((actor, _)) => actor,
            Err(e) => panic!("cannot spawn: {e}"),
        }
    }

    /// Asks, with an optional limit.
    pub(crate) async fn ask(actor: &ActorRef<Msg>, n: u64, limit: Option<super::Duration>) -> u64 {
        match actor.call(|reply| Msg::Ask(n, reply), limit).await {
            Ok(ractor::rpc::CallResult::Success(total)) => total,
            other => panic!("ask failed: {other:?}"),
        }
    }

    /// Spawns, stops, and waits until the actor has ended.
    pub(crate) async fn spawn_stop() {
        let Ok((actor, ended)) = ractor::Actor::spawn(None, Count, ()).await else {
            panic!("cannot spawn")
        };
        actor.stop(None);
        let Ok(()) = ended.await else {
            panic!("the actor's task failed")
        };
    }
}

/// The thread + crossbeam-channel actor a threads user writes by hand: the baseline.
mod cb {
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    use crossbeam_channel::{Sender, bounded};

    pub(crate) enum Msg {
        Tell(u64),
        Ask(u64, Sender<u64>),
    }

    pub(crate) struct Actor {
        tx: Sender<Msg>,
        thread: JoinHandle<u64>,
    }

    pub(crate) fn spawn(capacity: usize) -> Actor {
        let (tx, rx) = bounded(capacity);
        let thread = thread::Builder::new()
            .stack_size(super::STACK)
            .spawn(move || {
                let mut total = 0;
                for msg in rx {
                    match msg {
                        Msg::Tell(n) => total += n,
                        Msg::Ask(n, reply) => {
                            total += n;
                            let _ = reply.send(total);
                        }
                    }
                }
                total
            });
        match thread {
            Ok(thread) => Actor { tx, thread },
            Err(e) => panic!("cannot spawn: {e}"),
        }
    }

    impl Actor {
        pub(crate) fn tell(&self, n: u64) -> bool {
            self.tx.send(Msg::Tell(n)).is_ok()
        }

        pub(crate) fn ask(&self, n: u64, limit: Option<Duration>) -> Option<u64> {
            let (reply, answer) = bounded(1);
            self.tx.send(Msg::Ask(n, reply)).ok()?;
            match limit {
                Some(limit) => answer.recv_timeout(limit).ok(),
                None => answer.recv().ok(),
            }
        }

        /// Stops it (closing the mailbox, which it drains first) and waits until it has ended.
        pub(crate) fn stop(self) -> Option<u64> {
            drop(self.tx);
            self.thread.join().ok()
        }
    }
}

/// The same actor on std's mpsc (`sync_channel`, bounded).
mod sm {
    use std::sync::mpsc::{SyncSender, sync_channel};
    use std::thread::{self, JoinHandle};
    use std::time::Duration;

    pub(crate) enum Msg {
        Tell(u64),
        Ask(u64, SyncSender<u64>),
    }

    pub(crate) struct Actor {
        tx: SyncSender<Msg>,
        thread: JoinHandle<u64>,
    }

    pub(crate) fn spawn(capacity: usize) -> Actor {
        let (tx, rx) = sync_channel(capacity);
        let thread = thread::Builder::new()
            .stack_size(super::STACK)
            .spawn(move || {
                let mut total = 0;
                for msg in rx {
                    match msg {
                        Msg::Tell(n) => total += n,
                        Msg::Ask(n, reply) => {
                            total += n;
                            let _ = reply.send(total);
                        }
                    }
                }
                total
            });
        match thread {
            Ok(thread) => Actor { tx, thread },
            Err(e) => panic!("cannot spawn: {e}"),
        }
    }

    impl Actor {
        pub(crate) fn tell(&self, n: u64) -> bool {
            self.tx.send(Msg::Tell(n)).is_ok()
        }

        pub(crate) fn ask(&self, n: u64, limit: Option<Duration>) -> Option<u64> {
            let (reply, answer) = sync_channel(1);
            self.tx.send(Msg::Ask(n, reply)).ok()?;
            match limit {
                Some(limit) => answer.recv_timeout(limit).ok(),
                None => answer.recv().ok(),
            }
        }

        /// Stops it (closing the mailbox, which it drains first) and waits until it has ended.
        pub(crate) fn stop(self) -> Option<u64> {
            drop(self.tx);
            self.thread.join().ok()
        }
    }
}

/// The two runtime flavours, named as in the ids.
fn runtimes() -> [(&'static str, Runtime); 2] {
    let current = Builder::new_current_thread().enable_all().build();
    let multi = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    match (current, multi) {
        (Ok(current), Ok(multi)) => [("current_thread", current), ("multi_thread", multi)],
        _ => panic!("cannot build the runtimes"),
    }
}

/// Runs `body(iters)` as a task on `rt` — on a worker for `multi_thread` — and returns the time
/// it measured.
fn on<F, Fut>(group: &mut BenchmarkGroup<'_, WallTime>, id: BenchmarkId, rt: &Runtime, body: F)
where
    F: Fn(u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Duration> + Send + 'static,
{
    group.bench_function(id, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let task = tokio::spawn(body.clone()(iters));
            async move {
                match task.await {
                    Ok(took) => took,
                    Err(e) => panic!("the measuring task failed: {e}"),
                }
            }
        });
    });
}

/// What the next batch's closing ask must answer: the running total of 1s told so far.
fn expect(total: &AtomicU64, told: u64) -> u64 {
    total.fetch_add(told, Ordering::Relaxed) + told
}

fn tell(c: &mut Criterion) {
    let mut group = c.benchmark_group("actor_tell_peers");
    group.throughput(Throughput::Elements(1));
    for (flavour, rt) in runtimes() {
        let (bw, km, rc) = rt.block_on(async {
            (
                bw_async::start(CAPACITY),
                km::start(CAPACITY),
                rc::start().await,
            )
        });
        let total = Arc::new(AtomicU64::new(0));
        on(
            &mut group,
            BenchmarkId::new(flavour, "bothways_async"),
            &rt,
            move |iters| {
                let (bw, total) = (bw.clone(), Arc::clone(&total));
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert!(bw.tell(black_box(1)).await.is_ok(), "tell failed");
                    }
                    let got = bw.ask(0, Duration::MAX).await;
                    let took = start.elapsed();
                    assert_eq!(got, Ok(expect(&total, iters)), "not every tell was handled");
                    took
                }
            },
        );
        let total = Arc::new(AtomicU64::new(0));
        on(
            &mut group,
            BenchmarkId::new(flavour, "kameo"),
            &rt,
            move |iters| {
                let (km, total) = (km.clone(), Arc::clone(&total));
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert!(km.tell(km::Add(black_box(1))).await.is_ok(), "tell failed");
                    }
                    let got = km.ask(km::Add(0)).await;
                    let took = start.elapsed();
                    assert!(
                        matches!(got, Ok(n) if n == expect(&total, iters)),
                        "not every tell was handled"
                    );
                    took
                }
            },
        );
        let total = Arc::new(AtomicU64::new(0));
        on(
            &mut group,
            BenchmarkId::new(flavour, "ractor"),
            &rt,
            move |iters| {
                let (rc, total) = (rc.clone(), Arc::clone(&total));
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert!(rc.cast(rc::Msg::Add(black_box(1))).is_ok(), "tell failed");
                    }
                    let got = rc::ask(&rc, 0, None).await;
                    let took = start.elapsed();
                    assert_eq!(got, expect(&total, iters), "not every tell was handled");
                    took
                }
            },
        );
    }
    let bw = bw_threads::start(CAPACITY);
    let total = AtomicU64::new(0);
    group.bench_function("bothways_threads", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert!(bw.tell(black_box(1)).is_ok(), "tell failed");
            }
            let got = bw.ask(0, Duration::MAX);
            let took = start.elapsed();
            assert_eq!(got, Ok(expect(&total, iters)), "not every tell was handled");
            took
        });
    });
    let cb = cb::spawn(CAPACITY);
    let total = AtomicU64::new(0);
    group.bench_function("crossbeam_actor", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert!(cb.tell(black_box(1)), "tell failed");
            }
            let got = cb.ask(0, None);
            let took = start.elapsed();
            assert_eq!(
                got,
                Some(expect(&total, iters)),
                "not every tell was handled"
            );
            took
        });
    });
    let sm = sm::spawn(CAPACITY);
    let total = AtomicU64::new(0);
    group.bench_function("mpsc_actor", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                assert!(sm.tell(black_box(1)), "tell failed");
            }
            let got = sm.ask(0, None);
            let took = start.elapsed();
            assert_eq!(
                got,
                Some(expect(&total, iters)),
                "not every tell was handled"
            );
            took
        });
    });
    group.finish();
    let _ = (cb.stop(), sm.stop());
}

/// One group of round trips: `limit` on every side, or none.
fn ask(c: &mut Criterion, name: &str, limit: Option<Duration>) {
    let mut group = c.benchmark_group(name);
    let bw_limit = limit.unwrap_or(Duration::MAX);
    for (flavour, rt) in runtimes() {
        let (bw, km, rc) = rt.block_on(async {
            (
                bw_async::start(CAPACITY),
                km::start(CAPACITY),
                rc::start().await,
            )
        });
        on(
            &mut group,
            BenchmarkId::new(flavour, "bothways_async"),
            &rt,
            move |iters| {
                let bw = bw.clone();
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let got = bw.ask(black_box(1), bw_limit).await;
                        assert!(got.is_ok(), "{got:?}");
                    }
                    start.elapsed()
                }
            },
        );
        on(
            &mut group,
            BenchmarkId::new(flavour, "kameo"),
            &rt,
            move |iters| {
                let km = km.clone();
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let got = match limit {
                            Some(limit) => km.ask(km::Add(black_box(1))).reply_timeout(limit).await,
                            None => km.ask(km::Add(black_box(1))).await,
                        };
                        assert!(got.is_ok(), "{got:?}");
                    }
                    start.elapsed()
                }
            },
        );
        on(
            &mut group,
            BenchmarkId::new(flavour, "ractor"),
            &rt,
            move |iters| {
                let rc = rc.clone();
                async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(rc::ask(&rc, black_box(1), limit).await);
                    }
                    start.elapsed()
                }
            },
        );
    }
    let bw = bw_threads::start(CAPACITY);
    group.bench_function("bothways_threads", |b| {
        b.iter(|| {
            let got = bw.ask(black_box(1), bw_limit);
            assert!(got.is_ok(), "{got:?}");
            got
        });
    });
    let cb = cb::spawn(CAPACITY);
    group.bench_function("crossbeam_actor", |b| {
        b.iter(|| {
            let got = cb.ask(black_box(1), limit);
            assert!(got.is_some(), "ask failed");
            got
        });
    });
    let sm = sm::spawn(CAPACITY);
    group.bench_function("mpsc_actor", |b| {
        b.iter(|| {
            let got = sm.ask(black_box(1), limit);
            assert!(got.is_some(), "ask failed");
            got
        });
    });
    group.finish();
    let _ = (cb.stop(), sm.stop());
}

fn ask_no_limit(c: &mut Criterion) {
    ask(c, "actor_ask_peers", None);
}

fn ask_limit(c: &mut Criterion) {
    ask(c, "actor_ask_limit_peers", Some(LIMIT));
}

fn spawn_stop(c: &mut Criterion) {
    let mut group = c.benchmark_group("actor_spawn_stop_peers");
    for (flavour, rt) in runtimes() {
        on(
            &mut group,
            BenchmarkId::new(flavour, "bothways_async"),
            &rt,
            |iters| async move {
                let start = Instant::now();
                for _ in 0..iters {
                    bw_async::spawn_stop().await;
                }
                start.elapsed()
            },
        );
        on(
            &mut group,
            BenchmarkId::new(flavour, "kameo"),
            &rt,
            |iters| async move {
                let start = Instant::now();
                for _ in 0..iters {
                    km::spawn_stop().await;
                }
                start.elapsed()
            },
        );
        on(
            &mut group,
            BenchmarkId::new(flavour, "ractor"),
            &rt,
            |iters| async move {
                let start = Instant::now();
                for _ in 0..iters {
                    rc::spawn_stop().await;
                }
                start.elapsed()
            },
        );
    }
    group.bench_function("bothways_threads", |b| b.iter(bw_threads::spawn_stop));
    group.bench_function("crossbeam_actor", |b| {
        b.iter(|| assert_eq!(cb::spawn(SPAWN_CAPACITY).stop(), Some(0)));
    });
    group.bench_function("mpsc_actor", |b| {
        b.iter(|| assert_eq!(sm::spawn(SPAWN_CAPACITY).stop(), Some(0)));
    });
    group.finish();
}

fn config() -> Criterion {
    // 2 noisy cores: a shorter warm-up, and long enough a measurement to ride out neighbours.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = tell, ask_no_limit, ask_limit, spawn_stop
}
criterion_main!(benches);
