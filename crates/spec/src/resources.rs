//! A reader of the process's thread count and open-file count, from `/proc/self/task` and
//! `/proc/self/fd` (Linux), for the checks that assert nothing leaks.

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
