//! The journal against the ecosystem: group commit with 16 writers, each appending 64 B events
//! durably, in bothways' two journals and in okaywal, beside the disk's own ceiling.
//!
//! Group `journal_peers`, one function per row (criterion's throughput is commits per second):
//!
//! - `bothways-threads` / `bothways-async`: `Journal::append` with `Durability::Append` (returns
//!   once the event is on disk) from 16 threads / 16 tasks on a two-worker multi_thread runtime.
//! - `okaywal`: 16 threads, each `begin_entry`, `write_chunk` of the 64 B event, `commit` (which
//!   returns once the entry is fsynced; okaywal batches concurrent commits into one fsync).
//! - `disk-in_place` / `disk-appending`: no log at all, the disk alone: 16 writes of 64 B and one
//!   `fdatasync`, counted as 16 commits — into zeros written ahead (what the journals do) or at the
//!   end of a growing file (which makes `fdatasync` also write the new size). What group commit
//!   would reach if every fsync took all 16 writers and waking them cost nothing, in the same run,
//!   since this disk's fsync latency varies by minutes.
//!
//! Besides time, each function's CPU per commit: the process's user + system time
//! (/proc/self/stat) over every timed batch, divided by the commits in them. It is printed and
//! written beside criterion's estimates as `target/criterion/journal_peers/<function>/cpu.json`,
//! where the runner's report reads it.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_async as aj;
use bothways_journal_threads as tj;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// Writers committing at once.
const WRITERS: u64 = 16;
/// Bytes per event.
const EVENT: [u8; 64] = [7; 64];
/// The disk-ceiling files start afresh past this size.
const FILE_BYTES: u64 = 16 << 20;
/// The group's name, also the directory under target/criterion.
const GROUP: &str = "journal_peers";

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("cannot {what}: {e}"))
}

/// This process's user + system CPU time, from fields 14 and 15 of /proc/self/stat (clock ticks
/// of 1/100 s, the kernel's USER_HZ on Linux).
fn cpu_time() -> Duration {
    let stat = must(
        std::fs::read_to_string("/proc/self/stat"),
        "read /proc/self/stat",
    );
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis don't.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after
        .split_whitespace()
        .skip(11) // field 3 is the first after ')', so field 14 is the twelfth
        .take(2)
        .map(|f| must(f.parse::<u64>(), "parse /proc/self/stat"))
        .sum();
    Duration::from_millis(ticks * 10)
}

/// CPU and commits accumulated over a function's timed batches.
#[derive(Debug, Default, Clone, Copy)]
struct Cpu {
    spent: Duration,
    commits: u64,
}

/// Adds a timed batch's CPU and commits to `total`.
fn add(total: &Cell<Cpu>, spent: Duration, commits: u64) {
    let mut t = total.get();
    t.spent += spent;
    t.commits += commits;
    total.set(t);
}

impl Cpu {
    fn us_per_commit(self) -> f64 {
        self.spent.as_secs_f64() * 1e6 / self.commits.max(1) as f64
    }
}

/// `target/criterion`, where criterion writes: `$CARGO_TARGET_DIR`, or the target directory
/// this bench binary was built in (`target/release/deps/journal_peers-…`).
fn criterion_dir() -> Option<PathBuf> {
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::current_exe()
            .ok()?
            .parent()?
            .parent()?
            .parent()?
            .to_path_buf(),
    };
    Some(target.join("criterion"))
}

/// Prints each function's CPU per commit and writes it beside criterion's estimates.
fn record_cpu(cpu: &[(&str, Cpu)]) {
    for (function, c) in cpu {
        let us = c.us_per_commit();
        eprintln!(
            "{GROUP}/{function}: {us:.1} µs CPU per commit ({:.2} s over {} commits)",
            c.spent.as_secs_f64(),
            c.commits
        );
        let Some(dir) = criterion_dir().map(|d| d.join(GROUP).join(function)) else {
            continue;
        };
        let json = format!(
            "{{\"cpu_us_per_op\": {us:.3}, \"cpu_seconds\": {:.3}, \"ops\": {}}}\n",
            c.spent.as_secs_f64(),
            c.commits
        );
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("cpu.json"), json))
        {
            eprintln!("cannot write {}: {e}", dir.join("cpu.json").display());
        }
    }
}

/// `iters` commits from 16 threads, each running `commit` its share of times; the wall time.
fn on_threads(iters: u64, commit: impl Fn() + Send + Sync + 'static) -> Duration {
    let per = iters.div_ceil(WRITERS);
    let commit = Arc::new(commit);
    let start = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let commit = Arc::clone(&commit);
            thread::spawn(move || (0..per).for_each(|_| commit()))
        })
        .collect();
    for w in writers {
        must(w.join().map_err(|_| "a panic"), "join a writer");
    }
    start.elapsed()
}

/// The disk alone: a file written in batches of 16 writes of 64 B and one `fdatasync`, in place
/// into zeros written ahead, or at the end of a growing file. It lives across criterion's batches
/// and starts afresh, untimed, every 16 MiB.
struct Disk {
    path: PathBuf,
    in_place: bool,
    file: File,
    at: u64,
}

impl Disk {
    fn new(dir: &Path, in_place: bool) -> Disk {
        let path = dir.join(if in_place { "in_place" } else { "appending" });
        let file = Disk::fresh(&path, in_place);
        Disk {
            path,
            in_place,
            file,
            at: 0,
        }
    }

    // Written by hand rather than through the journals' file layer, so this stays the disk alone
    // whatever the journals do: zeros first, synced, then positioned writes over them.
    fn fresh(path: &Path, in_place: bool) -> File {
        // Removed first: std refuses to truncate a file opened for appending.
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            panic!("cannot remove {}: {e}", path.display());
        }
        let mut file = must(
            OpenOptions::new()
                .create_new(true)
                .write(true)
                .append(!in_place)
                .open(path),
            "create a file",
        );
        if in_place {
            let zeros = vec![0u8; 1 << 20];
            for _ in 0..FILE_BYTES >> 20 {
                must(file.write_all(&zeros), "write zeros");
            }
            must(file.sync_all(), "sync the zeros");
        }
        file
    }

    /// `iters` commits, rounded up to whole batches of 16; the time spent in them.
    fn commits(&mut self, iters: u64) -> Duration {
        let mut elapsed = Duration::ZERO;
        for _ in 0..iters.div_ceil(WRITERS) {
            let start = Instant::now();
            for _ in 0..WRITERS {
                if self.in_place {
                    must(self.file.write_all_at(&EVENT, self.at), "write in place");
                } else {
                    must(self.file.write_all(&EVENT), "append");
                }
                self.at += EVENT.len() as u64;
            }
            must(self.file.sync_data(), "fdatasync");
            elapsed += start.elapsed();
            if self.at + WRITERS * EVENT.len() as u64 > FILE_BYTES {
                self.file = Disk::fresh(&self.path, self.in_place);
                self.at = 0;
            }
        }
        elapsed
    }
}

fn journal_peers(c: &mut Criterion) {
    let rt = must(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build(),
        "build a runtime",
    );
    let mut cpu: Vec<(&str, Cpu)> = Vec::new();
    let mut group = c.benchmark_group(GROUP);
    group.measurement_time(Duration::from_secs(3));
    group.sample_size(10);
    group.throughput(Throughput::Elements(1));

    let dir = must(tempfile::tempdir(), "make a temporary directory");
    let threads_journal = Arc::new(must(
        tj::Journal::open(
            dir.path().join("threads"),
            tj::Options {
                durability: tj::Durability::Append,
                ..tj::Options::default()
            },
        ),
        "open the threads journal",
    ));
    let spent = Cell::new(Cpu::default());
    group.bench_function("bothways-threads", |b| {
        b.iter_custom(|iters| {
            let journal = Arc::clone(&threads_journal);
            let before = cpu_time();
            let wall = on_threads(iters, move || {
                must(journal.append(&EVENT), "append");
            });
            add(
                &spent,
                cpu_time().saturating_sub(before),
                iters.div_ceil(WRITERS) * WRITERS,
            );
            wall
        });
    });
    cpu.push(("bothways-threads", spent.get()));
    drop(threads_journal);

    let async_journal = Arc::new(must(
        rt.block_on(aj::Journal::open(
            dir.path().join("async"),
            aj::Options {
                durability: aj::Durability::Append,
                ..aj::Options::default()
            },
        )),
        "open the async journal",
    ));
    let spent = Cell::new(Cpu::default());
    group.bench_function("bothways-async", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let journal = Arc::clone(&async_journal);
            let spent = &spent;
            async move {
                let per = iters.div_ceil(WRITERS);
                let before = cpu_time();
                let start = Instant::now();
                let tasks: Vec<_> = (0..WRITERS)
                    .map(|_| {
                        let journal = Arc::clone(&journal);
                        tokio::spawn(async move {
                            for _ in 0..per {
                                must(journal.append(&EVENT).await, "append");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    must(t.await, "join a writer");
                }
                let wall = start.elapsed();
                add(spent, cpu_time().saturating_sub(before), per * WRITERS);
                wall
            }
        });
    });
    cpu.push(("bothways-async", spent.get()));
    drop(async_journal);

    let wal = must(
        okaywal::WriteAheadLog::recover(dir.path().join("okaywal"), okaywal::LogVoid),
        "open okaywal",
    );
    let spent = Cell::new(Cpu::default());
    group.bench_function("okaywal", |b| {
        b.iter_custom(|iters| {
            let wal = wal.clone();
            let before = cpu_time();
            let wall = on_threads(iters, move || {
                let mut entry = must(wal.begin_entry(), "begin an entry");
                must(entry.write_chunk(&EVENT), "write a chunk");
                must(entry.commit(), "commit");
            });
            add(
                &spent,
                cpu_time().saturating_sub(before),
                iters.div_ceil(WRITERS) * WRITERS,
            );
            wall
        });
    });
    cpu.push(("okaywal", spent.get()));
    must(wal.shutdown(), "shut okaywal down");

    for (function, in_place) in [("disk-in_place", true), ("disk-appending", false)] {
        let spent = Cell::new(Cpu::default());
        let mut disk = Disk::new(dir.path(), in_place);
        group.bench_function(function, |b| {
            b.iter_custom(|iters| {
                let before = cpu_time();
                let wall = disk.commits(iters);
                add(
                    &spent,
                    cpu_time().saturating_sub(before),
                    iters.div_ceil(WRITERS) * WRITERS,
                );
                wall
            });
        });
        cpu.push((function, spent.get()));
    }
    group.finish();
    record_cpu(&cpu);
}

criterion_group!(benches, journal_peers);
criterion_main!(benches);
