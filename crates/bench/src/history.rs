//! The journal's costs against the size of its history, both styles: what a subscriber's pause
//! costs the writer, how soon it gets an event from the end, what it holds in memory while it
//! replays everything, how fast it replays, how long opening takes, and how long a prune that
//! drops most of it takes. Segments, a sparse index and a streamed replay are meant to keep all
//! of these flat as the history grows, except the replay's total time.
//!
//! One journal per size, of 1 KiB events in segments of the default size, built once with the
//! threads journal under `Durability::None` and kept (in the system's temporary directory) for
//! later runs; the directory format is the same in both styles, so each style opens the same
//! journal. Figures are medians of a few samples; memory is the resident set, read from
//! /proc/self/statm every 4,096 events of a replay from the first event, less what it was
//! before the subscription. Before either style is measured the history is read once, so both
//! replay from the page cache: a history kept from an earlier run may have been evicted since,
//! and the style measured first would otherwise pay the disk for both.

use std::path::{Path, PathBuf};
use std::time::Instant;

use bothways_journal_async as aj;
use bothways_journal_threads as tj;

use crate::{Chart, Error, Experiment, Point, Scale, Series, Style, proc};

/// Bytes of every event's payload.
pub const EVENT: usize = 1024;

fn event(seq: u64) -> Vec<u8> {
    let mut bytes = format!("event {seq} ").into_bytes();
    bytes.resize(EVENT, b'.');
    bytes
}

/// How many events a history of `mib` MiB holds: records of 1 KiB and their 20-byte headers.
pub fn events_in(mib: u64) -> u64 {
    (mib << 20) / (EVENT as u64 + 20)
}

fn failed(what: &str) -> impl Fn(String) -> Error + '_ {
    move |e| Error::Measure {
        what: what.to_owned(),
        why: e,
    }
}

/// The journal of `mib` MiB of history, built if it is not there yet (a marker file says it is
/// whole), in `root`. Returns its path and how many events it holds.
pub fn journal(root: &Path, mib: u64) -> Result<(PathBuf, u64), Error> {
    let path = root.join(format!("history-{mib}MiB"));
    let marker = root.join(format!("history-{mib}MiB.built"));
    let events = events_in(mib);
    if marker.exists() {
        return Ok((path, events));
    }
    let _ = std::fs::remove_dir_all(&path);
    std::fs::create_dir_all(root).map_err(Error::io("the history's directory"))?;
    let options = tj::Options {
        durability: tj::Durability::None,
        ..tj::Options::default()
    };
    let build = failed("building a history");
    let journal = tj::Journal::open(&path, options).map_err(|e| build(e.to_string()))?;
    for seq in 1..=events {
        journal
            .append(&event(seq))
            .map_err(|e| build(e.to_string()))?;
    }
    journal.close().map_err(|e| build(e.to_string()))?;
    std::fs::write(&marker, b"").map_err(Error::io("the history's marker"))?;
    Ok((path, events))
}

/// Reads every file of the journal at `path` once, so that it is in the page cache for both
/// styles alike.
fn warm(path: &Path) -> Result<(), Error> {
    use std::io::Read as _;
    let io = || Error::io("warming the history");
    let mut buf = vec![0_u8; 1 << 20];
    for entry in std::fs::read_dir(path).map_err(io())? {
        let entry = entry.map_err(io())?.path();
        if entry.is_file() {
            let mut file = std::fs::File::open(entry).map_err(io())?;
            while file.read(&mut buf).map_err(io())? > 0 {}
        }
    }
    Ok(())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What one style measured on one history.
#[derive(Debug, Clone, Copy, Default)]
pub struct Figures {
    /// `subscribe` from the last event: the writer is paused within it (ms, median).
    pub pause_ms: f64,
    /// `subscribe` from the last event to that event in hand (ms, median).
    pub first_ms: f64,
    /// `open` of the journal (ms, median).
    pub open_ms: f64,
    /// A replay of every event, from the first (GB/s).
    pub replay_gbs: f64,
    /// The most the resident set grew while that replay ran (MiB).
    pub memory_mib: f64,
}

/// One style's figures on one history, or why they could not be measured.
type Measured = Result<Figures, Error>;

const SAMPLES: usize = 7;

fn rss_mib() -> f64 {
    proc::rss_kib(None).map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

/// Measures the threads journal on the history at `path` of `events` events.
pub fn threads(path: &Path, events: u64) -> Result<Figures, Error> {
    let fail = failed("the threads journal on a history");
    let mut figures = Figures::default();
    let mut open = Vec::new();
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let journal =
            tj::Journal::open(path, tj::Options::default()).map_err(|e| fail(e.to_string()))?;
        open.push(start.elapsed().as_secs_f64() * 1e3);
        journal.close().map_err(|e| fail(e.to_string()))?;
    }
    figures.open_ms = median(open);
    let journal =
        tj::Journal::open(path, tj::Options::default()).map_err(|e| fail(e.to_string()))?;
    let (mut pause, mut first) = (Vec::new(), Vec::new());
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let mut sub = journal.subscribe(events).map_err(|e| fail(e.to_string()))?;
        pause.push(start.elapsed().as_secs_f64() * 1e3);
        let got = sub.recv().map_err(|e| fail(e.to_string()))?;
        first.push(start.elapsed().as_secs_f64() * 1e3);
        if got.seq != events {
            return Err(fail(format!("event {} where {events} was due", got.seq)));
        }
    }
    (figures.pause_ms, figures.first_ms) = (median(pause), median(first));
    let before = rss_mib();
    let mut grew: f64 = 0.0;
    let start = Instant::now();
    let mut sub = journal.subscribe(1).map_err(|e| fail(e.to_string()))?;
    for seq in 1..=events {
        let got = sub.recv().map_err(|e| fail(e.to_string()))?;
        if got.seq != seq {
            return Err(fail(format!("event {} where {seq} was due", got.seq)));
        }
        if seq % 4096 == 0 {
            grew = grew.max(rss_mib() - before);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    figures.replay_gbs = (events * (EVENT as u64 + 20)) as f64 / secs / 1e9;
    figures.memory_mib = grew.max(0.0);
    journal.close().map_err(|e| fail(e.to_string()))?;
    Ok(figures)
}

/// Measures the async journal, on a two-worker multi_thread runtime, on the history at `path`.
pub fn tasks(path: &Path, events: u64) -> Result<Figures, Error> {
    let fail = failed("the async journal on a history");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Error::io("a runtime"))?;
    runtime.block_on(async {
        let mut figures = Figures::default();
        let mut open = Vec::new();
        for _ in 0..SAMPLES {
            let start = Instant::now();
            let journal = aj::Journal::open(path, aj::Options::default())
                .await
                .map_err(|e| fail(e.to_string()))?;
            open.push(start.elapsed().as_secs_f64() * 1e3);
            journal.close().await.map_err(|e| fail(e.to_string()))?;
        }
        figures.open_ms = median(open);
        let journal = aj::Journal::open(path, aj::Options::default())
            .await
            .map_err(|e| fail(e.to_string()))?;
        let (mut pause, mut first) = (Vec::new(), Vec::new());
        for _ in 0..SAMPLES {
            let start = Instant::now();
            let mut sub = journal
                .subscribe(events)
                .await
                .map_err(|e| fail(e.to_string()))?;
            pause.push(start.elapsed().as_secs_f64() * 1e3);
            let got = sub.recv().await.map_err(|e| fail(e.to_string()))?;
            first.push(start.elapsed().as_secs_f64() * 1e3);
            if got.seq != events {
                return Err(fail(format!("event {} where {events} was due", got.seq)));
            }
        }
        (figures.pause_ms, figures.first_ms) = (median(pause), median(first));
        let before = rss_mib();
        let mut grew: f64 = 0.0;
        let start = Instant::now();
        let mut sub = journal
            .subscribe(1)
            .await
            .map_err(|e| fail(e.to_string()))?;
        for seq in 1..=events {
            let got = sub.recv().await.map_err(|e| fail(e.to_string()))?;
            if got.seq != seq {
                return Err(fail(format!("event {} where {seq} was due", got.seq)));
            }
            if seq % 4096 == 0 {
                grew = grew.max(rss_mib() - before);
            }
        }
        let secs = start.elapsed().as_secs_f64();
        figures.replay_gbs = (events * (EVENT as u64 + 20)) as f64 / secs / 1e9;
        figures.memory_mib = grew.max(0.0);
        journal.close().await.map_err(|e| fail(e.to_string()))?;
        Ok(figures)
    })
}

/// A prune that drops all but the last segment of a fresh journal of `mib` MiB: its time in
/// ms, in the threads style (the prune is the shared file layer's in both). The journal is
/// built for it and deleted after.
pub fn prune_ms(root: &Path, mib: u64) -> Result<f64, Error> {
    let fail = failed("a prune");
    let path = root.join(format!("prune-{mib}MiB"));
    let _ = std::fs::remove_dir_all(&path);
    let events = events_in(mib);
    // Durability::Flush, so that the flush below syncs what was written: the prune is timed
    // alone, not the write-back of a journal's worth of dirty pages.
    let journal =
        tj::Journal::open(&path, tj::Options::default()).map_err(|e| fail(e.to_string()))?;
    for seq in 1..=events {
        journal
            .append(&event(seq))
            .map_err(|e| fail(e.to_string()))?;
    }
    journal.flush().map_err(|e| fail(e.to_string()))?;
    let start = Instant::now();
    journal.prune(events - 1).map_err(|e| fail(e.to_string()))?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    journal.close().map_err(|e| fail(e.to_string()))?;
    drop(journal);
    let _ = std::fs::remove_dir_all(&path);
    Ok(ms)
}

/// Runs the experiment: histories of 8, 64 and 256 MiB (quick) or 32 MiB, 1 GiB and 4 GiB
/// (full), both styles.
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let sizes: &[u64] = match scale {
        Scale::Quick => &[8, 64, 256],
        Scale::Full => &[32, 1024, 4096],
    };
    let root = root();
    // Per size: the threads journal's figures and the async one's.
    let mut measured: Vec<(u64, Measured, Measured)> = Vec::new();
    for &mib in sizes {
        progress(&format!("history of {mib} MiB"));
        let (path, events) = journal(&root, mib)?;
        warm(&path)?;
        let threads = threads(&path, events);
        let tasks = tasks(&path, events);
        measured.push((mib, threads, tasks));
    }
    let prune_size = sizes.get(1).copied().unwrap_or(64);
    progress(&format!("prune of {prune_size} MiB"));
    let pruned = prune_ms(&root, prune_size);
    let chart = |title: &str, y: &str, pick: fn(&Figures) -> f64| Chart {
        title: title.into(),
        x_label: "history (MiB)".into(),
        y_label: y.into(),
        log_x: true,
        series: [
            (Style::Threads, "threads"),
            (Style::Async, "async multi_thread"),
        ]
        .into_iter()
        .map(|(style, label)| Series {
            style,
            label: label.into(),
            points: measured
                .iter()
                .map(|(mib, t, a)| {
                    let figures = if style == Style::Threads { t } else { a };
                    match figures {
                        Ok(f) => Point {
                            n: *mib,
                            value: Some(pick(f)),
                            note: None,
                        },
                        Err(e) => Point {
                            n: *mib,
                            value: None,
                            note: Some(e.to_string()),
                        },
                    }
                })
                .collect(),
        })
        .collect(),
    };
    let charts = vec![
        chart("Writer pause for a subscribe", "ms (subscribe call)", |f| {
            f.pause_ms
        }),
        chart(
            "Memory while replaying it all",
            "MiB above the baseline",
            |f| f.memory_mib,
        ),
        chart("First event from the last sequence number", "ms", |f| {
            f.first_ms
        }),
        chart("Open", "ms", |f| f.open_ms),
        chart("Streamed replay of it all", "GB/s", |f| f.replay_gbs),
    ];
    let mut notes = Vec::new();
    if let Some((mib, Ok(t), Ok(a))) = measured.last() {
        notes.push(format!(
            "At {mib} MiB: pause {:.2} / {:.2} ms, memory {:.1} / {:.1} MiB, first event {:.2} / {:.2} ms, open {:.1} / {:.1} ms, replay {:.2} / {:.2} GB/s (threads / async).",
            t.pause_ms, a.pause_ms, t.memory_mib, a.memory_mib, t.first_ms, a.first_ms, t.open_ms, a.open_ms, t.replay_gbs, a.replay_gbs
        ));
    }
    match pruned {
        Ok(ms) => notes.push(format!(
            "A prune dropping all but the last segment of {prune_size} MiB took {ms:.2} ms."
        )),
        Err(e) => notes.push(format!("The prune could not be measured: {e}")),
    }
    Ok(Experiment {
        id: "journal-history",
        title: "The journal's costs against its history".into(),
        claim: "A subscriber's pause, its memory, its first event from the end, and opening do not grow with the journal's size.".into(),
        charts,
        notes,
        peers: Vec::new(),
    })
}

/// Where the histories are kept between runs: the system's temporary directory.
pub fn root() -> PathBuf {
    std::env::temp_dir().join("bothways-history")
}
