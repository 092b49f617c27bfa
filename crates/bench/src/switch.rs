//! Switch cost: a ring of N tasks or N threads passing one token round and round, Jim Blandy's
//! context-switch method (github.com/jimblandy/context-switch): time per hop.
//!
//! Timed exactly: member 0 sends the token and waits for it to come back, `rounds` times; every
//! other member waits for it and passes it on. The time from member 0's first send to its last
//! receive (after one untimed warm-up round, so thread start-up is not counted), divided by
//! N × rounds, is one hop: one wake-up of a sleeping unit and a hand-over. Only one unit is ever
//! runnable, so every hop is a switch.
//!
//! Two media: a one-byte write to a *pipe* (Blandy's own: both styles make the same system calls,
//! so the difference is the kernel's thread switch against tokio's reactor and scheduler), and an
//! in-process *channel* (std `sync_channel` vs tokio `mpsc`: the thread still sleeps in the kernel,
//! the task only in tokio's scheduler — the seeds' "function call" claim).

use std::io::{Read, Write};
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Chart, Error, Experiment, Scale, Series, Style};

/// Every run of a point, so the spread behind a median is on record: "runs: 812, 790, 1,030 ns".
fn runs_note(runs: &[f64]) -> String {
    let v: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    format!("runs: {} ns", v.join(", "))
}

/// What carries the token.
///
/// ```
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// assert!(ns_per_hop(Ring::Threads, Medium::Pipe, 2, 20).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Medium {
    /// A one-byte write into an OS pipe (Blandy's method).
    Pipe,
    /// A bounded in-process channel of capacity 1.
    Channel,
}

/// Who passes the token.
///
/// ```
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// assert!(ns_per_hop(Ring::MultiThread, Medium::Channel, 3, 30).unwrap() > 0.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ring {
    /// OS threads (64 KiB stacks).
    Threads,
    /// tokio tasks on a current_thread runtime.
    CurrentThread,
    /// tokio tasks on a two-worker multi_thread runtime.
    MultiThread,
}

impl Ring {
    fn label(self) -> &'static str {
        match self {
            Ring::Threads => "threads",
            Ring::CurrentThread => "tokio current_thread",
            Ring::MultiThread => "tokio multi_thread (2 workers)",
        }
    }
}

/// Nanoseconds per hop for a ring of `n` members passing the token `hops` times in all (rounded
/// up to whole rounds).
///
/// ```
/// use bothways_bench::switch::{ns_per_hop, Medium, Ring};
/// let ns = ns_per_hop(Ring::CurrentThread, Medium::Channel, 4, 1_000).unwrap();
/// assert!(ns > 0.0 && ns.is_finite());
/// ```
pub fn ns_per_hop(ring: Ring, medium: Medium, n: usize, hops: u64) -> Result<f64, Error> {
    let n = n.max(2);
    if n > MAX_RING {
        return Err(Error::TooLarge {
            what: "ring members".into(),
            got: n as u64,
            max: MAX_RING as u64,
        });
    }
    if medium == Medium::Pipe {
        // Two descriptors per member (both ends of its pipe), all open at once: check the limit
        // before creating the first, so a ring too large fails at once and cleanly.
        crate::proc::check_fds(&format!("a pipe ring of {n}"), 2 * n as u64)?;
    }
    let rounds = hops.div_ceil(n as u64).max(1);
    let secs = match (ring, medium) {
        (Ring::Threads, Medium::Pipe) => threads_pipe(n, rounds)?,
        (Ring::Threads, Medium::Channel) => threads_channel(n, rounds)?,
        (Ring::CurrentThread, m) => crate::runtime(false)?.block_on(tasks(m, n, rounds))?,
        (Ring::MultiThread, m) => crate::runtime(true)?.block_on(tasks(m, n, rounds))?,
    };
    Ok(secs * 1e9 / (rounds * n as u64) as f64)
}

/// The largest ring accepted: each member is a thread (64 KiB stack) or a task plus a pipe or
/// channel, so this bounds what a typo can ask of the machine.
pub const MAX_RING: usize = 100_000;

/// Member 0's loop, on the calling thread: one warm-up round, then `rounds` timed ones.
fn lead_thread(
    rounds: u64,
    mut send: impl FnMut() -> Result<(), Error>,
    mut recv: impl FnMut() -> Result<(), Error>,
) -> Result<f64, Error> {
    send()?;
    recv()?;
    let start = Instant::now();
    for _ in 0..rounds {
        send()?;
        recv()?;
    }
    Ok(start.elapsed().as_secs_f64())
}

fn spawn_member(
    rounds: u64,
    mut pass: impl FnMut() -> Result<(), Error> + Send + 'static,
) -> Result<std::thread::JoinHandle<Result<(), Error>>, Error> {
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || (0..=rounds).try_for_each(|_| pass()))
        .map_err(Error::io("spawning a ring thread"))
}

fn join_all(members: Vec<std::thread::JoinHandle<Result<(), Error>>>) -> Result<(), Error> {
    for m in members {
        m.join().map_err(|_| Error::Panicked {
            what: "a ring thread".into(),
        })??;
    }
    Ok(())
}

fn threads_pipe(n: usize, rounds: u64) -> Result<f64, Error> {
    let mut readers = Vec::with_capacity(n);
    let mut writers = Vec::with_capacity(n);
    for _ in 0..n {
        let (r, w) = std::io::pipe().map_err(Error::io("creating a ring pipe"))?;
        readers.push(r);
        writers.push(w);
    }
    // Member i reads pipe i and writes pipe i + 1 (mod n).
    writers.rotate_left(1);
    let mut pairs = readers.into_iter().zip(writers);
    let Some((mut r0, mut w0)) = pairs.next() else {
        return Ok(0.0);
    };
    let mut members = Vec::with_capacity(n);
    for (mut r, mut w) in pairs {
        members.push(spawn_member(rounds, move || {
            let mut b = [0u8; 1];
            r.read_exact(&mut b)
                .map_err(Error::io("ring thread reading"))?;
            w.write_all(&b).map_err(Error::io("ring thread writing"))
        })?);
    }
    let secs = lead_thread(
        rounds,
        || w0.write_all(&[1]).map_err(Error::io("ring lead writing")),
        || {
            r0.read_exact(&mut [0u8; 1])
                .map_err(Error::io("ring lead reading"))
        },
    );
    drop((r0, w0)); // on error, wakes every member with EOF/EPIPE so the joins below return
    let joined = join_all(members);
    let secs = secs?;
    joined?;
    Ok(secs)
}

fn threads_channel(n: usize, rounds: u64) -> Result<f64, Error> {
    let mut rxs = Vec::with_capacity(n);
    let mut txs = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = std::sync::mpsc::sync_channel::<u8>(1);
        txs.push(tx);
        rxs.push(rx);
    }
    txs.rotate_left(1);
    let mut pairs = rxs.into_iter().zip(txs);
    let Some((rx0, tx0)) = pairs.next() else {
        return Ok(0.0);
    };
    let closed = || Error::Io {
        what: "ring channel".into(),
        source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
    };
    let mut members = Vec::with_capacity(n);
    for (rx, tx) in pairs {
        members.push(spawn_member(rounds, move || {
            let b = rx.recv().map_err(|_| closed())?;
            tx.send(b).map_err(|_| closed())
        })?);
    }
    let secs = lead_thread(
        rounds,
        || tx0.send(1).map_err(|_| closed()),
        || rx0.recv().map(drop).map_err(|_| closed()),
    );
    drop((rx0, tx0));
    let joined = join_all(members);
    let secs = secs?;
    joined?;
    Ok(secs)
}

async fn tasks(medium: Medium, n: usize, rounds: u64) -> Result<f64, Error> {
    let lead = match medium {
        Medium::Pipe => {
            let mut rs = Vec::with_capacity(n);
            let mut ws = Vec::with_capacity(n);
            for _ in 0..n {
                let (w, r) =
                    tokio::net::unix::pipe::pipe().map_err(Error::io("creating a ring pipe"))?;
                rs.push(r);
                ws.push(w);
            }
            ws.rotate_left(1);
            let mut pairs = rs.into_iter().zip(ws);
            let Some((mut r0, mut w0)) = pairs.next() else {
                return Ok(0.0);
            };
            for (mut r, mut w) in pairs {
                tokio::spawn(async move {
                    let mut b = [0u8; 1];
                    for _ in 0..=rounds {
                        r.read_exact(&mut b)
                            .await
                            .map_err(Error::io("ring task reading"))?;
                        w.write_all(&b)
                            .await
                            .map_err(Error::io("ring task writing"))?;
                    }
                    Ok::<(), Error>(())
                });
            }
            tokio::spawn(async move {
                let mut b = [0u8; 1];
                let mut start = Instant::now();
                for i in 0..=rounds {
                    if i == 1 {
                        start = Instant::now(); // after the warm-up round
                    }
                    w0.write_all(&[1])
                        .await
                        .map_err(Error::io("ring lead writing"))?;
                    r0.read_exact(&mut b)
                        .await
                        .map_err(Error::io("ring lead reading"))?;
                }
                Ok(start.elapsed().as_secs_f64())
            })
        }
        Medium::Channel => {
            let mut rxs = Vec::with_capacity(n);
            let mut txs = Vec::with_capacity(n);
            for _ in 0..n {
                let (tx, rx) = tokio::sync::mpsc::channel::<u8>(1);
                txs.push(tx);
                rxs.push(rx);
            }
            txs.rotate_left(1);
            let mut pairs = rxs.into_iter().zip(txs);
            let Some((mut rx0, tx0)) = pairs.next() else {
                return Ok(0.0);
            };
            for (mut rx, tx) in pairs {
                tokio::spawn(async move {
                    for _ in 0..=rounds {
                        let Some(b) = rx.recv().await else { return };
                        if tx.send(b).await.is_err() {
                            return;
                        }
                    }
                });
            }
            tokio::spawn(async move {
                let closed = || Error::Io {
                    what: "ring channel".into(),
                    source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
                };
                let mut start = Instant::now();
                for i in 0..=rounds {
                    if i == 1 {
                        start = Instant::now();
                    }
                    tx0.send(1).await.map_err(|_| closed())?;
                    rx0.recv().await.ok_or_else(closed)?;
                }
                Ok(start.elapsed().as_secs_f64())
            })
        }
    };
    // Member 0 runs as a spawned task too, so on multi_thread it sits on a worker like the rest.
    lead.await.map_err(|_| Error::Panicked {
        what: "the ring lead task".into(),
    })?
}

/// Runs the experiment: rings of 2 … 128 (quick: 3 runs of 3,000 hops per point) or 2 … 1,024
/// (full: 5 runs of 20,000 hops), each point the median of its runs.
///
/// ```no_run
/// // no_run: a couple of seconds of token passing.
/// let e = bothways_bench::switch::run(bothways_bench::Scale::Quick, &mut |_| {}).unwrap();
/// assert_eq!(e.charts.len(), 2);
/// ```
pub fn run(scale: Scale, progress: &mut dyn FnMut(&str)) -> Result<Experiment, Error> {
    let (ns, hops, repeats): (&[u64], u64, usize) = match scale {
        Scale::Quick => (&[2, 16, 128], 3_000, 3),
        Scale::Full => (&[2, 16, 128, 1_024], 20_000, 5),
    };
    run_with(ns, hops, repeats, progress)
}

/// The experiment at the given ring sizes: `repeats` rings per point (each built afresh), `hops`
/// token passes each, the point being their median. A ring that cannot be built or run (e.g. too
/// few file descriptors for its pipes) leaves that point empty with the reason as its note.
///
/// ```
/// let e = bothways_bench::switch::run_with(&[2, 8], 200, 1, &mut |_| {}).unwrap();
/// assert_eq!(e.charts[0].series[0].points.len(), 2);
/// ```
pub fn run_with(
    ns: &[u64],
    hops: u64,
    repeats: usize,
    progress: &mut dyn FnMut(&str),
) -> Result<Experiment, Error> {
    let repeats = repeats.max(1);
    let mut charts = Vec::new();
    let mut notes = Vec::new();
    for (medium, title) in [
        (Medium::Pipe, "Token ring through pipes (Blandy's method)"),
        (Medium::Channel, "Token ring through in-process channels"),
    ] {
        let mut series = Vec::new();
        for ring in [Ring::Threads, Ring::CurrentThread, Ring::MultiThread] {
            let mut points = Vec::new();
            for &n in ns {
                progress(&format!("switch {medium:?} {} N={n}", ring.label()));
                let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
                let measured =
                    crate::median_of(repeats, || ns_per_hop(ring, medium, n_usize, hops));
                let runs = measured.as_ref().ok().map(|(_, runs)| runs_note(runs));
                points.push(crate::point(n, measured.map(|(m, _)| m), runs));
            }
            let style = if ring == Ring::Threads {
                Style::Threads
            } else {
                Style::Async
            };
            series.push(Series {
                style,
                label: ring.label().into(),
                points,
            });
        }
        let chart = Chart {
            title: title.into(),
            x_label: "ring members (N)".into(),
            y_label: format!("ns per hop (median of {repeats} runs)"),
            log_x: true,
            series,
        };
        for s in &chart.series {
            for p in s.points.iter().filter(|p| p.value.is_none()) {
                if let Some(why) = &p.note {
                    notes.push(format!(
                        "{medium:?} ring of {}, {}: not measured: {why}.",
                        crate::thousands(p.n),
                        s.label
                    ));
                }
            }
        }
        for &n in ns {
            let t = crate::value_at(&chart, Ring::Threads.label(), n);
            let ct = crate::value_at(&chart, Ring::CurrentThread.label(), n);
            let mt = crate::value_at(&chart, Ring::MultiThread.label(), n);
            if let (Some(t), Some(ct), Some(mt)) = (t, ct, mt) {
                notes.push(format!(
                    "{medium:?} ring of {}: a thread hop takes {t:.0} ns, a task hop {ct:.0} ns (current_thread) / {mt:.0} ns (multi_thread): threads {:.1}× / {:.1}× the task's.",
                    crate::thousands(n),
                    t / ct,
                    t / mt
                ));
            }
        }
        charts.push(chart);
    }
    Ok(Experiment {
        id: "switch",
        title: "Switch cost: a token ring of tasks vs threads".into(),
        claim: "A thread switch is a trip through the kernel while a task switch is little more than a function call.".into(),
        charts,
        notes,
    })
}
