//! A journal directory: segment files in the record format, a sparse index per sealed segment,
//! and a low-water mark — so that no cost of the journal grows with the size of its history.
//!
//! ```text
//! events/
//!   00000000000000000001.seg   records 1..=41,000     sealed: synced and trimmed
//!   00000000000000000001.idx   its sparse index        (derived; rebuilt when missing)
//!   00000000000000041001.seg   records 41,001..        active: written in place
//!   first                      the low-water mark      (after a prune)
//! ```
//!
//! A new segment starts once the active one reaches the segment size; the old one is synced,
//! trimmed, and indexed first, so only the active segment can be torn by a crash, and opening
//! a journal recovers only its tail. A prune writes the low-water mark, then deletes the
//! segments wholly below it; the events below it that share a segment with the first kept
//! one stay in the file and are skipped by readers. Like the rest of the file layer this is
//! blocking I/O through a [`Storage`], the same in both styles.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::file::{Preallocated, recover_segment, scan_segment};
use crate::history::ReplayPlan;
use crate::{
    Entry, Error, HEADER_LEN, Header, SparseIndex, Storage, Torn, crc32c, read_exact_prefix,
};

/// The segment size a journal uses unless told otherwise: a crash's recovery reads at most
/// this much, and a prune frees space in steps of it.
pub const SEGMENT_SIZE: u64 = 32 << 20;

/// The name of the low-water mark's file in a journal directory.
pub const LOW_WATER: &str = "first";

/// The first eight bytes of the low-water mark's file.
const LOW_WATER_MAGIC: [u8; 8] = *b"BWJFIRST";

/// The path of the segment whose first record is `base`: its number, 20 digits, so that the
/// names sort as the numbers do.
///
/// ```
/// let path = bothways_journal_format::segment_path("events".as_ref(), 41_001);
/// assert_eq!(path.to_str(), Some("events/00000000000000041001.seg"));
/// ```
pub fn segment_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.seg"))
}

/// The path of the sparse index of the segment whose first record is `base`.
pub fn index_path(dir: &Path, base: u64) -> PathBuf {
    dir.join(format!("{base:020}.idx"))
}

/// What a file in a journal directory is, from its name.
enum Named {
    Segment(u64),
    Index(u64),
    LowWater,
    /// A temporary file a crash left behind.
    Leftover,
    Other,
}

fn named(path: &Path) -> Named {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Named::Other;
    };
    if name == LOW_WATER {
        return Named::LowWater;
    }
    if name.ends_with(".tmp") {
        return Named::Leftover;
    }
    let number = |stem: &str| {
        (stem.len() == 20)
            .then(|| stem.parse::<u64>().ok())
            .flatten()
    };
    if let Some(base) = name.strip_suffix(".seg").and_then(number) {
        return Named::Segment(base);
    }
    if let Some(base) = name.strip_suffix(".idx").and_then(number) {
        return Named::Index(base);
    }
    Named::Other
}

/// The sibling path a single-file journal is moved to while it becomes a directory.
fn moving_path(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(".migrating");
    PathBuf::from(name)
}

fn parent(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new(""))
}

fn in_segment(base: u64) -> impl Fn(Error) -> Error {
    move |error| Error::Segment {
        base,
        error: Box::new(error),
    }
}

/// A journal directory open for writing: its sealed segments, the active one, and where its
/// events begin.
///
/// ```
/// use bothways_journal_format::{Directory, Fs, encode_record};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// // Tiny segments, so that the third record starts a new one.
/// let mut journal = Directory::open(Fs::shared(), &path, 100, 0)??.directory;
/// for seq in 1..=3 {
///     let mut record = Vec::new();
///     encode_record(seq, &[7; 40], &mut record)?;
///     journal.write(&record)?;
/// }
/// assert_eq!(journal.segments(), vec![1, 3]);
/// assert_eq!(journal.next_seq(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Directory {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    segment_size: u64,
    step: u64,
    /// The sealed segments' first sequence numbers, ascending.
    sealed: Vec<u64>,
    active_base: u64,
    active: Preallocated,
    active_index: SparseIndex,
    /// The sequence number of the next record written.
    next_seq: u64,
    /// The low-water mark: the first event kept.
    first: u64,
}

/// A journal directory opened by [`Directory::open`], and what recovery did.
#[derive(Debug)]
pub struct Opened {
    /// The directory, open for writing.
    pub directory: Directory,
    /// The torn tail cut off the active segment, if there was one.
    pub torn: Option<Torn>,
    /// Whether a single-file journal of the older layout was moved into a directory.
    pub migrated: bool,
}

impl Directory {
    /// Opens the journal directory at `dir`, creating it if it does not exist, with segments
    /// of `segment_size` bytes that grow `step` bytes of zeros ahead of their records at a
    /// time (0: not at all).
    ///
    /// Only the active segment is read: its records are checked, and a torn tail is cut off
    /// and synced. Sealed segments were synced when they were sealed; their headers are
    /// checked, a missing index is rebuilt, and those wholly below the low-water mark (a prune
    /// cut short) are deleted. A single file in the older layout (format version 1, a journal
    /// in one file) is moved into a directory of that name as its one segment, crash-safely;
    /// a file that is not a journal is refused as it is, untouched.
    pub fn open(
        storage: Arc<dyn Storage>,
        dir: &Path,
        segment_size: u64,
        step: u64,
    ) -> io::Result<Result<Opened, Error>> {
        let migrated = match migrate(storage.as_ref(), dir)? {
            Ok(migrated) => migrated,
            Err(e) => return Ok(Err(e)),
        };
        let made = storage.entry(dir)?.is_none();
        storage.create_dir_all(dir)?;
        if made {
            // The directory's own entry is in its parent: synced, so that it stays.
            storage.sync_dir(parent(dir))?;
        }
        let mut segments = Vec::new();
        let mut indexes = Vec::new();
        for path in storage.list(dir)? {
            match named(&path) {
                Named::Segment(base) => segments.push(base),
                Named::Index(base) => indexes.push(base),
                Named::Leftover => storage.remove(&path)?,
                Named::LowWater | Named::Other => {}
            }
        }
        segments.sort_unstable();
        let low_water = match read_low_water(storage.as_ref(), dir)? {
            Ok(low) => low,
            Err(e) => return Ok(Err(e)),
        };
        let first = low_water.or(segments.first().copied()).unwrap_or(1).max(1);
        let Some(active_base) = segments.pop() else {
            return Directory::start(storage, dir, segment_size, step, first, migrated);
        };
        let mut sealed = segments;
        // Segments wholly below the low-water mark: a prune that was cut short.
        let mut removed = false;
        while let Some(&oldest) = sealed.first() {
            let next = sealed.get(1).copied().unwrap_or(active_base);
            if next > first {
                break;
            }
            remove_segment(storage.as_ref(), dir, oldest)?;
            sealed.remove(0);
            removed = true;
        }
        if removed {
            storage.sync_dir(dir)?;
        }
        for &base in &sealed {
            match check_header(storage.as_ref(), dir, base)? {
                Ok(()) if indexes.contains(&base) => {}
                Ok(()) => {
                    if let Err(e) = rebuild_index(storage.as_ref(), dir, base)? {
                        return Ok(Err(in_segment(base)(e)));
                    }
                }
                Err(e) => return Ok(Err(in_segment(base)(e))),
            }
        }
        let path = segment_path(dir, active_base);
        let recovered = match recover_segment(storage.as_ref(), &path, active_base, step)? {
            Ok(recovered) => recovered,
            Err(e) => return Ok(Err(in_segment(active_base)(e))),
        };
        let mut directory = Directory {
            storage,
            dir: dir.to_path_buf(),
            segment_size,
            step,
            sealed,
            active_base,
            active: recovered.file,
            active_index: recovered.index,
            next_seq: recovered.next_seq,
            first,
        };
        if first > directory.next_seq {
            // A prune recorded past events that a crash then lost (never synced): the next
            // event is the first kept, in a segment of its own so that numbers stay contiguous.
            directory.next_seq = first;
            directory.roll()?;
        }
        Ok(Ok(Opened {
            directory,
            torn: recovered.torn,
            migrated,
        }))
    }

    /// A new journal: one empty segment starting at `first`.
    fn start(
        storage: Arc<dyn Storage>,
        dir: &Path,
        segment_size: u64,
        step: u64,
        first: u64,
        migrated: bool,
    ) -> io::Result<Result<Opened, Error>> {
        let path = segment_path(dir, first);
        let recovered = match recover_segment(storage.as_ref(), &path, first, step)? {
            Ok(recovered) => recovered,
            Err(e) => return Ok(Err(in_segment(first)(e))),
        };
        Ok(Ok(Opened {
            directory: Directory {
                storage,
                dir: dir.to_path_buf(),
                segment_size,
                step,
                sealed: Vec::new(),
                active_base: first,
                active: recovered.file,
                active_index: recovered.index,
                next_seq: first,
                first,
            },
            torn: None,
            migrated,
        }))
    }

    /// The sequence number the next record written must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The low-water mark: the first event kept (events before it were pruned).
    pub fn first(&self) -> u64 {
        self.first
    }

    /// The segments' first sequence numbers, sealed ones then the active one.
    pub fn segments(&self) -> Vec<u64> {
        let mut all = self.sealed.clone();
        all.push(self.active_base);
        all
    }

    /// Where the active segment's records end.
    pub fn active_len(&self) -> u64 {
        self.active.len()
    }

    /// The storage the directory is on.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Writes whole records, as [`crate::encode_record`] makes them and numbered from
    /// [`next_seq`](Self::next_seq) on, after the active segment's. Whenever the active segment
    /// reaches the segment size, at a record's end, it is sealed (synced, trimmed, indexed)
    /// and the rest goes to the next one.
    pub fn write(&mut self, records: &[u8]) -> io::Result<()> {
        let mut run = 0usize; // the start of the records not yet written
        let mut pos = 0usize;
        // Walk the records for the index, the next number and the segment boundaries: their
        // lengths are the writer's own, so trusted.
        while let Some(head) = records.get(pos..pos + HEADER_LEN) {
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            let mut seq = [0u8; 8];
            seq.copy_from_slice(&head[4..12]);
            let seq = u64::from_be_bytes(seq);
            let at = self.active.len() + (pos - run) as u64;
            self.active_index.note(seq, at);
            pos += HEADER_LEN + len;
            if at + (HEADER_LEN + len) as u64 >= self.segment_size {
                self.active
                    .write_all(&records[run..pos.min(records.len())])?;
                self.next_seq = seq.saturating_add(1);
                run = pos;
                self.roll()?;
            } else {
                self.next_seq = seq.saturating_add(1);
            }
        }
        if run < records.len() {
            self.active.write_all(&records[run..])?;
        }
        Ok(())
    }

    /// `fdatasync` of the active segment: every record written is on disk when this returns
    /// (sealed segments were synced when they were sealed).
    pub fn sync_data(&self) -> io::Result<()> {
        self.active.sync_data()
    }

    /// Cuts the zeros after the active segment's records off, and with `fsync` makes that
    /// durable: what a writer does when it closes.
    pub fn close(&mut self, fsync: bool) -> io::Result<()> {
        self.active.trim(fsync)
    }

    /// Seals the active segment and starts the next at [`next_seq`](Self::next_seq): the old
    /// one is trimmed and synced, and its index written, before the new one exists, so that a
    /// crash can tear only the last segment.
    fn roll(&mut self) -> io::Result<()> {
        self.active.trim(true)?;
        write_index(self.storage.as_ref(), &self.dir, &self.active_index)?;
        let base = self.next_seq;
        let file = self.storage.open(&segment_path(&self.dir, base), true)?;
        file.set_len(0)?;
        file.write_all_at(&Header::new(base).encode(), 0)?;
        file.sync_all()?;
        self.storage.sync_dir(&self.dir)?;
        self.sealed.push(self.active_base);
        self.active_base = base;
        self.active = Preallocated::new(file, HEADER_LEN as u64, self.step)?;
        self.active_index = SparseIndex::new(base);
        Ok(())
    }

    /// Where a reader of events `from..` (at or past the low-water mark) starts, taken while
    /// the writer is paused: the segments that hold them, where the active one's records end
    /// now, and, if `from` is in the active segment, the offset its index gives. The history
    /// below that end is then read without the writer, which only ever writes past it.
    pub fn plan(&self, from: u64) -> ReplayPlan {
        let from = from.max(self.first);
        let mut segments: Vec<(u64, Option<u64>)> =
            self.sealed.iter().map(|&b| (b, None)).collect();
        segments.push((self.active_base, Some(self.active.len())));
        let k = segments
            .partition_point(|&(base, _)| base <= from)
            .saturating_sub(1);
        let start = (k == segments.len() - 1).then(|| self.active_index.lookup(from));
        ReplayPlan::new(
            Arc::clone(&self.storage),
            self.dir.clone(),
            segments.split_off(k),
            start,
            from,
            self.next_seq,
        )
    }

    /// Keeps only the events after `after`: writes the low-water mark (synced, renamed into
    /// place), deletes the sealed segments wholly below it, and syncs the directory once for
    /// both. The active segment is never deleted; events below the mark that share a segment
    /// with the first kept one are skipped by readers. A crash before the directory is synced
    /// keeps a prefix of those changes, in order: the old mark, or the new one with some of
    /// the old segments, which the next open deletes; never fewer events than the mark keeps.
    pub fn prune(&mut self, after: u64) -> io::Result<()> {
        let low = after.saturating_add(1).clamp(self.first, self.next_seq);
        if low == self.first {
            return Ok(());
        }
        write_low_water(self.storage.as_ref(), &self.dir, low)?;
        self.first = low;
        while let Some(&oldest) = self.sealed.first() {
            let next = self.sealed.get(1).copied().unwrap_or(self.active_base);
            if next > low {
                break;
            }
            remove_segment(self.storage.as_ref(), &self.dir, oldest)?;
            self.sealed.remove(0);
        }
        self.storage.sync_dir(&self.dir)
    }
}

/// Moves a single-file journal (the older layout) at `dir` into a directory of that name, as
/// its one segment: renamed aside, the directory made, renamed in, each step synced, so that a
/// crash leaves a state the next open finishes. `Ok(false)` when there was nothing to move.
fn migrate(storage: &dyn Storage, dir: &Path) -> io::Result<Result<bool, Error>> {
    let moving = moving_path(dir);
    if storage.entry(dir)? == Some(Entry::File) {
        // Checked first: a file that is not a journal stays where it is, untouched.
        let file = storage.open(dir, false)?;
        let head = read_exact_prefix(file.as_ref(), HEADER_LEN as u64)?;
        if let Err(e) = Header::decode(&head) {
            return Ok(Err(e));
        }
        storage.rename(dir, &moving)?;
        storage.sync_dir(parent(dir))?;
    }
    if storage.entry(&moving)? != Some(Entry::File) {
        return Ok(Ok(false));
    }
    let head = read_exact_prefix(storage.open(&moving, false)?.as_ref(), HEADER_LEN as u64)?;
    let base = match Header::decode(&head) {
        Ok(header) => header.base_seq,
        Err(e) => return Ok(Err(e)),
    };
    if storage.entry(dir)? == Some(Entry::File) {
        return Ok(Err(Error::Layout(format!(
            "both {} and {} exist",
            dir.display(),
            moving.display()
        ))));
    }
    storage.create_dir_all(dir)?;
    storage.sync_dir(parent(dir))?;
    storage.rename(&moving, &segment_path(dir, base))?;
    storage.sync_dir(dir)?;
    storage.sync_dir(parent(dir))?;
    Ok(Ok(true))
}

/// Checks a sealed segment's header: a journal's, naming the segment's own first record.
fn check_header(storage: &dyn Storage, dir: &Path, base: u64) -> io::Result<Result<(), Error>> {
    let file = storage.open(&segment_path(dir, base), false)?;
    let head = read_exact_prefix(file.as_ref(), HEADER_LEN as u64)?;
    Ok(match Header::decode(&head) {
        Ok(header) if header.base_seq == base => Ok(()),
        Ok(header) => Err(Error::SegmentName {
            name: base,
            header: header.base_seq,
        }),
        Err(e) => Err(e),
    })
}

/// The index of a sealed segment, read from the segment itself, a chunk at a time.
fn index_of(
    storage: &dyn Storage,
    dir: &Path,
    base: u64,
) -> io::Result<Result<SparseIndex, Error>> {
    let file = storage.open(&segment_path(dir, base), false)?;
    let size = file.size()?;
    Ok(scan_segment(file.as_ref(), size, base)?.map(|found| found.index))
}

/// Reads a sealed segment and writes its index again.
fn rebuild_index(storage: &dyn Storage, dir: &Path, base: u64) -> io::Result<Result<(), Error>> {
    match index_of(storage, dir, base)? {
        Ok(index) => write_index(storage, dir, &index).map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// Loads a sealed segment's index, or rebuilds it from the segment when its file is missing
/// or does not check: the segment is the truth.
pub(crate) fn load_index(
    storage: &dyn Storage,
    dir: &Path,
    base: u64,
) -> io::Result<Result<SparseIndex, Error>> {
    let path = index_path(dir, base);
    let loaded = match storage.open(&path, false) {
        Ok(file) => {
            let size = file.size()?;
            SparseIndex::decode(&read_exact_prefix(file.as_ref(), size)?, base)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    if let Some(index) = loaded {
        return Ok(Ok(index));
    }
    index_of(storage, dir, base)
}

/// Writes a segment's index and syncs it. Not renamed into place: a torn index does not
/// check, and is rebuilt.
fn write_index(storage: &dyn Storage, dir: &Path, index: &SparseIndex) -> io::Result<()> {
    let file = storage.open(&index_path(dir, index.base()), true)?;
    let bytes = index.encode();
    file.set_len(0)?;
    file.write_all_at(&bytes, 0)?;
    file.sync_data()
}

fn remove_segment(storage: &dyn Storage, dir: &Path, base: u64) -> io::Result<()> {
    storage.remove(&segment_path(dir, base))?;
    match storage.remove(&index_path(dir, base)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads the low-water mark, if the journal has one.
fn read_low_water(storage: &dyn Storage, dir: &Path) -> io::Result<Result<Option<u64>, Error>> {
    let file = match storage.open(&dir.join(LOW_WATER), false) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(None)),
        Err(e) => return Err(e),
    };
    let bytes = read_exact_prefix(file.as_ref(), 20)?;
    let valid = bytes.len() == 20
        && bytes[..8] == LOW_WATER_MAGIC
        && crc32c(&bytes[..16]).to_be_bytes() == bytes[16..20];
    if !valid {
        return Ok(Err(Error::LowWater));
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[8..16]);
    Ok(Ok(Some(u64::from_be_bytes(seq))))
}

/// Writes the low-water mark atomically: a temporary file, synced, renamed over the old one.
/// The caller syncs the directory.
fn write_low_water(storage: &dyn Storage, dir: &Path, first: u64) -> io::Result<()> {
    let mut bytes = LOW_WATER_MAGIC.to_vec();
    bytes.extend_from_slice(&first.to_be_bytes());
    let crc = crc32c(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    let tmp = dir.join(format!("{LOW_WATER}.tmp"));
    let file = storage.open(&tmp, true)?;
    file.set_len(0)?;
    file.write_all_at(&bytes, 0)?;
    file.sync_all()?;
    storage.rename(&tmp, &dir.join(LOW_WATER))
}

/// Where to read a journal directory without opening it for writing: every event from `from`
/// on, to the end of its last segment (zeros a writer preallocated end it). For tools and
/// tests; a live journal's subscribers get their plan from [`Directory::plan`].
///
/// ```
/// use bothways_journal_format::{Directory, Fs, History, encode_record, read_plan};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("events");
/// let mut journal = Directory::open(Fs::shared(), &path, 1 << 20, 0)??.directory;
/// let mut record = Vec::new();
/// for seq in 1..=3 {
///     encode_record(seq, b"event", &mut record)?;
/// }
/// journal.write(&record)?;
/// let mut history = History::new(read_plan(Fs::shared(), &path, 2)??);
/// let seqs: Vec<u64> = history.by_ref().map(|e| e.map(|e| e.seq)).collect::<Result<_, _>>()?;
/// assert_eq!(seqs, [2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_plan(
    storage: Arc<dyn Storage>,
    dir: &Path,
    from: u64,
) -> io::Result<Result<ReplayPlan, Error>> {
    let mut segments: Vec<u64> = storage
        .list(dir)?
        .iter()
        .filter_map(|p| match named(p) {
            Named::Segment(base) => Some(base),
            _ => None,
        })
        .collect();
    segments.sort_unstable();
    let first = match read_low_water(storage.as_ref(), dir)? {
        Ok(low) => low.or(segments.first().copied()).unwrap_or(1),
        Err(e) => return Ok(Err(e)),
    };
    let from = from.max(first);
    let k = segments
        .partition_point(|&base| base <= from)
        .saturating_sub(1);
    let segments = segments.split_off(k.min(segments.len()));
    Ok(Ok(ReplayPlan::new(
        storage,
        dir.to_path_buf(),
        segments.into_iter().map(|b| (b, None)).collect(),
        None,
        from,
        u64::MAX,
    )))
}
