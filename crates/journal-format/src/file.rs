//! The journal file as both styles' writers write it: records go in place into space written
//! with zeros ahead of them, so that the fsync after an append does not also change the size.
//!
//! This is blocking file I/O, the same in both styles (the async writer runs it on tokio's
//! blocking pool), so it lives here once, beside the bytes it writes. It goes through a
//! [`Storage`], the real filesystem unless a test gives it a simulated disk. Its functions
//! return `io::Result<Result<_, Error>>`: the outer error is the I/O failing, the inner one the
//! file not being a valid journal, so [`Error`] stays a plain value that can be compared.

use std::io;
use std::path::Path;

use crate::record::is_zeros;
use crate::{
    Error, HEADER_LEN, Header, Reader, Storage, StorageFile, Torn, read_exact_prefix, scan,
};

/// How much zeroed space is added ahead of the records at a time. An fsync after a write that
/// grew the file waits for a journal commit of the new size as well as for the data (for 16
/// events of 64 B, 206–234 µs here against 149–164 µs in place); growing by this much at once
/// pays that, and the zeros' own write, once per MiB instead of once per fsync.
pub const PREALLOCATE: u64 = 1 << 20;

/// Zeros to copy from: a static, so growing allocates nothing.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// A journal file open for writing, whose records end at [`len`](Self::len) and whose bytes
/// after that, up to the file's size, are zeros.
///
/// The zeros are written, not made by `set_len`: a hole gets its blocks allocated by the first
/// write into it, a metadata change the next fsync would wait for, which is what this avoids.
/// A reader sees zeros where a record should start as the end of the records
/// ([`read_record`](crate::read_record)), so a crash at any moment leaves a file that opens.
///
/// ```
/// use bothways_journal_format::{Fs, Header, Preallocated, Storage, encode_record, scan};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// std::fs::write(&path, Header::new(1).encode())?;
/// let mut file = Preallocated::new(Fs.open(&path, false)?, 20, true)?;
/// let mut record = Vec::new();
/// encode_record(1, b"event", &mut record)?;
/// file.write_all(&record)?;
/// file.sync_data()?;
/// // On disk: the record, then zeros; the reader stops at the zeros.
/// let bytes = std::fs::read(&path)?;
/// assert!(bytes.len() as u64 > file.len());
/// assert_eq!(scan(&bytes)?.next_seq, 2);
/// // Closing cuts the zeros off.
/// file.trim(true)?;
/// assert_eq!(std::fs::read(&path)?.len() as u64, file.len());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Preallocated {
    file: Box<dyn StorageFile>,
    /// Where the records end: the next write goes here.
    len: u64,
    /// The file's size: zeros from `len` to here.
    allocated: u64,
    /// Whether to grow ahead of the records. Without fsyncs there is nothing to gain, and the
    /// zeros would double what reaches the disk.
    preallocate: bool,
}

impl Preallocated {
    /// Takes `file` to write after its first `len` bytes, which must be whole records:
    /// anything after them is cut off, so that the space ahead is zeros.
    pub fn new(file: Box<dyn StorageFile>, len: u64, preallocate: bool) -> io::Result<Self> {
        if file.size()? != len {
            file.set_len(len)?;
        }
        Ok(Preallocated {
            file,
            len,
            allocated: len,
            preallocate,
        })
    }

    /// Where the records end.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file holds no byte at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether it grows ahead of its records, as it was made.
    pub fn preallocates(&self) -> bool {
        self.preallocate
    }

    /// Writes `bytes` after the records, growing the zeroed space first if they do not fit.
    /// On an error the records still end where they did; a later write overwrites whatever
    /// part of `bytes` reached the file.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = self.len + bytes.len() as u64;
        if self.preallocate && end > self.allocated {
            self.grow(end + PREALLOCATE)?;
        }
        self.file.write_all_at(bytes, self.len)?;
        self.len = end;
        self.allocated = self.allocated.max(end);
        Ok(())
    }

    fn grow(&mut self, to: u64) -> io::Result<()> {
        while self.allocated < to {
            // The chunk is at most ZEROS.len(), so it fits a usize.
            let chunk = (to - self.allocated).min(ZEROS.len() as u64) as usize;
            self.file.write_all_at(&ZEROS[..chunk], self.allocated)?;
            self.allocated += chunk as u64;
        }
        Ok(())
    }

    /// `fdatasync`: every record written is on disk when this returns.
    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Cuts the zeros after the records off, and with `fsync` makes the new size durable:
    /// what a writer does when it closes, so a closed journal ends at its last record.
    pub fn trim(&mut self, fsync: bool) -> io::Result<()> {
        if self.allocated != self.len {
            self.file.set_len(self.len)?;
            self.allocated = self.len;
        }
        if fsync {
            self.file.sync_all()?;
        }
        Ok(())
    }
}

/// Reads the first `len` bytes of the file at `path`: the records of a journal whose writer is
/// paused, without the zeros after them.
///
/// ```
/// use bothways_journal_format::{Fs, read_prefix};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("f");
/// std::fs::write(&path, b"records\0\0\0")?;
/// assert_eq!(read_prefix(&Fs, &path, 7)?, b"records");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_prefix(storage: &dyn Storage, path: &Path, len: u64) -> io::Result<Vec<u8>> {
    read_exact_prefix(storage.open(path, false)?.as_ref(), len)
}

/// Syncs the directory holding `path`, so that a file created or renamed in it stays.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// bothways_journal_format::sync_dir(&bothways_journal_format::Fs, &dir.path().join("events"))?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn sync_dir(storage: &dyn Storage, path: &Path) -> io::Result<()> {
    storage.sync_dir(path.parent().unwrap_or(Path::new("")))
}

/// A journal file opened for writing by [`recover`].
#[derive(Debug)]
pub struct Recovered {
    /// The file, positioned after its last good record.
    pub file: Preallocated,
    /// The sequence number the next record must carry.
    pub next_seq: u64,
    /// The torn tail that was cut off, if there was one.
    pub torn: Option<Torn>,
}

/// Opens the journal file at `path` for writing, creating it with a header if it does not
/// exist, is empty or holds only zeros. An existing file is checked record by record: corruption before the tail
/// is an error naming its offset; a torn tail is cut off, fsynced, returned in
/// [`Recovered::torn`] and emitted as a `tracing` warning.
///
/// ```
/// use bothways_journal_format::{Fs, recover};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// let opened = recover(&Fs, &path, true)??;
/// assert_eq!((opened.next_seq, opened.file.len(), opened.torn), (1, 20, None));
///
/// std::fs::write(&path, b"not a journal file at all")?;
/// assert_eq!(recover(&Fs, &path, true)?.unwrap_err().offset(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn recover(
    storage: &dyn Storage,
    path: &Path,
    preallocate: bool,
) -> io::Result<Result<Recovered, Error>> {
    let file = storage.open(path, true)?;
    let size = file.size()?;
    let bytes = read_exact_prefix(file.as_ref(), size)?;
    // Empty, or zeros alone: a creation that a power cut interrupted before its header was
    // synced (the size reached the disk, the page did not). It never held a record, whose
    // header is never zeros, so it is started afresh.
    if is_zeros(&bytes) {
        file.set_len(0)?;
        file.write_all_at(&Header::new(1).encode(), 0)?;
        file.sync_all()?;
        sync_dir(storage, path)?;
        return Ok(Ok(Recovered {
            file: Preallocated::new(file, HEADER_LEN as u64, preallocate)?,
            next_seq: 1,
            torn: None,
        }));
    }
    let found = match scan(&bytes) {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
    };
    if let Some(torn) = found.torn {
        let tail = bytes.get(torn.offset as usize..).unwrap_or(&[]);
        // Zeros alone are the space a writer preallocated before it stopped without closing:
        // said so, so that a log after a crash does not read like damage.
        let what = if is_zeros(tail) {
            "preallocated zeros left unclosed"
        } else {
            "a torn tail"
        };
        // Libraries print nothing: the caller has the tail in `Recovered::torn`, and a
        // subscriber to `tracing` (if the application installed one) gets this line.
        tracing::warn!(
            path = %path.display(),
            offset = torn.offset,
            len = torn.len,
            "bothways-journal: cutting {what} of {} bytes at offset {}",
            torn.len,
            torn.offset,
        );
        // Synced before anything is written in place after the records: otherwise a power
        // cut could bring the old tail back under new records, where a lost page would read
        // as damage instead of as zeros.
        file.set_len(found.good_len)?;
        file.sync_all()?;
    }
    Ok(Ok(Recovered {
        file: Preallocated::new(file, found.good_len, preallocate)?,
        next_seq: found.next_seq,
        torn: found.torn,
    }))
}

/// Prunes the journal at `path`, whose records end at `len` and whose next record would be
/// `next_seq`: keeps only the records after `after`, atomically — a temporary file beside it,
/// fsync, rename over it, fsync of the directory — so a crash leaves the old file or the new
/// one. Returns the new file, opened for writing; the old one's handle is then stale.
///
/// ```
/// use bothways_journal_format::{Fs, Header, encode_record, prune, scan};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// let mut bytes = Header::new(1).encode().to_vec();
/// for seq in 1..=5 {
///     encode_record(seq, b"event", &mut bytes)?;
/// }
/// std::fs::write(&path, &bytes)?;
/// let file = prune(&Fs, &path, bytes.len() as u64, 3, 6, false)??;
/// let found = scan(&std::fs::read(&path)?)?;
/// assert_eq!((found.header.base_seq, found.next_seq, found.good_len), (4, 6, file.len()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn prune(
    storage: &dyn Storage,
    path: &Path,
    len: u64,
    after: u64,
    next_seq: u64,
    preallocate: bool,
) -> io::Result<Result<Preallocated, Error>> {
    let bytes = read_prefix(storage, path, len)?;
    let mut reader = match Reader::new(&bytes) {
        Ok(reader) => reader,
        Err(e) => return Ok(Err(e)),
    };
    let first = reader.header().base_seq;
    let base = after.saturating_add(1).clamp(first, next_seq);
    let mut keep_from = bytes.len();
    for record in reader.by_ref() {
        match record {
            Ok(record) if record.seq >= base => {
                // Records are contiguous to the end, so the rest is copied as bytes.
                keep_from = record.offset as usize;
                break;
            }
            Ok(_) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    let keep = bytes.get(keep_from.max(HEADER_LEN)..).unwrap_or(&[]);
    let tmp = path.with_extension("prune");
    let out = storage.open(&tmp, true)?;
    out.set_len(0)?; // a temporary file a crash left behind is started afresh
    out.write_all_at(&Header::new(base).encode(), 0)?;
    out.write_all_at(keep, HEADER_LEN as u64)?;
    // The new file's bytes are on disk before its name replaces the old one's, and the
    // rename is on disk before the journal writes into the new file.
    out.sync_all()?;
    storage.rename(&tmp, path)?;
    sync_dir(storage, path)?;
    let len = (HEADER_LEN + keep.len()) as u64;
    Ok(Ok(Preallocated::new(out, len, preallocate)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fs, Header, encode_record, scan};

    fn journal(dir: &tempfile::TempDir) -> io::Result<std::path::PathBuf> {
        let path = dir.path().join("events");
        std::fs::write(&path, Header::new(1).encode())?;
        Ok(path)
    }

    #[test]
    fn grows_a_mebibyte_at_a_time_and_only_when_full() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = journal(&dir)?;
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, true)?;
        let mut record = Vec::new();
        encode_record(1, &[7; 100], &mut record)?;
        file.write_all(&record)?;
        let size = std::fs::metadata(&path)?.len();
        assert_eq!(size, 20 + 120 + PREALLOCATE);
        let mut seq = 2;
        while file.len() + 120 <= size {
            record.clear();
            encode_record(seq, &[7; 100], &mut record)?;
            file.write_all(&record)?;
            seq += 1;
        }
        assert_eq!(
            std::fs::metadata(&path)?.len(),
            size,
            "grew before it was full"
        );
        record.clear();
        encode_record(seq, &[7; 100], &mut record)?;
        file.write_all(&record)?;
        assert!(
            std::fs::metadata(&path)?.len() > size,
            "did not grow when full"
        );
        let found = scan(&std::fs::read(&path)?)?;
        assert_eq!((found.next_seq, found.good_len), (seq + 1, file.len()));
        Ok(())
    }

    #[test]
    fn without_preallocation_the_file_ends_at_its_records() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let path = journal(&dir)?;
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, false)?;
        let mut record = Vec::new();
        encode_record(1, b"x", &mut record)?;
        file.write_all(&record)?;
        assert_eq!(std::fs::metadata(&path)?.len(), file.len());
        Ok(())
    }

    #[test]
    fn opening_cuts_what_follows_the_records() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = journal(&dir)?;
        std::fs::write(
            &path,
            [&Header::new(1).encode()[..], b"half a record"].concat(),
        )?;
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, true)?;
        let mut record = Vec::new();
        encode_record(1, b"whole", &mut record)?;
        file.write_all(&record)?;
        file.trim(false)?;
        let found = scan(&std::fs::read(&path)?)?;
        assert_eq!((found.next_seq, found.torn), (2, None));
        Ok(())
    }
}
