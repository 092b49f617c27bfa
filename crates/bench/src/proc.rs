//! Reads the kernel's own accounting from /proc: resident and virtual memory of a process, and the
//! limits that cap how many threads can exist (no libc: the crate forbids `unsafe`).

use crate::Error;

/// A `Field:   1234 kB` line of a /proc status-like file, in KiB.
fn kib_field(path: &str, field: &'static str) -> Result<u64, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io(format!("reading {path}")))?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .ok_or(Error::Proc {
            path: path.into(),
            field,
        })
}

/// Resident memory (VmRSS) of process `pid` (`None`: this process), in KiB.
pub(crate) fn rss_kib(pid: Option<u32>) -> Result<u64, Error> {
    kib_field(&status_path(pid), "VmRSS")
}

/// Virtual memory (VmSize) of process `pid` (`None`: this process), in KiB.
pub(crate) fn vm_kib(pid: Option<u32>) -> Result<u64, Error> {
    kib_field(&status_path(pid), "VmSize")
}

/// System-wide kernel stacks (`KernelStack` in /proc/meminfo), in KiB: each thread has one, and
/// VmRSS does not count it.
pub(crate) fn kernel_stack_kib() -> Result<u64, Error> {
    kib_field("/proc/meminfo", "KernelStack")
}

fn status_path(pid: Option<u32>) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".into(),
    }
}

/// A single-number /proc file such as /proc/sys/kernel/pid_max.
pub(crate) fn number(path: &str) -> Result<u64, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io(format!("reading {path}")))?;
    text.trim().parse().map_err(|_| Error::Proc {
        path: path.into(),
        field: "number",
    })
}

/// Kernel tasks (threads) alive on the whole machine: the total after the slash in /proc/loadavg.
pub(crate) fn tasks_alive() -> Result<u64, Error> {
    let path = "/proc/loadavg";
    let text = std::fs::read_to_string(path).map_err(Error::io(format!("reading {path}")))?;
    text.split_whitespace()
        .nth(3)
        .and_then(|f| f.split('/').nth(1))
        .and_then(|t| t.parse().ok())
        .ok_or(Error::Proc {
            path: path.into(),
            field: "running/total",
        })
}

/// Memory mappings of this process (lines of /proc/self/maps), counted through a fixed buffer so
/// the count itself does not grow the heap being measured.
pub(crate) fn maps_count() -> Result<u64, Error> {
    use std::io::Read;
    let path = "/proc/self/maps";
    let mut f = std::fs::File::open(path).map_err(Error::io(format!("opening {path}")))?;
    let mut buf = [0u8; 16 * 1024];
    let mut lines = 0;
    loop {
        match f.read(&mut buf) {
            Ok(0) => return Ok(lines),
            Ok(n) => lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    what: format!("reading {path}"),
                    source,
                });
            }
        }
    }
}

/// The kernel limits that cap how many threads one process may start.
#[derive(Debug)]
pub(crate) struct ThreadLimits {
    pid_max: u64,
    threads_max: u64,
    map_max: u64,
    /// PIDs kept free for the machine's other processes: exhausting kernel.pid_max makes
    /// *everyone's* fork fail, not just ours.
    spare: u64,
    /// This process's mappings before its first measured thread.
    maps0: u64,
}

impl ThreadLimits {
    pub(crate) fn read(spare: u64) -> Result<ThreadLimits, Error> {
        Ok(ThreadLimits {
            pid_max: number("/proc/sys/kernel/pid_max")?,
            threads_max: number("/proc/sys/kernel/threads-max")?,
            map_max: number("/proc/sys/vm/max_map_count")?,
            spare,
            maps0: maps_count()?,
        })
    }

    /// Why `batch` more threads must not be started now that `started` are running (`None`: they
    /// fit). Mappings per thread are measured from the threads started so far (8 assumed before
    /// any): with Rust's std a thread takes its stack and guard page *and* a signal stack and its
    /// guard page, and when the map limit is hit inside a new thread std aborts the whole process
    /// instead of returning an error, so the limit must be seen coming.
    pub(crate) fn blocks(&self, started: u64, batch: u64) -> Result<Option<String>, Error> {
        let alive = tasks_alive()?;
        let cap = self.pid_max.min(self.threads_max);
        if alive + batch + self.spare > cap {
            return Ok(Some(format!(
                "kernel.pid_max = {} (threads-max {}) and {} tasks alive on the machine: {} more would leave fewer than {} PIDs for its other processes",
                crate::thousands(self.pid_max),
                crate::thousands(self.threads_max),
                crate::thousands(alive),
                crate::thousands(batch),
                crate::thousands(self.spare)
            )));
        }
        let maps = maps_count()?;
        let per = if started == 0 {
            8.0
        } else {
            maps.saturating_sub(self.maps0) as f64 / started as f64
        };
        if maps as f64 + batch as f64 * per.max(2.0) + 256.0 > self.map_max as f64 {
            return Ok(Some(format!(
                "vm.max_map_count = {}: this process has {} mappings and each thread adds {per:.1} (stack and guard page, std's signal stack and guard page); past the limit std cannot map a new thread's signal stack and aborts the whole process, so it stops here",
                crate::thousands(self.map_max),
                crate::thousands(maps)
            )));
        }
        Ok(None)
    }
}

/// The soft "Max open files" limit of this process, from /proc/self/limits (`None`: unlimited).
pub(crate) fn open_files_limit() -> Result<Option<u64>, Error> {
    let path = "/proc/self/limits";
    let text = std::fs::read_to_string(path).map_err(Error::io(format!("reading {path}")))?;
    let soft = text
        .lines()
        .find_map(|l| l.strip_prefix("Max open files")?.split_whitespace().next())
        .ok_or(Error::Proc {
            path: path.into(),
            field: "Max open files",
        })?;
    if soft == "unlimited" {
        return Ok(None);
    }
    soft.parse().map(Some).map_err(|_| Error::Proc {
        path: path.into(),
        field: "Max open files",
    })
}

/// File descriptors this process has open now (entries of /proc/self/fd).
pub(crate) fn open_fds() -> Result<u64, Error> {
    let path = "/proc/self/fd";
    let dir = std::fs::read_dir(path).map_err(Error::io(format!("reading {path}")))?;
    Ok(dir.count() as u64)
}

/// Fails with [`Error::FdLimit`] if `needed` more descriptors would not fit under this process's
/// "Max open files" limit, so an experiment stops before creating anything rather than midway.
pub(crate) fn check_fds(what: &str, needed: u64) -> Result<(), Error> {
    let Some(limit) = open_files_limit()? else {
        return Ok(());
    };
    let open = open_fds()?;
    if open.saturating_add(needed) > limit {
        return Err(Error::FdLimit {
            what: what.into(),
            needed,
            open,
            limit,
        });
    }
    Ok(())
}
