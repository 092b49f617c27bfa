//! The two async pitfalls the seeds warn about, shown and measured: a handler that blocks stalls
//! its neighbours on the same worker (and `spawn_blocking` removes the stall), and a
//! `std::sync::Mutex` guard held across `.await` deadlocks a current_thread runtime (and
//! `tokio::sync::Mutex` does not).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{Chart, Error, Experiment, Point, Scale, Series, Style};

/// The runtime flavour the handlers and their neighbour share.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::pitfalls::{neighbour_lateness, Flavour, Handling};
/// let late = neighbour_lateness(Flavour::MultiThread, Handling::SpawnBlocking, 1, Duration::from_millis(5));
/// assert!(late.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// One thread runs every task.
    CurrentThread,
    /// Two workers.
    MultiThread,
}

/// Where the blocking work of a handler runs.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::pitfalls::{neighbour_lateness, Flavour, Handling};
/// let late = neighbour_lateness(Flavour::CurrentThread, Handling::SpawnBlocking, 1, Duration::from_millis(5));
/// assert!(late.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handling {
    /// Right in the handler task, on a runtime worker: the pitfall.
    Inline,
    /// Moved to tokio's blocking pool with `spawn_blocking` and awaited: the fix.
    SpawnBlocking,
}

/// The neighbour's period: it wants to run every millisecond.
const TICK: Duration = Duration::from_millis(1);

/// The worst lateness of a neighbour task that ticks every millisecond, while `handlers` handler
/// tasks each block for `block` (a `std::thread::sleep`, standing for any blocking call or long
/// computation) — inline, or through `spawn_blocking`.
///
/// Timed exactly: the neighbour's `tokio::time::interval` (missed ticks burst, so a stall shows as
/// one very late tick) yields each tick's scheduled instant; lateness is the time it actually ran
/// minus that instant; the maximum over the run (20 ms before the handlers start until 20 ms after
/// they all finish) is returned.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::pitfalls::{neighbour_lateness, Flavour, Handling};
/// let late = neighbour_lateness(Flavour::CurrentThread, Handling::Inline, 1, Duration::from_millis(50)).unwrap();
/// assert!(late >= Duration::from_millis(40)); // the neighbour waited for the blocking handler
/// ```
pub fn neighbour_lateness(
    flavour: Flavour,
    handling: Handling,
    handlers: usize,
    block: Duration,
) -> Result<Duration, Error> {
    lateness(flavour, handling, handlers, block).map(|l| l.worst)
}

/// The neighbour's worst lateness, and where its worst tick ran.
#[derive(Debug, Clone, Copy)]
struct Lateness {
    worst: Duration,
    /// Whether the worst tick ran on the thread of a handler that blocked inline: the neighbour
    /// then waited out the block queued on that worker, instead of running on another one.
    behind_handler: bool,
}

fn lateness(
    flavour: Flavour,
    handling: Handling,
    handlers: usize,
    block: Duration,
) -> Result<Lateness, Error> {
    let rt = crate::runtime(flavour == Flavour::MultiThread)?;
    rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let neighbour = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut interval = tokio::time::interval(TICK);
                let mut worst = (Duration::ZERO, std::thread::current().id());
                while !stop.load(Ordering::Relaxed) {
                    let scheduled = interval.tick().await;
                    let late = tokio::time::Instant::now() - scheduled;
                    if late > worst.0 {
                        worst = (late, std::thread::current().id());
                    }
                }
                worst
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The threads the inline handlers blocked, to tell where the neighbour's worst tick ran.
        let blocked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..handlers {
            let blocked = blocked.clone();
            set.spawn(async move {
                match handling {
                    Handling::Inline => {
                        if let Ok(mut b) = blocked.lock() {
                            b.push(std::thread::current().id());
                        }
                        std::thread::sleep(block)
                    }
                    Handling::SpawnBlocking => {
                        let _ =
                            tokio::task::spawn_blocking(move || std::thread::sleep(block)).await;
                    }
                }
            });
        }
        while let Some(r) = set.join_next().await {
            r.map_err(|_| Error::Panicked {
                what: "a blocking handler".into(),
            })?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        stop.store(true, Ordering::Relaxed);
        let (worst, on) = neighbour.await.map_err(|_| Error::Panicked {
            what: "the ticking neighbour".into(),
        })?;
        let behind_handler = blocked.lock().is_ok_and(|b| b.contains(&on));
        Ok(Lateness {
            worst,
            behind_handler,
        })
    })
}

/// Which mutex the contending tasks hold across an `.await`.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::pitfalls::{contend, MutexKind};
/// let c = contend(MutexKind::Tokio, 2, Duration::from_secs(10)).unwrap();
/// assert_eq!(c.rounds_done, c.rounds);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutexKind {
    /// `std::sync::Mutex`: its guard blocks the whole thread while another task holds it.
    Std,
    /// `tokio::sync::Mutex`: waiting for it yields to the runtime.
    Tokio,
}

/// Lock, await, unlock rounds per task.
const ROUNDS: usize = 100;

/// What [`contend`] saw.
///
/// ```
/// let c = bothways_bench::pitfalls::Contention { elapsed: None, rounds_done: 0, rounds: 200 };
/// assert!(c.elapsed.is_none() && c.rounds_done < c.rounds); // stuck: no round completed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contention {
    /// Time for every round of every task; `None` if they were not all done within the cut.
    pub elapsed: Option<Duration>,
    /// Rounds completed (lock, await, unlock) by all tasks together when the run ended or was cut.
    pub rounds_done: u64,
    /// Rounds asked for: tasks × 100.
    pub rounds: u64,
}

/// `tasks` tasks on a current_thread runtime each lock a shared mutex, hold the guard across a
/// `yield_now().await`, and unlock, 100 times; returns how long that took, or, if it was not done
/// within `cut`, how many rounds had completed by then (counted in an atomic, so a slow machine
/// shows as "some rounds done" and a deadlock as "0 done").
///
/// The runtime runs on a thread of its own, watched from the caller with a timeout. A deadlocked
/// runtime can be neither resumed nor dropped (its only thread is blocked in `Mutex::lock`), so that
/// thread is abandoned: one parked thread (256 KiB stack, no file descriptors: the runtime has no
/// I/O or timer driver) leaks per deadlocked call, and it does not keep the process from exiting
/// (returning from `main` ends every thread).
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::pitfalls::{contend, MutexKind};
/// assert!(contend(MutexKind::Tokio, 2, Duration::from_secs(10)).unwrap().elapsed.is_some());
/// ```
pub fn contend(kind: MutexKind, tasks: usize, cut: Duration) -> Result<Contention, Error> {
    let rounds = (tasks as u64).saturating_mul(ROUNDS as u64);
    let done = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let counter = done.clone();
    std::thread::Builder::new()
        .name(format!("bothways-bench {kind:?} mutex"))
        .stack_size(256 * 1024)
        .spawn(move || {
            let result = tokio::runtime::Builder::new_current_thread()
                .build()
                .map_err(Error::io("building a current_thread runtime"))
                .map(|rt| {
                    let start = Instant::now();
                    // A LocalSet: a std guard held across .await makes the task !Send.
                    tokio::task::LocalSet::new().block_on(&rt, async {
                        match kind {
                            MutexKind::Std => std_rounds(tasks, counter).await,
                            MutexKind::Tokio => tokio_rounds(tasks, counter).await,
                        }
                    });
                    start.elapsed()
                });
            let _ = tx.send(result); // the caller may have given up: nothing to do then
        })
        .map_err(Error::io("spawning the mutex runtime's thread"))?;
    let elapsed = match rx.recv_timeout(cut) {
        Ok(result) => Some(result?),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            return Err(Error::Panicked {
                what: format!("the {kind:?} mutex runtime"),
            });
        }
    };
    Ok(Contention {
        elapsed,
        rounds_done: done.load(Ordering::SeqCst),
        rounds,
    })
}

/// The pitfall itself, on purpose: the guard lives across the await. When the first task yields
/// holding the lock, the second calls `lock()`, which blocks the runtime's only thread, so the
/// first can never run again to unlock.
#[allow(clippy::await_holding_lock)] // the deadlock is what this function demonstrates
async fn std_rounds(tasks: usize, done: Arc<AtomicU64>) {
    let shared = Arc::new(std::sync::Mutex::new(0u64));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (shared, done) = (shared.clone(), done.clone());
            tokio::task::spawn_local(async move {
                for _ in 0..ROUNDS {
                    // A poisoned lock means a task panicked: stop this one too.
                    let Ok(mut guard) = shared.lock() else { return };
                    tokio::task::yield_now().await;
                    *guard += 1;
                    drop(guard);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.await;
    }
}

/// The same rounds with tokio's mutex: `lock().await` yields, so the holder runs and unlocks.
async fn tokio_rounds(tasks: usize, done: Arc<AtomicU64>) {
    let shared = Arc::new(tokio::sync::Mutex::new(0u64));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (shared, done) = (shared.clone(), done.clone());
            tokio::task::spawn_local(async move {
                for _ in 0..ROUNDS {
                    let mut guard = shared.lock().await;
                    tokio::task::yield_now().await;
                    *guard += 1;
                    drop(guard);
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for h in handles {
        let _ = h.await;
    }
}

/// How long a handler blocks: the seeds' 200 ms.
const BLOCK: Duration = Duration::from_millis(200);

/// Runs the blocking-handler pitfall, inline vs `spawn_blocking`, on both runtime flavours, each
/// point the median of several runs, each handler blocking the seeds' 200 ms: quick, 1 and 2
/// handlers, 3 runs; full, 1, 2 and 4 handlers, 5 runs. The block is the same in both, since the
/// lateness it causes is the figure: a quick run's must read like a full one's.
///
/// ```no_run
/// // no_run: takes a couple of seconds of sleeping handlers.
/// let e = bothways_bench::pitfalls::run_blocking(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// ```
pub fn run_blocking(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let (ns, block, repeats): (&[usize], Duration, usize) = match scale {
        Scale::Quick => (&[1, 2], BLOCK, 3),
        Scale::Full => (&[1, 2, 4], BLOCK, 5),
    };
    run_blocking_with(ns, block, repeats, progress)
}

/// The blocking-handler pitfall at the given handler counts, each blocking for `block`, each point
/// the median of `repeats` runs (a failed point is empty, its note saying why).
///
/// ```
/// let e = bothways_bench::pitfalls::run_blocking_with(&[1], std::time::Duration::from_millis(20), 1, &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series.len(), 4);
/// ```
pub fn run_blocking_with(
    ns: &[usize],
    block: Duration,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let repeats = repeats.max(1);
    let mut notes = Vec::new();
    let variants = [
        (
            Flavour::CurrentThread,
            Handling::Inline,
            "current_thread, blocking inline",
        ),
        (
            Flavour::CurrentThread,
            Handling::SpawnBlocking,
            "current_thread, spawn_blocking",
        ),
        (
            Flavour::MultiThread,
            Handling::Inline,
            "multi_thread (2 workers), blocking inline",
        ),
        (
            Flavour::MultiThread,
            Handling::SpawnBlocking,
            "multi_thread (2 workers), spawn_blocking",
        ),
    ];
    let mut series = Vec::new();
    for (flavour, handling, label) in variants {
        let mut points = Vec::new();
        for &n in ns {
            progress(&format!("pitfall-blocking {label}, {n} handlers"));
            let mut behind = Vec::new();
            let measured = crate::median_of(repeats, || {
                let l = lateness(flavour, handling, n, block)?;
                let ms = l.worst.as_secs_f64() * 1e3;
                behind.push((ms, l.behind_handler));
                Ok(ms)
            });
            let mut remark = None;
            if let Ok((_, runs)) = &measured {
                let list: Vec<String> = runs.iter().map(|r| format!("{r:.1}")).collect();
                let mut r = format!("runs: {} ms", list.join(", "));
                if (flavour, handling) == (Flavour::MultiThread, Handling::Inline) {
                    // Where the worst tick ran says whether the neighbour waited behind a handler.
                    let on = behind.iter().filter(|b| b.1).count();
                    r.push_str(&format!(
                        "; worst tick on a blocked handler's thread in {on} of {}",
                        behind.len()
                    ));
                }
                remark = Some(r);
                if let Some(why) = bimodal(&behind, block, flavour, handling) {
                    notes.push(format!("{label}, {n} handler(s): {why}"));
                }
            }
            points.push(crate::point(n as u64, measured.map(|(m, _)| m), remark));
        }
        series.push(Series {
            style: Style::Async,
            label: label.into(),
            points,
        });
    }
    let chart = Chart {
        title: format!(
            "A 1 ms ticker's worst lateness while handlers block {} ms",
            block.as_millis()
        ),
        x_label: "concurrently blocking handlers (N)".into(),
        y_label: format!("ms, worst lateness of the neighbour's tick (median of {repeats} runs)"),
        log_x: false,
        series,
    };
    for &n in ns {
        let v: Vec<Option<f64>> = variants
            .iter()
            .map(|(_, _, l)| crate::value_at(&chart, l, n as u64))
            .collect();
        if let [Some(ci), Some(cs), Some(mi), Some(ms)] = v[..] {
            notes.push(format!(
                "{n} handler(s) blocking {} ms, medians: the neighbour ran up to {ci:.1} ms late on current_thread with the blocking inline, {cs:.1} ms with spawn_blocking; on multi_thread {mi:.1} ms inline, {ms:.1} ms with spawn_blocking.",
                block.as_millis()
            ));
        }
    }
    Ok(Experiment {
        id: "pitfall-blocking",
        title: "Pitfall: a blocking handler stalls its neighbours".into(),
        claim: "A handler that blocks (a 200 ms sleep or hash) stalls every task on the same worker, and spawn_blocking removes the stall.".into(),
        charts: vec![chart],
        notes,
        peers: Vec::new(),
    })
}

/// Whether the runs (worst lateness in ms, and whether that tick ran on a blocked handler's
/// thread) split into stalled (at least 3/4 of a block late) and unstalled (under 1/4), and where
/// the neighbour was in each; `None` when they do not split.
fn bimodal(
    runs: &[(f64, bool)],
    block: Duration,
    flavour: Flavour,
    handling: Handling,
) -> Option<String> {
    let block_ms = block.as_secs_f64() * 1e3;
    let stalled: Vec<&(f64, bool)> = runs.iter().filter(|r| r.0 >= 0.75 * block_ms).collect();
    let free = runs.iter().filter(|r| r.0 < 0.25 * block_ms).count();
    if stalled.is_empty() || free == 0 {
        return None;
    }
    let behind = stalled.iter().filter(|r| r.1).count();
    let whereabouts = if handling == Handling::SpawnBlocking {
        "no handler blocks a worker here, so the stall is the machine's: the runtime's thread did not get the CPU (other load on 2 cores)".to_owned()
    } else if flavour == Flavour::MultiThread {
        format!(
            "in {behind} of the {} stalled runs the late tick ran on the very thread the handler blocked: the neighbour was queued on that worker and the second worker did not take it over (tokio's LIFO slot, supposedly, which other workers do not steal from); in the others it ran elsewhere, late because its own thread did not get the CPU (other load on 2 cores)",
            stalled.len()
        )
    } else {
        "current_thread has one worker, so a stall means the neighbour waited for it".into()
    };
    let list: Vec<String> = runs.iter().map(|r| format!("{:.1}", r.0)).collect();
    Some(format!(
        "bimodal: runs {} ms; {} of {} stalled for at least 3/4 of the {block_ms:.0} ms block, {free} stayed under 1/4 of it; {whereabouts}.",
        list.join(", "),
        stalled.len(),
        runs.len()
    ))
}

/// Runs the mutex pitfall: two tasks on a current_thread runtime, std vs tokio mutex; the std run
/// is cut at 1 s, the tokio run at 10 s (a loaded machine must not pass for a deadlock). Leaks one
/// parked thread (see [`contend`]).
///
/// ```
/// let e = bothways_bench::pitfalls::run_mutex(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series[0].points[0].value, None); // std: deadlocked
/// ```
pub fn run_mutex(_scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let tasks = 2;
    let mut series = Vec::new();
    let mut notes = Vec::new();
    for (kind, cut, label) in [
        (
            MutexKind::Std,
            Duration::from_secs(1),
            "std::sync::Mutex held across .await",
        ),
        (
            MutexKind::Tokio,
            Duration::from_secs(10),
            "tokio::sync::Mutex held across .await",
        ),
    ] {
        progress(&format!("pitfall-mutex {label}"));
        let c = contend(kind, tasks, cut)?;
        let point = match c.elapsed {
            Some(d) => {
                notes.push(format!(
                    "{label}: {tasks} tasks × {ROUNDS} rounds completed in {:.3} ms.",
                    d.as_secs_f64() * 1e3
                ));
                Point {
                    n: tasks as u64,
                    value: Some(d.as_secs_f64() * 1e3),
                    note: None,
                }
            }
            None => {
                let why = format!(
                    "{} of {} rounds done after {} s{}",
                    c.rounds_done,
                    c.rounds,
                    cut.as_secs(),
                    if c.rounds_done == 0 {
                        ": deadlocked, no round ever completed"
                    } else {
                        ": slow or stuck, not a clean deadlock"
                    }
                );
                notes.push(format!(
                    "{label}: {why} (the runtime's thread is abandoned, blocked in lock())."
                ));
                Point {
                    n: tasks as u64,
                    value: None,
                    note: Some(why),
                }
            }
        };
        series.push(Series {
            style: Style::Async,
            label: label.into(),
            points: vec![point],
        });
    }
    Ok(Experiment {
        id: "pitfall-mutex",
        title: "Pitfall: a std Mutex held across .await".into(),
        claim: "A std::sync::Mutex guard held across .await deadlocks a current_thread runtime, while tokio::sync::Mutex does not.".into(),
        charts: vec![Chart {
            title: format!("{tasks} tasks contending on one mutex, current_thread runtime"),
            x_label: "contending tasks (N)".into(),
            y_label: format!("ms to finish {ROUNDS} lock–await–unlock rounds each (none: not done within the cut)"),
            log_x: false,
            series,
        }],
        notes,
        peers: Vec::new(),
    })
}
