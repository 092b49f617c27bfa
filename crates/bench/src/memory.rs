//! Memory per idle unit: the resident memory N parked tasks or N parked threads add to a process.
//!
//! Measured in a fresh child process (the same binary, re-executed with a hidden argument, see
//! [`crate::child_main`]) rather than in the runner itself: the runner has already allocated and
//! freed for other experiments, and its allocator would hand that memory back to the new units
//! without the kernel seeing any growth. A fresh process starts from a clean heap, and a spawn
//! failure at tens of thousands of threads cannot starve the runner of threads either.
//!
//! Timed? No — counted exactly: the child reads its VmRSS and VmSize from /proc/self/status, starts
//! N units that each register as started and then park (task: awaiting a closed-later semaphore;
//! thread: waiting on a condvar), waits until all N have registered, reads again, and divides the
//! growth by N. VmRSS counts the pages actually touched (a thread's stack is reserved in full but
//! only touched pages are resident); the kernel's own per-thread memory (its kernel stack) is not
//! in VmRSS, so the system-wide KernelStack growth is reported beside it, noisy as it is.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::{Chart, Error, Experiment, Point, Scale, Series, Style, proc};

/// What is parked N times.
///
/// ```
/// use bothways_bench::memory::Unit;
/// assert_ne!(Unit::Thread(None), Unit::Thread(Some(64 * 1024)));
/// assert_ne!(Unit::Task, Unit::Thread(None));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A tokio task on a current_thread runtime.
    Task,
    /// An OS thread with this stack size in bytes (`None`: Rust's default, 2 MiB).
    Thread(Option<usize>),
}

impl Unit {
    fn label(self) -> String {
        match self {
            Unit::Task => "async: tokio task".into(),
            Unit::Thread(None) => "threads: default 2 MiB stack".into(),
            Unit::Thread(Some(s)) => format!("threads: {} KiB stack", s / 1024),
        }
    }
}

/// The most units one child accepts: bounds the handle vector allocated from its argument, and
/// stays far above the issue's 50,000.
pub const MAX_UNITS: u64 = 1_000_000;

/// PIDs kept free for the machine's other processes when spawning threads by the ten thousand.
const SPARE_PIDS: u64 = 1024;

/// What one child measured.
///
/// ```
/// let s = bothways_bench::memory::Sample {
///     requested: 10, spawned: 10, rss_kib_per_unit: 8.0, vm_kib_per_unit: 72.0,
///     kernel_stack_kib_per_unit: 16.0, stopped: None,
/// };
/// assert_eq!(s.requested, s.spawned); // every unit started: a full point
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Units asked for.
    pub requested: u64,
    /// Units actually started and parked.
    pub spawned: u64,
    /// VmRSS growth per started unit, KiB.
    pub rss_kib_per_unit: f64,
    /// VmSize (address space) growth per started unit, KiB.
    pub vm_kib_per_unit: f64,
    /// System-wide KernelStack growth per started unit, KiB (noisy: other processes count too).
    pub kernel_stack_kib_per_unit: f64,
    /// Why fewer than `requested` were started, if so.
    pub stopped: Option<String>,
}

/// Starts `exe` as a memory child that parks `n` units and returns what it measured. `exe` must
/// call [`crate::child_main`] first in its main (the runner's binary does, and so does this
/// crate's `bothways-bench`).
///
/// ```no_run
/// // no_run: needs a binary that calls child_main; this crate's tests use bothways-bench's.
/// use bothways_bench::memory::{measure, Unit};
/// let exe = std::env::current_exe().unwrap();
/// let s = measure(&exe, Unit::Thread(Some(64 * 1024)), 1000).unwrap();
/// println!("{:.1} KiB per thread", s.rss_kib_per_unit);
/// ```
pub fn measure(exe: &Path, unit: Unit, n: u64) -> Result<Sample, Error> {
    check_units(n)?;
    let (kind, stack) = match unit {
        Unit::Task => ("task", 0),
        Unit::Thread(s) => ("thread", s.unwrap_or(0)),
    };
    let role = format!("memory {kind} {n} {stack}");
    let out = crate::child::run(
        exe,
        &["memory", kind, &n.to_string(), &stack.to_string()],
        Duration::from_secs(120),
    )?;
    let bad = || Error::Child {
        role: role.clone(),
        detail: format!("unexpected output {out:?}"),
    };
    let mut lines = out.lines();
    let nums: Vec<u64> = lines
        .next()
        .ok_or_else(bad)?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let [spawned, rss0, rss1, vm0, vm1, ks0, ks1] = nums[..] else {
        return Err(bad());
    };
    let per = |a: u64, b: u64| b.saturating_sub(a) as f64 / spawned.max(1) as f64;
    Ok(Sample {
        requested: n,
        spawned,
        rss_kib_per_unit: per(rss0, rss1),
        vm_kib_per_unit: per(vm0, vm1),
        kernel_stack_kib_per_unit: per(ks0, ks1),
        stopped: lines.next().map(str::to_owned),
    })
}

fn check_units(n: u64) -> Result<(), Error> {
    if n > MAX_UNITS {
        return Err(Error::TooLarge {
            what: "idle units".into(),
            got: n,
            max: MAX_UNITS,
        });
    }
    Ok(())
}

/// The child role: `memory <task|thread> <n> <stack bytes, 0 = default>`; prints
/// `spawned rss0 rss1 vm0 vm1 kstack0 kstack1` (KiB) and, if it stopped early, why.
pub(crate) fn child(args: &[String]) -> Result<(), Error> {
    let bad = || Error::Child {
        role: format!("memory {}", args.join(" ")),
        detail: "bad arguments".into(),
    };
    let [kind, n, stack] = args else {
        return Err(bad());
    };
    let n: u64 = n.parse().map_err(|_| bad())?;
    // Checked here too: the handle vectors below are allocated from this argument.
    check_units(n)?;
    let stack: usize = stack.parse().map_err(|_| bad())?;
    let (spawned, before, after, stopped) = match kind.as_str() {
        "task" => park_tasks(n)?,
        "thread" => park_threads(n, (stack > 0).then_some(stack))?,
        _ => return Err(bad()),
    };
    println!(
        "{spawned} {} {} {} {} {} {}",
        before.0, after.0, before.1, after.1, before.2, after.2
    );
    if let Some(why) = stopped {
        println!("{why}");
    }
    Ok(())
}

type Reading = (u64, u64, u64);

fn read() -> Result<Reading, Error> {
    Ok((
        proc::rss_kib(None)?,
        proc::vm_kib(None)?,
        proc::kernel_stack_kib()?,
    ))
}

/// Threads started between two looks at the kernel's limits.
const LIMIT_BATCH: u64 = 256;

/// Waits (at most [`PARK_DEADLINE`]) until `n` threads have registered as started.
fn wait_started(started: &AtomicU64, n: u64) {
    let t0 = Instant::now();
    while started.load(Ordering::Relaxed) < n && t0.elapsed() < PARK_DEADLINE {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How long the child waits for its units to park before giving up.
const PARK_DEADLINE: Duration = Duration::from_secs(60);

fn park_tasks(n: u64) -> Result<(u64, Reading, Reading, Option<String>), Error> {
    let rt = crate::runtime(false)?;
    rt.block_on(async {
        let before = read()?;
        let started = Arc::new(AtomicU64::new(0));
        // Zero permits: every task parks in acquire() until close() wakes them all with an error.
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        // n <= MAX_UNITS (checked by `child`), so this allocation is bounded.
        let mut handles = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for _ in 0..n {
            let (started, gate) = (started.clone(), gate.clone());
            handles.push(tokio::spawn(async move {
                started.fetch_add(1, Ordering::Relaxed);
                let _ = gate.acquire().await;
            }));
        }
        let t0 = Instant::now();
        while started.load(Ordering::Relaxed) < n {
            if t0.elapsed() > PARK_DEADLINE {
                return Err(Error::Timeout {
                    what: "tasks parking".into(),
                    after: PARK_DEADLINE,
                });
            }
            tokio::task::yield_now().await;
        }
        let after = read()?;
        gate.close();
        for h in handles {
            h.await.map_err(|_| Error::Panicked {
                what: "an idle task".into(),
            })?;
        }
        Ok((n, before, after, None))
    })
}

fn park_threads(
    n: u64,
    stack: Option<usize>,
) -> Result<(u64, Reading, Reading, Option<String>), Error> {
    let limits = proc::ThreadLimits::read(SPARE_PIDS)?;
    let before = read()?;
    let started = Arc::new(AtomicU64::new(0));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    // n <= MAX_UNITS (checked by `child`), so this allocation is bounded.
    let mut handles = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut stopped = None;
    for i in 0..n {
        if i % LIMIT_BATCH == 0 {
            // Let the started threads map their signal stacks before counting mappings.
            wait_started(&started, i);
            if let Some(why) = limits.blocks(i, LIMIT_BATCH.min(n - i))? {
                stopped = Some(format!(
                    "stopped at {} of {}: {why}",
                    crate::thousands(i),
                    crate::thousands(n)
                ));
                break;
            }
        }
        let (started, gate) = (started.clone(), gate.clone());
        let mut b = std::thread::Builder::new();
        if let Some(s) = stack {
            b = b.stack_size(s);
        }
        let spawned = b.spawn(move || {
            started.fetch_add(1, Ordering::Relaxed);
            let (lock, cvar) = &*gate;
            // A poisoned lock means another idle thread panicked: nothing to protect, just leave.
            let Ok(mut open) = lock.lock() else { return };
            while !*open {
                match cvar.wait(open) {
                    Ok(g) => open = g,
                    Err(_) => return,
                }
            }
        });
        match spawned {
            Ok(h) => handles.push(h),
            Err(e) => {
                stopped = Some(format!(
                    "thread spawn failed at {} of {}: {e}",
                    crate::thousands(i),
                    crate::thousands(n)
                ));
                break;
            }
        }
    }
    let spawned = handles.len() as u64;
    wait_started(&started, spawned);
    let parked = started.load(Ordering::Relaxed) == spawned;
    let after = read();
    // Release and join every thread we started, whatever happened, before reporting.
    {
        let (lock, cvar) = &*gate;
        if let Ok(mut open) = lock.lock() {
            *open = true;
        }
        cvar.notify_all();
    }
    for h in handles {
        h.join().map_err(|_| Error::Panicked {
            what: "an idle thread".into(),
        })?;
    }
    if !parked {
        return Err(Error::Timeout {
            what: "threads parking".into(),
            after: PARK_DEADLINE,
        });
    }
    Ok((spawned, before, after?, stopped))
}

/// Runs the experiment: N idle units = 1,000 / 5,000 (quick) or 1,000 / 10,000 / 50,000 (full), each
/// measured in a fresh child of `std::env::current_exe()`.
///
/// ```no_run
/// // no_run: re-executes the current binary, which must call child_main (a doc test does not).
/// let e = bothways_bench::memory::run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// ```
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let exe = std::env::current_exe().map_err(Error::io("finding the current executable"))?;
    let ns: &[u64] = match scale {
        // Two N even at quick scale, so the chart is a line and the fixed costs (runtime,
        // allocator arenas) can be told apart from the per-unit slope; not below 1,000, where a
        // few hundred tasks fit in heap pages the runtime already holds and show 0 KiB.
        Scale::Quick => &[1_000, 5_000],
        Scale::Full => &[1_000, 10_000, 50_000],
    };
    run_with(&exe, ns, progress)
}

/// The experiment at the given N, children started from `exe` (see [`measure`]).
///
/// ```no_run
/// // no_run: needs a binary that calls child_main (see `measure`).
/// let exe = std::path::Path::new("target/release/bothways-bench");
/// let e = bothways_bench::memory::run_with(exe, &[100], &mut |_| {}).unwrap();
/// ```
pub fn run_with(
    exe: &Path,
    ns: &[u64],
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let units = [
        Unit::Task,
        Unit::Thread(Some(64 * 1024)),
        Unit::Thread(None),
    ];
    let mut rss = Vec::new();
    let mut vm = Vec::new();
    let mut notes = Vec::new();
    // (label, N) -> (units started, total VmSize growth in KiB), for the fixed-plus-slope fit.
    let mut totals = std::collections::HashMap::new();
    for unit in units {
        let style = if unit == Unit::Task {
            Style::Async
        } else {
            Style::Threads
        };
        let (mut rp, mut vp) = (Vec::new(), Vec::new());
        for &n in ns {
            progress(&format!("memory {} N={n}", unit.label()));
            let s = match measure(exe, unit, n) {
                Ok(s) => s,
                Err(e) => {
                    // This N failed (child error, limit, timeout): an empty point, the others stand.
                    let why = e.to_string();
                    notes.push(format!(
                        "{} at N = {}: not measured: {why}.",
                        unit.label(),
                        crate::thousands(n)
                    ));
                    for points in [&mut rp, &mut vp] {
                        points.push(Point {
                            n,
                            value: None,
                            note: Some(why.clone()),
                        });
                    }
                    continue;
                }
            };
            totals.insert(
                (unit.label(), n),
                (s.spawned, s.vm_kib_per_unit * s.spawned as f64),
            );
            let note = s.stopped.clone();
            let full = s.spawned == n;
            rp.push(Point {
                n,
                value: full.then_some(s.rss_kib_per_unit),
                note: note.clone(),
            });
            vp.push(Point {
                n,
                value: full.then_some(s.vm_kib_per_unit),
                note: note.clone(),
            });
            if unit != Unit::Task && s.spawned > 0 {
                notes.push(format!(
                    "{} at N = {}: {} started, {:.1} KiB resident each, {:.0} KiB of address space each, plus {:.1} KiB of kernel stack each (system-wide KernelStack, not in VmRSS; noisy).",
                    unit.label(),
                    crate::thousands(n),
                    crate::thousands(s.spawned),
                    s.rss_kib_per_unit,
                    s.vm_kib_per_unit,
                    s.kernel_stack_kib_per_unit
                ));
            }
            if let Some(why) = note {
                notes.push(format!(
                    "{} at N = {}: {why}.",
                    unit.label(),
                    crate::thousands(n)
                ));
            }
        }
        rss.push(Series {
            style,
            label: unit.label(),
            points: rp,
        });
        vm.push(Series {
            style,
            label: unit.label(),
            points: vp,
        });
    }
    let rss = Chart {
        title: "Resident memory per idle unit".into(),
        x_label: "idle tasks or threads (N)".into(),
        y_label: "KiB per unit (VmRSS growth / N)".into(),
        log_x: true,
        series: rss,
    };
    let vm = Chart {
        title: "Address space (VmSize) growth per idle unit".into(),
        x_label: "idle tasks or threads (N)".into(),
        y_label:
            "KiB per unit (VmSize growth / N; fixed costs such as malloc arenas are spread over N)"
                .into(),
        log_x: true,
        series: vm,
    };
    let mut summary = Vec::new();
    let (task_l, small_l, default_l) = (
        Unit::Task.label(),
        Unit::Thread(Some(64 * 1024)).label(),
        Unit::Thread(None).label(),
    );
    for &n in ns {
        let task = crate::value_at(&rss, &task_l, n);
        let small = crate::value_at(&rss, &small_l, n);
        let default = crate::value_at(&rss, &default_l, n);
        if let (Some(task), Some(small), Some(default)) = (task, small, default) {
            summary.push(format!(
                "N = {}: an idle task holds {:.2} KiB resident, an idle thread {small:.1} KiB (64 KiB stack) / {default:.1} KiB (default stack): {:.0}× more.",
                crate::thousands(n),
                task,
                default / task.max(f64::MIN_POSITIVE)
            ));
        }
        // Whether the 2 MiB stack is resident or only reserved, judged from the two thread series:
        // same resident memory as with a 64 KiB stack, but ~1,984 KiB more address space each.
        let vsmall = crate::value_at(&vm, &small_l, n);
        let vdefault = crate::value_at(&vm, &default_l, n);
        if let (Some(small), Some(default), Some(vsmall), Some(vdefault)) =
            (small, default, vsmall, vdefault)
        {
            let extra_rss = default - small;
            let extra_vm = vdefault - vsmall;
            let verdict = if extra_rss.abs() <= (0.1 * small).max(4.0) {
                "so the bigger stack is reserved, not resident: only the pages a thread touches count"
            } else {
                "so the bigger stack costs resident memory too"
            };
            summary.push(format!(
                "N = {}: a default-stack thread holds {extra_rss:+.1} KiB resident and {extra_vm:+.0} KiB of address space more than a 64 KiB-stack one (the stacks differ by 1,984 KiB), {verdict}.",
                crate::thousands(n)
            ));
        }
    }
    // Address space = fixed + slope × N, fitted through the two smallest fully measured N: a
    // thread's VmSize growth per unit falls as N grows, so part of it is not per thread.
    let fit = |label: &String| {
        let mut pts: Vec<(u64, f64)> = ns
            .iter()
            .filter_map(|&n| totals.get(&(label.clone(), n)).copied())
            .filter(|&(spawned, _)| spawned > 0)
            .collect();
        pts.sort_by_key(|p| p.0);
        pts.dedup_by_key(|p| p.0);
        match pts[..] {
            [(n0, v0), (n1, v1), ..] => {
                let slope = (v1 - v0) / (n1 - n0) as f64;
                Some((slope, v0 - slope * n0 as f64, n0, n1))
            }
            _ => None,
        }
    };
    let (small_fit, default_fit) = (fit(&small_l), fit(&default_l));
    for (label, f) in [
        (&small_l, small_fit),
        (&default_l, default_fit),
        (&task_l, fit(&task_l)),
    ] {
        if let Some((slope, fixed, n0, n1)) = f {
            summary.push(format!(
                "{label}: address space grows by {:.0} MiB + {slope:.1} KiB per unit (fitted through N = {} and {}).",
                fixed / 1024.0,
                crate::thousands(n0),
                crate::thousands(n1)
            ));
        }
    }
    if let (Some((s_small, f_small, ..)), Some((s_default, f_default, ..))) =
        (small_fit, default_fit)
    {
        let diff = s_default - s_small;
        let follows = (diff - 1984.0).abs() <= 0.1 * 1984.0;
        summary.push(format!(
            "The per-thread slopes differ by {diff:.0} KiB where the stacks differ by 1,984 KiB: {}. The fixed part ({:.0} / {:.0} MiB, {:.1} × 64 MiB) does not grow with N; it is supposed, not verified here, to be glibc's per-thread malloc arenas (64 MiB of address space each, up to 8 per core), reserved rather than resident, and it is why the per-thread address space in the chart shrinks as N grows.",
            if follows {
                "the slope is the stack (with its guard page and std's signal stack), verified"
            } else {
                "the slope is NOT simply the stack size here"
            },
            f_small / 1024.0,
            f_default / 1024.0,
            f_small / (64.0 * 1024.0)
        ));
    }
    summary.extend(notes);
    let notes = summary;
    Ok(Experiment {
        id: "memory",
        title: "Memory per idle task vs per idle thread".into(),
        claim: "A thread's stack is megabytes while a task is kilobytes, so threads run out of memory long before tasks do.".into(),
        charts: vec![rss, vm],
        notes,
        peers: Vec::new(),
    })
}
