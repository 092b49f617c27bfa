//! Spawn cost: what it takes to start a unit of work and wait for it, a tokio task against an OS
//! thread.
//!
//! Timed exactly: spawning `n` units with an empty body, then joining (thread) or awaiting (task)
//! all `n`, divided by `n`; the median of the batches run within a fixed time (at least five),
//! so a quick run and a full one measure alike and differ only in how long they look. Threads come from
//! `std::thread::spawn` (Rust's default 2 MiB stack), tasks from `tokio::spawn` called on a runtime
//! worker (so they land in that worker's local queue, as a server's would).

use std::time::{Duration, Instant};

use crate::{Chart, Error, Experiment, Scale, Series, Style};

/// One measured variant.
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::spawn::{per_spawn_us, Variant};
/// assert!(per_spawn_us(Variant::Threads, 2, Duration::from_millis(2)).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `std::thread::spawn` + `join`.
    Threads,
    /// `tokio::spawn` + `.await` on a current_thread runtime.
    CurrentThread,
    /// `tokio::spawn` + `.await` on a two-worker multi_thread runtime.
    MultiThread,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Threads => "threads (std::thread::spawn)",
            Variant::CurrentThread => "tokio current_thread",
            Variant::MultiThread => "tokio multi_thread (2 workers)",
        }
    }

    fn style(self) -> Style {
        match self {
            Variant::Threads => Style::Threads,
            Variant::CurrentThread | Variant::MultiThread => Style::Async,
        }
    }
}

/// The median time, in µs, of one spawn + join of an empty body, when `n` are spawned before any
/// is joined: batches of `n` until `budget` has passed (at least 5 batches).
///
/// ```
/// use std::time::Duration;
/// use bothways_bench::spawn::{per_spawn_us, Variant};
/// let us = per_spawn_us(Variant::CurrentThread, 10, Duration::from_millis(2)).unwrap();
/// assert!(us > 0.0 && us.is_finite());
/// ```
pub fn per_spawn_us(variant: Variant, n: u64, budget: Duration) -> Result<f64, Error> {
    let n = n.max(1);
    let mut samples = match variant {
        Variant::Threads => threads(n, budget)?,
        Variant::CurrentThread => tasks(crate::runtime(false)?, false, n, budget)?,
        Variant::MultiThread => tasks(crate::runtime(true)?, true, n, budget)?,
    };
    samples.sort_by(f64::total_cmp);
    // Both measuring loops push one sample per batch or return an error, and batches >= 5, so
    // `samples` holds at least 5 values and the middle index is in bounds.
    Ok(samples[samples.len() / 2])
}

/// Whether to run another batch: fewer than five so far, or `budget` not yet spent.
fn more(samples: &[f64], began: Instant, budget: Duration) -> bool {
    samples.len() < 5 || began.elapsed() < budget
}

fn threads(n: u64, budget: Duration) -> Result<Vec<f64>, Error> {
    let mut samples = Vec::new();
    let mut handles = Vec::new();
    let began = Instant::now();
    while more(&samples, began, budget) {
        let start = Instant::now();
        for _ in 0..n {
            // Builder rather than thread::spawn: a failed spawn is an error, not a panic.
            let handle = std::thread::Builder::new()
                .spawn(|| {})
                .map_err(Error::io("spawning an empty thread"))?;
            handles.push(handle);
        }
        for h in handles.drain(..) {
            h.join().map_err(|_| Error::Panicked {
                what: "an empty thread".into(),
            })?;
        }
        samples.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    Ok(samples)
}

fn tasks(
    rt: tokio::runtime::Runtime,
    on_worker: bool,
    n: u64,
    budget: Duration,
) -> Result<Vec<f64>, Error> {
    let measure = async move {
        let mut samples = Vec::new();
        let mut handles = Vec::new();
        let began = Instant::now();
        while more(&samples, began, budget) {
            let start = Instant::now();
            for _ in 0..n {
                handles.push(tokio::spawn(async {}));
            }
            for h in handles.drain(..) {
                h.await.map_err(|_| Error::Panicked {
                    what: "an empty task".into(),
                })?;
            }
            samples.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
        }
        Ok(samples)
    };
    if on_worker {
        // Measured from a task on a worker: block_on's own thread is not a worker, and spawning
        // from it goes through the shared injection queue instead.
        rt.block_on(rt.spawn(measure))
            .map_err(|_| Error::Panicked {
                what: "the spawn-measuring task".into(),
            })?
    } else {
        rt.block_on(measure)
    }
}

/// Runs the experiment: N = units spawned before joining (1 … 1,000 quick, … 10,000 full),
/// batches for 50 ms per point (quick) or 500 ms (full).
///
/// ```
/// let e = bothways_bench::spawn::run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series.len(), 3);
/// ```
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let (ns, budget): (&[u64], u64) = match scale {
        Scale::Quick => (&[1, 100, 1_000], 50),
        Scale::Full => (&[1, 10, 100, 1_000, 10_000], 500),
    };
    run_with(ns, Duration::from_millis(budget), progress)
}

/// The experiment at the given N, batches for `budget` per point (see [`per_spawn_us`]).
///
/// ```
/// let e = bothways_bench::spawn::run_with(&[1, 10], std::time::Duration::from_millis(2), &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series[0].points.len(), 2);
/// ```
pub fn run_with(
    ns: &[u64],
    budget: Duration,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let mut series = Vec::new();
    for variant in [
        Variant::Threads,
        Variant::CurrentThread,
        Variant::MultiThread,
    ] {
        let mut points = Vec::new();
        for &n in ns {
            progress(&format!("spawn {} n={n}", variant.label()));
            // A failed point (e.g. a thread the kernel refuses) is a missing value with the
            // error as its note; the other points stand.
            points.push(crate::point(n, per_spawn_us(variant, n, budget), None));
        }
        series.push(Series {
            style: variant.style(),
            label: variant.label().into(),
            points,
        });
    }
    let chart = Chart {
        title: "Spawn + join of an empty body".into(),
        x_label: "units spawned before joining (N)".into(),
        y_label: "µs per spawn + join (median)".into(),
        log_x: true,
        series,
    };
    let mut notes = Vec::new();
    for &n in ns {
        let t = crate::value_at(&chart, Variant::Threads.label(), n);
        let ct = crate::value_at(&chart, Variant::CurrentThread.label(), n);
        let mt = crate::value_at(&chart, Variant::MultiThread.label(), n);
        if let (Some(t), Some(ct), Some(mt)) = (t, ct, mt) {
            notes.push(format!(
                "N = {}: a thread costs {t:.2} µs to spawn and join, a task {ct:.3} µs (current_thread) / {mt:.3} µs (multi_thread): threads are {:.0}× / {:.0}× dearer.",
                crate::thousands(n),
                t / ct,
                t / mt
            ));
        }
    }
    Ok(Experiment {
        id: "spawn",
        title: "Spawn cost: task vs thread".into(),
        claim: "Spawning a thread is a system call and a new stack, spawning a task is an allocation: tasks are far cheaper to start.".into(),
        charts: vec![chart],
        notes,
        peers: Vec::new(),
    })
}
