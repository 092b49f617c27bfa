//! A reader of the process's thread count and open-file count, from `/proc/self/task` and
//! `/proc/self/fd` (Linux), for the checks that assert nothing leaks; and of its CPU time and
//! peak address space, for the checks that assert idle is idle and nothing huge was reserved.

use std::time::Duration;
use std::{fs, io};

/// A snapshot of what the process holds.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// use bothways_spec::resources::Resources;
/// let now = Resources::now().unwrap();
/// assert!(now.threads >= 1);
/// assert!(now.files >= 3); // stdin, stdout, stderr at least
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    /// Threads of the process: entries of `/proc/self/task`.
    pub threads: usize,
    /// Open file descriptors: entries of `/proc/self/fd` (the directory handle used to read it
    /// is counted too, the same way every time).
    pub files: usize,
}

impl Resources {
    /// Reads both counts now.
    pub fn now() -> io::Result<Self> {
        Ok(Resources {
            threads: thread_count()?,
            files: open_files()?,
        })
    }
}

/// The number of threads in this process.
pub fn thread_count() -> io::Result<usize> {
    count_entries("/proc/self/task")
}

/// The number of open file descriptors in this process.
pub fn open_files() -> io::Result<usize> {
    count_entries("/proc/self/fd")
}

fn count_entries(dir: &str) -> io::Result<usize> {
    let mut n = 0;
    for entry in fs::read_dir(dir)? {
        entry?;
        n += 1;
    }
    Ok(n)
}

/// The CPU time the whole process has used so far, user and system, all threads — including
/// threads that have already exited, so a loop cannot hide work in short-lived threads.
///
/// Read from `/proc/self/stat` (utime + stime). Its unit is the clock tick, which the kernel
/// fixes at 100 per second for user space on Linux (`USER_HZ`), so the resolution is 10 ms: fine
/// for a 2 s measurement against a 40 ms budget. The per-thread nanosecond counters of
/// `/proc/self/task/*/schedstat` were the alternative, but they lose the time of every thread
/// that exits between two readings.
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// let before = bothways_spec::resources::cpu_time().unwrap();
/// let mut x = 0u64;
/// for i in 0..10_000_000u64 { x = std::hint::black_box(x ^ i); }
/// assert!(bothways_spec::resources::cpu_time().unwrap() >= before);
/// # }
/// ```
pub fn cpu_time() -> io::Result<Duration> {
    let stat = fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (1-based) are utime and stime; `after` starts at field 3.
    let tick = |i: usize| -> io::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unreadable /proc/self/stat"))
    };
    const USER_HZ: u64 = 100;
    let ticks = tick(11)? + tick(12)?;
    Ok(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// The peak virtual size of the process so far (`VmPeak` of `/proc/self/status`), in bytes: a
/// high-water mark that a large allocation raises even when its pages are never touched (as
/// Linux lets a 4 GiB `Vec::with_capacity` succeed without using any memory).
///
/// ```
/// # #[cfg(target_os = "linux")] {
/// assert!(bothways_spec::resources::peak_virtual().unwrap() > 0);
/// # }
/// ```
pub fn peak_virtual() -> io::Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmPeak:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmPeak in /proc/self/status"))
}
