//! A segment file as both styles' writers write it: records go in place into space written
//! with zeros ahead of them, so that the fsync after an append does not also change the size;
//! and the recovery of the one segment a crash can leave torn, the active one.
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
    Error, HEADER_LEN, Header, MAX_PAYLOAD, PAGE, RECORD_HEADER_LEN, SparseIndex, Step, Storage,
    StorageFile, Torn, read_record,
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
/// let mut file = Preallocated::new(Fs.open(&path, false)?, 20, 1 << 20)?;
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
    /// How much to grow ahead of the records at a time; 0 for not at all. Without fsyncs there
    /// is nothing to gain, and the zeros would double what reaches the disk.
    step: u64,
}

impl Preallocated {
    /// Takes `file` to write after its first `len` bytes, which must be whole records:
    /// anything after them is cut off, so that the space ahead is zeros. It grows `step` bytes
    /// of zeros ahead at a time ([`PREALLOCATE`] by default), or not at all with 0.
    pub fn new(file: Box<dyn StorageFile>, len: u64, step: u64) -> io::Result<Self> {
        if file.size()? != len {
            file.set_len(len)?;
        }
        Ok(Preallocated {
            file,
            len,
            allocated: len,
            step,
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

    /// How much it grows ahead of its records at a time (0: not at all), as it was made.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Writes `bytes` after the records, growing the zeroed space first if they do not fit.
    /// On an error the records still end where they did; a later write overwrites whatever
    /// part of `bytes` reached the file.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let end = self.len + bytes.len() as u64;
        if self.step > 0 && end > self.allocated {
            self.grow(end + self.step)?;
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

/// The active segment after recovery: open for writing after its last whole record.
#[derive(Debug)]
pub(crate) struct RecoveredSegment {
    pub(crate) file: Preallocated,
    /// The sequence number the next record must carry.
    pub(crate) next_seq: u64,
    /// The torn tail that was cut off, if there was one.
    pub(crate) torn: Option<Torn>,
    /// Where its records begin, every few KiB.
    pub(crate) index: SparseIndex,
}

/// What [`scan_segment`] found in a segment file.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    /// The sequence number the next record must carry.
    pub(crate) next_seq: u64,
    /// The end of the last good record.
    pub(crate) good_len: u64,
    /// What follows it, if anything: zeros written ahead, or a write a crash tore.
    pub(crate) torn: Option<Torn>,
    /// Where its records begin, every few KiB.
    pub(crate) index: SparseIndex,
    /// Whether the file holds zeros alone (or nothing).
    pub(crate) zeros: bool,
}

/// How much of a segment a scan reads at a time: a buffer this size is reused, so a scan of a
/// full segment costs no more memory, and no more fresh pages, than this.
const SCAN_CHUNK: usize = 1 << 20;

/// Reads the segment `file` of `size` bytes record by record, a chunk at a time, checking every
/// record: where its good records end, and the index of them. Corruption before the tail is an
/// error naming its offset. The window read is always whole pages from a page boundary, and
/// reaches past the end of each record to the end of that page, so that the torn-page rule of
/// [`read_record`](crate::read_record) sees what it would in the whole file.
pub(crate) fn scan_segment(
    file: &dyn StorageFile,
    size: u64,
    base: u64,
) -> io::Result<Result<SegmentScan, Error>> {
    let page = PAGE as u64;
    let mut window = 0u64; // the file offset of buf[0], a multiple of PAGE
    let mut buf: Vec<u8> = Vec::with_capacity(SCAN_CHUNK);
    // Makes `buf` hold the file from `window` to at least `until` (or the end of the file).
    let fill = |buf: &mut Vec<u8>, window: u64, until: u64| -> io::Result<()> {
        let until = until.min(size);
        while window + (buf.len() as u64) < until {
            let have = buf.len();
            let want = ((until - window) as usize - have)
                .max(SCAN_CHUNK.min((size - window) as usize - have));
            buf.resize(have + want, 0);
            let mut got = 0;
            while got < want {
                match file.read_at(&mut buf[have + got..], window + (have + got) as u64) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(have + got);
            if got == 0 {
                break;
            }
        }
        Ok(())
    };
    fill(&mut buf, window, HEADER_LEN as u64)?;
    if buf.iter().take(HEADER_LEN).all(|&b| b == 0) {
        // Possibly a creation a power cut interrupted: zeros all through, or garbage.
        let mut all = is_zeros(&buf);
        let mut at = buf.len() as u64;
        while all && at < size {
            buf.clear();
            fill(&mut buf, at, at + SCAN_CHUNK as u64)?;
            all = is_zeros(&buf);
            at += buf.len().max(1) as u64;
        }
        if all {
            return Ok(Ok(SegmentScan {
                next_seq: base,
                good_len: 0,
                torn: None,
                index: SparseIndex::new(base),
                zeros: true,
            }));
        }
        buf.clear();
        fill(&mut buf, 0, HEADER_LEN as u64)?;
    }
    let header = match Header::decode(&buf) {
        Ok(header) => header,
        Err(e) => return Ok(Err(e)),
    };
    if header.base_seq != base {
        return Ok(Err(Error::SegmentName {
            name: base,
            header: header.base_seq,
        }));
    }
    let mut index = SparseIndex::new(base);
    let (mut at, mut expected) = (HEADER_LEN as u64, base);
    loop {
        // Enough for the record's header, then for the whole record and its last page. Only
        // when more must be read does the window move up, to the page this record starts in:
        // what is before it is decoded already.
        let ensure = |buf: &mut Vec<u8>, window: &mut u64, until: u64| -> io::Result<()> {
            if *window + (buf.len() as u64) < until.min(size) {
                let start = at / page * page;
                buf.drain(..(start - *window) as usize);
                *window = start;
                fill(buf, *window, until)?;
            }
            Ok(())
        };
        ensure(&mut buf, &mut window, at + RECORD_HEADER_LEN as u64)?;
        let rel = (at - window) as usize;
        if let Some(head) = buf.get(rel..rel + RECORD_HEADER_LEN) {
            let len = u64::from(u32::from_be_bytes([head[0], head[1], head[2], head[3]]));
            let end = at + RECORD_HEADER_LEN as u64 + len.min(u64::from(MAX_PAYLOAD) + 1);
            ensure(&mut buf, &mut window, end.div_ceil(page) * page)?;
        }
        let rel = (at - window) as usize;
        match read_record(&buf, rel, expected) {
            Ok(Step::Record(record)) => {
                index.note(record.seq, window + record.offset);
                at = window + record.end;
                expected = record.seq + 1;
            }
            Ok(Step::End) => {
                return Ok(Ok(SegmentScan {
                    next_seq: expected,
                    good_len: at,
                    torn: None,
                    index,
                    zeros: false,
                }));
            }
            Ok(Step::Torn { .. }) => {
                return Ok(Ok(SegmentScan {
                    next_seq: expected,
                    good_len: at,
                    torn: Some(Torn {
                        offset: at,
                        len: size - at,
                    }),
                    index,
                    zeros: false,
                }));
            }
            Err(e) => return Ok(Err(e.at(at))),
        }
    }
}

/// Recovers the segment at `path`, whose name says its first record is `base`: every record is
/// checked, a chunk at a time, and a torn tail is cut off and synced. Empty, or zeros alone, it
/// is a creation a power cut interrupted before its header was synced (the size reached the
/// disk, the page did not): it never held a record, whose header is never zeros, and is
/// started afresh.
pub(crate) fn recover_segment(
    storage: &dyn Storage,
    path: &Path,
    base: u64,
    step: u64,
) -> io::Result<Result<RecoveredSegment, Error>> {
    let file = storage.open(path, true)?;
    let size = file.size()?;
    let found = match scan_segment(file.as_ref(), size, base)? {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
    };
    if found.zeros {
        file.set_len(0)?;
        file.write_all_at(&Header::new(base).encode(), 0)?;
        file.sync_all()?;
        sync_dir(storage, path)?;
        return Ok(Ok(RecoveredSegment {
            file: Preallocated::new(file, HEADER_LEN as u64, step)?,
            next_seq: base,
            torn: None,
            index: SparseIndex::new(base),
        }));
    }
    if let Some(torn) = found.torn {
        // Libraries print nothing: the caller has the tail in `Opened::torn`, and a
        // subscriber to `tracing` (if the application installed one) gets this line. What is
        // cut is zeros a writer preallocated before it stopped without closing, or a write a
        // crash tore: neither held an acknowledged event.
        tracing::warn!(
            path = %path.display(),
            offset = torn.offset,
            len = torn.len,
            "bothways-journal: cutting {} bytes after the last whole record, at offset {}",
            torn.len,
            torn.offset,
        );
        // Synced before anything is written in place after the records: otherwise a power
        // cut could bring the old tail back under new records, where a lost page would read
        // as damage instead of as zeros.
        file.set_len(found.good_len)?;
        file.sync_all()?;
    }
    Ok(Ok(RecoveredSegment {
        file: Preallocated::new(file, found.good_len, step)?,
        next_seq: found.next_seq,
        torn: found.torn,
        index: found.index,
    }))
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
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, PREALLOCATE)?;
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
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, 0)?;
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
        let mut file = Preallocated::new(Fs.open(&path, false)?, 20, PREALLOCATE)?;
        let mut record = Vec::new();
        encode_record(1, b"whole", &mut record)?;
        file.write_all(&record)?;
        file.trim(false)?;
        let found = scan(&std::fs::read(&path)?)?;
        assert_eq!((found.next_seq, found.torn), (2, None));
        Ok(())
    }
}
