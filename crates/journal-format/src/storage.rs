//! The storage seam: every file operation the journal makes goes through [`Storage`], so that a
//! simulated disk ([`crate::sim`], feature `sim`) can stand in for the real one in tests.
//!
//! The real filesystem, [`Fs`], is the default, and the seam costs it one virtual call per
//! file operation — nothing beside the system call behind it. The trait is object safe and
//! shared as `Arc<dyn Storage>`, so the journals' types do not carry a storage parameter.

use std::fmt;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the journal keeps its files: the few operations it needs, with the guarantees a
/// POSIX filesystem gives them. A file's data and size are durable once [`StorageFile::sync_data`]
/// returns; a file's creation, a rename and a removal once the directory holding them is
/// synced ([`Storage::sync_dir`]).
///
/// ```
/// use std::path::Path;
/// use bothways_journal_format::{Fs, Storage};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f");
/// let file = Fs.open(&path, true)?;
/// file.write_all_at(b"hello", 0)?;
/// file.sync_data()?;
/// Fs.sync_dir(dir.path())?;
/// assert_eq!(file.size()?, 5);
/// assert_eq!(Fs.list(dir.path())?, vec![path]);
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Storage: Send + Sync + fmt::Debug + 'static {
    /// Opens the file at `path` for reading and writing; creates it, empty, if `create` and it
    /// does not exist ([`io::ErrorKind::NotFound`] otherwise).
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>>;
    /// Renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file at `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// The paths of the files directly in `dir`, sorted.
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// Creates `dir` and its parents, if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Makes the creations, renames and removals of files in `dir` durable (fsync of the
    /// directory).
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// What is at `path`: a file, a directory, or nothing.
    fn entry(&self, path: &Path) -> io::Result<Option<Entry>>;
}

/// What a path names, for [`Storage::entry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A regular file.
    File,
    /// A directory.
    Dir,
}

/// An open file of a [`Storage`]. Positioned reads and writes, so that one handle can be shared
/// without a cursor to agree on.
pub trait StorageFile: Send + Sync + fmt::Debug {
    /// Reads into `buf` from `offset`; returns how many bytes were read, 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`, growing the file if it ends before.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// The file's size.
    fn size(&self) -> io::Result<u64>;
    /// Cuts or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// `fdatasync`: the file's data, and its size, are on disk when this returns.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`: the data and all of the file's metadata are on disk when this returns.
    fn sync_all(&self) -> io::Result<()>;
}

/// Reads the file's first `len` bytes (fewer if it is shorter).
///
/// ```
/// use bothways_journal_format::{Fs, Storage, read_exact_prefix};
/// let dir = tempfile::tempdir()?;
/// let file = Fs.open(&dir.path().join("f"), true)?;
/// file.write_all_at(b"records\0\0\0", 0)?;
/// assert_eq!(read_exact_prefix(file.as_ref(), 7)?, b"records");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_exact_prefix(file: &dyn StorageFile, len: u64) -> io::Result<Vec<u8>> {
    let want = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))?;
    let mut bytes = vec![0; want];
    let mut got = 0;
    while got < want {
        match file.read_at(&mut bytes[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(got);
    Ok(bytes)
}

/// The real filesystem, through `std::fs`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fs;

impl Fs {
    /// The real filesystem as a shared [`Storage`]: what the journals use unless told otherwise.
    ///
    /// ```
    /// let storage = bothways_journal_format::Fs::shared();
    /// assert!(format!("{storage:?}").contains("Fs"));
    /// ```
    pub fn shared() -> Arc<dyn Storage> {
        Arc::new(Fs)
    }
}

impl Storage for Fs {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        // Not in append mode: records are written in place, into zeros preallocated ahead.
        let file = File::options()
            .read(true)
            .write(true)
            .create(create)
            .truncate(false)
            .open(path)?;
        Ok(Box::new(FsFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut paths = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                paths.push(entry.path());
            }
        }
        paths.sort();
        Ok(paths)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        File::open(dir)?.sync_all()
    }

    fn entry(&self, path: &Path) -> io::Result<Option<Entry>> {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => Ok(Some(Entry::Dir)),
            Ok(_) => Ok(Some(Entry::File)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A file of the real filesystem.
#[derive(Debug)]
struct FsFile(File);

impl StorageFile for FsFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        positioned::read_at(&self.0, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        positioned::write_all_at(&self.0, buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }
}

/// `pread`/`pwrite`: std has them per platform.
#[cfg(unix)]
mod positioned {
    use std::fs::File;
    use std::io;
    use std::os::unix::fs::FileExt;

    pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        file.read_at(buf, offset)
    }

    pub(super) fn write_all_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
        file.write_all_at(buf, offset)
    }
}

/// `seek_read`/`seek_write`: std has them per platform.
#[cfg(windows)]
mod positioned {
    use std::fs::File;
    use std::io;
    use std::os::windows::fs::FileExt;

    pub(super) fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        file.seek_read(buf, offset)
    }

    pub(super) fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match file.seek_write(buf, offset) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    offset += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
