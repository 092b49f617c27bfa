//! The experiments behind the debate: every claim the seeds make about tasks and threads, measured
//! on this machine and returned as charts of a figure against N, with findings in words.
//!
//! Each experiment is a module with a `run(Scale, progress)` entry point, listed in
//! [`EXPERIMENTS`]. Two of them (memory, C10K) measure a *child process*, so the binary that runs
//! them must call [`child_main`] first thing in its `main`:
//!
//! ```no_run
//! // no_run: a real binary's main; running it here would start the whole suite.
//! use std::process::ExitCode;
//!
//! fn main() -> ExitCode {
//!     if let Some(code) = bothways_bench::child_main() {
//!         return code; // this process was started as a measured child
//!     }
//!     for (id, run) in bothways_bench::EXPERIMENTS {
//!         match run(bothways_bench::Scale::Quick, &mut |msg| eprintln!("{id}: {msg}")) {
//!             Ok(experiment) => println!("{experiment:#?}"),
//!             Err(e) => eprintln!("{id}: {e}"),
//!         }
//!     }
//!     ExitCode::SUCCESS
//! }
//! ```

pub mod c10k;
mod child;
pub mod history;
pub mod memory;
pub mod pitfalls;
mod proc;
pub mod spawn;
pub mod switch;

use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

/// How much to measure: `Quick` runs each experiment at fewer N and for less time (under half a
/// minute in all), `Full` uses the issue's N (1k/10k/50k idle units, 1k/5k/10k clients) and
/// takes a few minutes. Each figure is measured for a *time*, not a count, and both scales share
/// some N, so a quick figure reads like the full one at the same N.
///
/// ```
/// assert_ne!(bothways_bench::Scale::Quick, bothways_bench::Scale::Full);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Small N, for the default run and CI.
    Quick,
    /// The issue's N.
    Full,
}

/// Which side of the debate a series belongs to; [`Series::label`] says which variant
/// (runtime flavour, stack size, `spawn_blocking`).
///
/// ```
/// assert_eq!(bothways_bench::Style::Async.to_string(), "async");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
// Serialised as it is displayed: "async", "threads".
#[serde(rename_all = "lowercase")]
pub enum Style {
    /// tokio tasks.
    Async,
    /// OS threads.
    Threads,
}

impl std::fmt::Display for Style {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Style::Async => "async",
            Style::Threads => "threads",
        })
    }
}

/// One measured figure at one N; `value` is `None` when it could not be measured at this N, and
/// `note` then says why (e.g. the spawn error and the kernel limit behind it).
///
/// ```
/// let p = bothways_bench::Point { n: 1000, value: Some(2.5), note: None };
/// assert_eq!(p.value, Some(2.5));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The x value: number of tasks/threads/clients/ring members.
    pub n: u64,
    /// The measured figure, in the chart's `y_label` unit.
    pub value: Option<f64>,
    /// Why `value` is missing, or a remark on how it was obtained.
    pub note: Option<String>,
}

/// One line of a chart: one style (one variant of it) across N.
///
/// ```
/// use bothways_bench::{Series, Style};
/// let s = Series { style: Style::Threads, label: "threads".into(), points: vec![] };
/// assert!(s.points.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The side this series measures.
    pub style: Style,
    /// Legend text, e.g. "tokio current_thread" or "threads, 64 KiB stack".
    pub label: String,
    /// One point per N, in increasing N.
    pub points: Vec<Point>,
}

/// A chart of one figure against N, async and threads series side by side.
///
/// ```
/// let c = bothways_bench::Chart {
///     title: "t".into(), x_label: "N".into(), y_label: "µs".into(), log_x: true, series: vec![],
/// };
/// assert!(c.log_x);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// What the chart shows.
    pub title: String,
    /// The x axis, e.g. "tasks or threads (N)".
    pub x_label: String,
    /// The y axis with its unit, e.g. "µs per spawn + join".
    pub y_label: String,
    /// Whether N spans decades, so the x axis should be logarithmic.
    pub log_x: bool,
    /// The lines.
    pub series: Vec<Series>,
}

/// A column of a [`Peers`] table: a measured figure, or a ratio of two.
///
/// ```
/// let c = bothways_bench::Column::ratio("÷ crossbeam-channel");
/// assert!(c.is_ratio);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    /// The header, with the unit: "ns per hop", "÷ crossbeam-channel".
    pub name: String,
    /// Whether the values are ratios (shown as "1.23×").
    pub is_ratio: bool,
}

impl Column {
    /// A measured figure; `name` carries its unit.
    ///
    /// ```
    /// assert!(!bothways_bench::Column::figure("ns per hop").is_ratio);
    /// ```
    pub fn figure(name: &str) -> Column {
        Column {
            name: name.into(),
            is_ratio: false,
        }
    }

    /// A ratio of two figures; `name` says which ("÷ crossbeam-channel").
    ///
    /// ```
    /// assert_eq!(bothways_bench::Column::ratio("÷ x").name, "÷ x");
    /// ```
    pub fn ratio(name: &str) -> Column {
        Column {
            name: name.into(),
            is_ratio: true,
        }
    }
}

/// One row of a [`Peers`] table: bothways' own way of doing the work, or a crate a user would
/// pick instead.
///
/// ```
/// use bothways_bench::{Peer, Style};
/// let p = Peer { name: "flume".into(), style: Style::Threads, bothways: false, values: vec![Some(1.0)] };
/// assert!(!p.bothways);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peer {
    /// What was measured: a crate, or one of bothways' own.
    pub name: String,
    /// The style it works in.
    pub style: Style,
    /// Whether it is bothways' own (or the crate bothways uses) rather than a peer.
    pub bothways: bool,
    /// One value per column; `None` where it was not measured.
    pub values: Vec<Option<f64>>,
}

/// A workload measured against the ecosystem within an experiment: one row per implementation,
/// the first column the figure the report charts.
///
/// ```
/// use bothways_bench::{Column, Peers};
/// let t = Peers { workload: "w".into(), columns: vec![Column::figure("ns")], rows: vec![] };
/// assert_eq!(t.columns.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peers {
    /// What every row does, e.g. "Token ring of 128 threads through a bounded(1) channel".
    pub workload: String,
    /// The columns; the first is a figure.
    pub columns: Vec<Column>,
    /// The rows, bothways' first.
    pub rows: Vec<Peer>,
}

/// One experiment's result: the claim it tests, its charts, and findings in words computed from
/// the measured values; `peers` holds its workloads measured against other crates, if any.
///
/// ```
/// let e = bothways_bench::Experiment {
///     id: "x", title: "t".into(), claim: "c".into(), charts: vec![], notes: vec![], peers: vec![],
/// };
/// assert_eq!(e.id, "x");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Experiment {
    /// Stable identifier, the same as in [`EXPERIMENTS`].
    pub id: &'static str,
    /// Human title.
    pub title: String,
    /// The seed's claim this experiment tests, one sentence.
    pub claim: String,
    /// The measured figures.
    pub charts: Vec<Chart>,
    /// Findings in words, derived from the measured values.
    pub notes: Vec<String>,
    /// Workloads measured against the crates a user would pick instead (for the report's
    /// "against the ecosystem" section).
    pub peers: Vec<Peers>,
}

/// Everything that can stop an experiment; each variant says what failed.
///
/// Inside an experiment, an error at one N (a limit reached, a child that failed) does not end it:
/// it becomes a [`Point`] with `value: None` whose note is the error, and the other points are
/// still measured. An experiment returns `Err` only when it cannot run at all.
///
/// ```
/// let e = bothways_bench::Error::Timeout { what: "c10k".into(), after: std::time::Duration::from_secs(1) };
/// assert!(e.to_string().contains("c10k"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation failed (socket, pipe, child process, /proc).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A /proc file did not contain the expected field.
    #[error("{path}: no parsable `{field}` line")]
    Proc {
        /// The file read.
        path: String,
        /// The field looked for.
        field: &'static str,
    },
    /// A child process answered something unexpected or exited early.
    #[error("child `{role}` failed: {detail}")]
    Child {
        /// The child's role.
        role: String,
        /// Its exit status, output line or stderr.
        detail: String,
    },
    /// A step did not finish within its deadline.
    #[error("{what}: no result after {after:?}")]
    Timeout {
        /// What was waited for.
        what: String,
        /// The deadline.
        after: Duration,
    },
    /// The echo server returned other bytes than those sent.
    #[error("client {client}: echo {echo} came back different")]
    EchoMismatch {
        /// The client index.
        client: usize,
        /// The echo index within that client.
        echo: usize,
    },
    /// A measuring task or thread panicked.
    #[error("{what} panicked")]
    Panicked {
        /// What panicked.
        what: String,
    },
    /// A point needs more file descriptors than this process may open ("Max open files" in
    /// /proc/self/limits); checked before anything is created.
    #[error(
        "{what} needs {needed} file descriptors and {open} are open, but \"Max open files\" in /proc/self/limits is {limit}"
    )]
    FdLimit {
        /// What needs them.
        what: String,
        /// Descriptors it needs.
        needed: u64,
        /// Descriptors already open.
        open: u64,
        /// The soft limit.
        limit: u64,
    },
    /// A requested count is above what the experiment accepts (or overflows when multiplied).
    #[error("{what} = {got} is above the maximum of {max}")]
    TooLarge {
        /// What was counted.
        what: String,
        /// The value asked for (saturated if it overflowed).
        got: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A measurement's own step failed (the journal it drives returned an error, or an event
    /// came out of order).
    #[error("{what}: {why}")]
    Measure {
        /// What was being measured.
        what: String,
        /// What went wrong.
        why: String,
    },
    /// A command-line argument is not valid UTF-8.
    #[error("argument {arg:?} is not valid UTF-8")]
    NotUtf8 {
        /// The argument, lossily decoded.
        arg: String,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// The signature of an experiment's entry point: a scale, and a callback receiving short progress
/// messages ("c10k threads 5000 clients").
///
/// ```
/// let run: bothways_bench::Runner = bothways_bench::pitfalls::run_mutex;
/// let e = run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// assert_eq!(e.id, "pitfall-mutex");
/// ```
pub type Runner = fn(Scale, &mut dyn FnMut(&str)) -> Result<Experiment, Error>;

/// Every experiment, in report order: id and entry point.
///
/// ```
/// let ids: Vec<&str> = bothways_bench::EXPERIMENTS.iter().map(|(id, _)| *id).collect();
/// assert_eq!(ids, ["spawn", "memory", "switch", "c10k", "pitfall-blocking", "pitfall-mutex", "journal-history"]);
/// ```
pub const EXPERIMENTS: &[(&str, Runner)] = &[
    ("spawn", spawn::run),
    ("memory", memory::run),
    ("switch", switch::run),
    ("c10k", c10k::run),
    ("pitfall-blocking", pitfalls::run_blocking),
    ("pitfall-mutex", pitfalls::run_mutex),
    ("journal-history", history::run),
];

/// The hidden first argument that marks a re-executed child process.
pub(crate) const CHILD_ARG: &str = "__bothways-bench-child";

/// Runs this process as a measured child if it was started as one (hidden first argument), and
/// returns the exit code it must exit with; `None` for an ordinary start.
///
/// Call it first in the `main` of any binary that runs the memory or C10K experiments: they
/// re-execute `std::env::current_exe()` so the measured process is not polluted by the parent's
/// allocations and does not share its file-descriptor limit.
///
/// ```
/// // The doc-test binary was not started as a child, so this returns at once.
/// assert!(bothways_bench::child_main().is_none());
/// ```
pub fn child_main() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(std::ffi::OsStr::new(CHILD_ARG)) {
        return None;
    }
    // args_os, not args: a non-UTF-8 argument is a typed error (exit 2), never a panic.
    let rest: Result<Vec<String>, Error> = args
        .map(|a| {
            a.into_string().map_err(|a| Error::NotUtf8 {
                arg: a.to_string_lossy().into_owned(),
            })
        })
        .collect();
    let rest = match rest {
        Ok(rest) => rest,
        Err(e) => {
            eprintln!("{e}");
            return Some(ExitCode::from(2));
        }
    };
    let result = match rest.first().map(String::as_str) {
        Some("memory") => memory::child(&rest[1..]),
        Some("c10k-server") => c10k::child(&rest[1..]),
        _ => Err(Error::Child {
            role: rest.join(" "),
            detail: "unknown child role".into(),
        }),
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    })
}

/// A measured point, or, when measuring it failed, a missing value whose note is the error (which
/// names the limit behind it): one failed N never throws away the others.
pub(crate) fn point(n: u64, measured: Result<f64, Error>, remark: Option<String>) -> Point {
    match measured {
        Ok(v) => Point {
            n,
            value: Some(v),
            note: remark,
        },
        Err(e) => Point {
            n,
            value: None,
            note: Some(e.to_string()),
        },
    }
}

/// Runs `measure` `k` times (at least once) and returns the median and every run's value, in run
/// order; the first error ends the repeats.
pub(crate) fn median_of(
    k: usize,
    mut measure: impl FnMut() -> Result<f64, Error>,
) -> Result<(f64, Vec<f64>), Error> {
    let first = measure()?;
    let mut runs = vec![first];
    for _ in 1..k {
        runs.push(measure()?);
    }
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    // Not empty (it holds `first`), so the middle index is in bounds.
    let mid = sorted[sorted.len() / 2];
    Ok((mid, runs))
}

/// The value of the point at `n` in the series labelled `label`, for findings.
pub(crate) fn value_at(chart: &Chart, label: &str, n: u64) -> Option<f64> {
    chart
        .series
        .iter()
        .find(|s| s.label == label)?
        .points
        .iter()
        .find(|p| p.n == n)?
        .value
}

/// Formats a count with thousands separators: 32741 → "32,741".
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A current_thread or multi_thread (two workers, like this machine's cores) tokio runtime.
pub(crate) fn runtime(multi: bool) -> Result<tokio::runtime::Runtime, Error> {
    let mut b = if multi {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(2);
        b
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    b.enable_all()
        .build()
        .map_err(Error::io("building a tokio runtime"))
}
