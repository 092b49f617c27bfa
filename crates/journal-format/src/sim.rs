//! A simulated disk (feature `sim`): a [`Storage`] held in memory that can lose power at any
//! call and comes back holding what a real disk may hold after a power cut, deterministically
//! from a seed. The journals' power-cut checks run on it a thousand times a second.
//!
//! What it models, as a POSIX filesystem on a disk with a volatile cache may behave:
//! - a file's writes since its last sync are lost, kept, or kept in part, 4 KiB page by 4 KiB
//!   page, in any combination; a page that is lost holds what it held at the last sync (zeros
//!   past the synced size);
//! - a size change (`set_len`, or a write past the end) not yet synced may be undone;
//! - a file's creation, a rename or a removal is durable once its directory is synced; of
//!   those not yet synced, a power cut keeps some prefix, in order (a journaling filesystem
//!   commits metadata in order);
//! - faults on a chosen call: `ENOSPC` on a write, `EIO` on a sync. A failed sync drops the
//!   file's dirty pages from write-back without writing them, as Linux does, so a later sync
//!   "succeeds" without them: what PostgreSQL's "fsyncgate" taught.
//!
//! What it does not model: a disk that lies about its cache flush, torn writes inside a page
//! (sectors), bit rot, directories that vanish (they are durable when made), or a full
//! disk anywhere but the chosen write.
//!
//! ```
//! use std::path::Path;
//! use bothways_journal_format::Storage;
//! use bothways_journal_format::sim::SimDisk;
//!
//! let disk = SimDisk::new();
//! disk.create_dir_all(Path::new("/j"))?;
//! let file = disk.open(Path::new("/j/f"), true)?;
//! file.write_all_at(b"synced", 0)?;
//! file.sync_data()?;
//! disk.sync_dir(Path::new("/j"))?;
//! file.write_all_at(b" and not", 6)?;
//!
//! let after = disk.restart(7); // the power is cut, and comes back
//! assert!(file.size().is_err(), "handles from before the cut are dead");
//! let bytes = after.contents(Path::new("/j/f")).unwrap();
//! assert!(bytes == b"synced" || bytes == b"synced and not");
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use crate::{Entry, Storage, StorageFile};

/// The granularity at which a power cut keeps or loses unsynced writes: the format's page.
pub const PAGE: u64 = crate::PAGE as u64;

/// A kind of call a fault can be injected on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `write_all_at`.
    Write,
    /// `sync_data` or `sync_all` of a file.
    Sync,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The disk is full (`ENOSPC`): the write fails and writes nothing.
    NoSpace,
    /// The device failed (`EIO`): on a sync, the file's unsynced pages are dropped from
    /// write-back, never written, and the next sync does not see them.
    Io,
}

/// A disk in memory that can lose power. Clones share the disk.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    shared: Arc<Mutex<Sim>>,
}

/// One page-granular file: what reads see, and what the disk holds.
#[derive(Debug, Clone, Default)]
struct Inode {
    /// The file as the OS shows it (the page cache).
    data: Vec<u8>,
    /// The file as the disk holds it: what a power cut falls back to.
    disk: Vec<u8>,
    /// Pages written since the last sync.
    dirty: BTreeSet<u64>,
    /// Pages a failed sync dropped: they will not reach the disk unless written again.
    dropped: BTreeSet<u64>,
    /// Whether the size changed since the last sync.
    resized: bool,
}

/// A namespace change not yet made durable by a sync of its directory.
#[derive(Debug, Clone)]
enum NameOp {
    Create { path: PathBuf, inode: u64 },
    Rename { from: PathBuf, to: PathBuf },
    Remove { path: PathBuf },
}

impl NameOp {
    fn touches(&self, dir: &Path) -> bool {
        let parent = |p: &Path| p.parent() == Some(dir);
        match self {
            NameOp::Create { path, .. } | NameOp::Remove { path } => parent(path),
            NameOp::Rename { from, to } => parent(from) || parent(to),
        }
    }

    fn apply(&self, names: &mut BTreeMap<PathBuf, u64>) {
        match self {
            NameOp::Create { path, inode } => {
                names.insert(path.clone(), *inode);
            }
            NameOp::Rename { from, to } => {
                if let Some(inode) = names.remove(from) {
                    names.insert(to.clone(), inode);
                }
            }
            NameOp::Remove { path } => {
                names.remove(path);
            }
        }
    }
}

#[derive(Debug, Default)]
struct Sim {
    /// Set by a power cut: every call fails from then on.
    off: bool,
    /// Calls made so far, and the call after which the power goes.
    calls: u64,
    cut_at: Option<u64>,
    /// Faults to come: the kind of call, how many more of that kind succeed first, the fault.
    faults: Vec<(Call, u64, Fault)>,
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    pending: Vec<NameOp>,
    dirs: BTreeSet<PathBuf>,
    syncs: u64,
    bytes_read: u64,
    sync_latency: Duration,
}

/// Grows `bytes` to `len` with zeros, by copies from a page of zeros: `Vec::resize` fills byte
/// by byte in unoptimised builds, and the journal preallocates a mebibyte at a time.
fn zero_extend(bytes: &mut Vec<u8>, len: usize) {
    static ZEROS: [u8; PAGE as usize] = [0; PAGE as usize];
    while bytes.len() < len {
        let n = (len - bytes.len()).min(ZEROS.len());
        bytes.extend_from_slice(&ZEROS[..n]);
    }
}

fn power_off() -> io::Error {
    io::Error::other("simulated power cut: the disk is off")
}

fn page_range(offset: u64, len: u64) -> std::ops::Range<u64> {
    if len == 0 {
        return 0..0;
    }
    offset / PAGE..(offset + len).div_ceil(PAGE)
}

impl Sim {
    /// Every call goes through here: counted, and refused once the power is off.
    fn call(&mut self) -> io::Result<()> {
        if self.off {
            return Err(power_off());
        }
        self.calls += 1;
        if self.cut_at.is_some_and(|at| self.calls > at) {
            self.off = true;
            return Err(power_off());
        }
        Ok(())
    }

    /// The fault due on this call of `kind`, if any.
    fn fault(&mut self, kind: Call) -> Option<Fault> {
        let mut due = None;
        self.faults.retain_mut(|(call, after, fault)| {
            if *call != kind || due.is_some() {
                return true;
            }
            if *after == 0 {
                due = Some(*fault);
                false
            } else {
                *after -= 1;
                true
            }
        });
        due
    }

    fn inode(&mut self, inode: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&inode)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
    }
}

impl SimDisk {
    /// An empty disk, powered on.
    pub fn new() -> Self {
        SimDisk::default()
    }

    fn sim(&self) -> MutexGuard<'_, Sim> {
        // Every critical section leaves the state whole before it can panic.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The power goes after `calls` more calls: the next `calls` succeed, every later one
    /// fails, and the disk holds what it held then. [`SimDisk::restart`] brings it back.
    pub fn cut_after(&self, calls: u64) {
        let mut sim = self.sim();
        sim.cut_at = Some(sim.calls + calls);
    }

    /// Whether the power is off.
    pub fn is_off(&self) -> bool {
        self.sim().off
    }

    /// Injects `fault` on a call of kind `call`, after `after` more such calls succeed.
    pub fn fail(&self, call: Call, after: u64, fault: Fault) {
        self.sim().faults.push((call, after, fault));
    }

    /// Makes every successful file sync take `latency` more, as a real disk's flush does:
    /// what lets a test see appenders share fsyncs on a machine whose disk syncs for free.
    pub fn set_sync_latency(&self, latency: Duration) {
        self.sim().sync_latency = latency;
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.sim().calls
    }

    /// Successful file syncs so far.
    pub fn syncs(&self) -> u64 {
        self.sim().syncs
    }

    /// Bytes returned by reads so far: what a test counts to see how much a reader read.
    pub fn bytes_read(&self) -> u64 {
        self.sim().bytes_read
    }

    /// The bytes of the file at `path` as reads see them, if it exists.
    pub fn contents(&self, path: &Path) -> Option<Vec<u8>> {
        let sim = self.sim();
        let inode = sim.names.get(path)?;
        sim.inodes.get(inode).map(|i| i.data.clone())
    }

    /// Cuts the power (if it is not off already) and brings it back: a new disk holding what
    /// this one may hold after the cut, chosen by `seed`. Every handle of this disk is dead.
    pub fn restart(&self, seed: u64) -> SimDisk {
        self.sim().off = true;
        self.crash_image(seed)
    }

    /// What this disk may hold if the power went now, chosen by `seed`, as a new disk; this
    /// one goes on. Different seeds sample the possible outcomes of one cut.
    pub fn crash_image(&self, seed: u64) -> SimDisk {
        let sim = self.sim();
        let mut rng = Rng::new(seed);
        // A prefix of the namespace changes not yet synced survives, in order.
        let mut names = sim.durable_names.clone();
        let kept = rng.below(sim.pending.len() as u64 + 1) as usize;
        for op in &sim.pending[..kept] {
            op.apply(&mut names);
        }
        let mut inodes = HashMap::new();
        for inode in names.values() {
            if let Some(old) = sim.inodes.get(inode) {
                let bytes = after_cut(old, &mut rng);
                inodes.insert(
                    *inode,
                    Inode {
                        data: bytes.clone(),
                        disk: bytes,
                        ..Inode::default()
                    },
                );
            }
        }
        SimDisk {
            shared: Arc::new(Mutex::new(Sim {
                inodes,
                next_inode: sim.next_inode,
                durable_names: names.clone(),
                names,
                dirs: sim.dirs.clone(),
                sync_latency: sim.sync_latency,
                ..Sim::default()
            })),
        }
    }
}

/// What a file holds after a power cut: its synced size or (if the size changed since) its
/// new one, and each page written since the last sync either as written or as it was.
fn after_cut(inode: &Inode, rng: &mut Rng) -> Vec<u8> {
    let len = if inode.resized && rng.below(2) == 1 {
        inode.data.len()
    } else {
        inode.disk.len()
    };
    let mut bytes = vec![0u8; len];
    for page in page_range(0, len as u64) {
        let source = if inode.dirty.contains(&page) && rng.below(2) == 1 {
            &inode.data
        } else {
            &inode.disk
        };
        // Pages are within `len`, which fits a usize, so these casts are lossless.
        let start = (page * PAGE) as usize;
        let end = (start + PAGE as usize).min(len);
        // Past the source's end the page holds zeros, as `bytes` already does.
        if let Some(from) = source.get(start..end.min(source.len())) {
            bytes[start..start + from.len()].copy_from_slice(from);
        }
    }
    bytes
}

impl Storage for SimDisk {
    fn open(&self, path: &Path, create: bool) -> io::Result<Box<dyn StorageFile>> {
        let mut sim = self.sim();
        sim.call()?;
        let inode = match sim.names.get(path) {
            Some(inode) => *inode,
            None if !create => return Err(io::ErrorKind::NotFound.into()),
            None => {
                let dir = path.parent().unwrap_or(Path::new(""));
                if !sim.dirs.contains(dir) {
                    return Err(io::ErrorKind::NotFound.into());
                }
                let inode = sim.next_inode;
                sim.next_inode += 1;
                sim.inodes.insert(inode, Inode::default());
                sim.names.insert(path.to_path_buf(), inode);
                sim.pending.push(NameOp::Create {
                    path: path.to_path_buf(),
                    inode,
                });
                inode
            }
        };
        Ok(Box::new(SimFile {
            disk: self.clone(),
            inode,
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.call()?;
        let inode = sim
            .names
            .remove(from)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        sim.names.insert(to.to_path_buf(), inode);
        sim.pending.push(NameOp::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.call()?;
        sim.names
            .remove(path)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
        sim.pending.push(NameOp::Remove {
            path: path.to_path_buf(),
        });
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut sim = self.sim();
        sim.call()?;
        if !sim.dirs.contains(dir) {
            return Err(io::ErrorKind::NotFound.into());
        }
        Ok(sim
            .names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.call()?;
        for ancestor in dir.ancestors() {
            sim.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn entry(&self, path: &Path) -> io::Result<Option<Entry>> {
        let mut sim = self.sim();
        sim.call()?;
        Ok(if sim.names.contains_key(path) {
            Some(Entry::File)
        } else if sim.dirs.contains(path) {
            Some(Entry::Dir)
        } else {
            None
        })
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut sim = self.sim();
        sim.call()?;
        let pending = std::mem::take(&mut sim.pending);
        let (synced, rest): (Vec<NameOp>, Vec<NameOp>) =
            pending.into_iter().partition(|op| op.touches(dir));
        for op in &synced {
            op.apply(&mut sim.durable_names);
        }
        sim.pending = rest;
        Ok(())
    }
}

/// An open file of a [`SimDisk`].
#[derive(Debug)]
struct SimFile {
    disk: SimDisk,
    inode: u64,
}

impl SimFile {
    fn sync(&self) -> io::Result<()> {
        let latency = {
            let mut sim = self.disk.sim();
            sim.call()?;
            let fault = sim.fault(Call::Sync);
            let inode = sim.inode(self.inode)?;
            if fault.is_some() {
                // EIO: the dirty pages leave write-back unwritten; reads still see them.
                let dirty = std::mem::take(&mut inode.dirty);
                inode.dropped.extend(dirty);
                inode.resized = false;
                return Err(io::Error::other("simulated EIO: write-back failed"));
            }
            let mut disk = inode.data.clone();
            // Pages a failed sync dropped stay as the disk had them.
            for &page in &inode.dropped {
                let start = (page * PAGE) as usize;
                let end = (start + PAGE as usize).min(disk.len());
                for (i, byte) in disk.iter_mut().enumerate().take(end).skip(start) {
                    *byte = inode.disk.get(i).copied().unwrap_or(0);
                }
            }
            inode.disk = disk;
            inode.dirty.clear();
            inode.resized = false;
            sim.syncs += 1;
            sim.sync_latency
        };
        if !latency.is_zero() {
            thread::sleep(latency);
        }
        Ok(())
    }
}

impl StorageFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut sim = self.disk.sim();
        sim.call()?;
        let inode = sim.inode(self.inode)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(inode.data.len());
        let n = buf.len().min(inode.data.len() - start);
        buf[..n].copy_from_slice(&inode.data[start..start + n]);
        sim.bytes_read += n as u64;
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut sim = self.disk.sim();
        sim.call()?;
        if let Some(fault) = sim.fault(Call::Write) {
            return Err(match fault {
                Fault::NoSpace => io::ErrorKind::StorageFull.into(),
                Fault::Io => io::Error::other("simulated EIO on a write"),
            });
        }
        let inode = sim.inode(self.inode)?;
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::FileTooLarge)?;
        let end = start + buf.len();
        if end > inode.data.len() {
            zero_extend(&mut inode.data, end);
            inode.resized = true;
        }
        inode.data[start..end].copy_from_slice(buf);
        for page in page_range(offset, buf.len() as u64) {
            inode.dirty.insert(page);
            inode.dropped.remove(&page);
        }
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        let mut sim = self.disk.sim();
        sim.call()?;
        Ok(sim.inode(self.inode)?.data.len() as u64)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut sim = self.disk.sim();
        sim.call()?;
        let inode = sim.inode(self.inode)?;
        let len = usize::try_from(len).map_err(|_| io::ErrorKind::FileTooLarge)?;
        if len != inode.data.len() {
            inode.data.truncate(len);
            zero_extend(&mut inode.data, len);
            inode.resized = true;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync()
    }
}

/// A small xorshift generator: the choices of a power cut need only variety, and the same
/// seed must give the same disk.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // A zero state would stay zero; a mixed one spreads nearby seeds apart.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(disk: &SimDisk) -> io::Result<Box<dyn StorageFile>> {
        disk.create_dir_all(Path::new("/d"))?;
        let file = disk.open(Path::new("/d/f"), true)?;
        disk.sync_dir(Path::new("/d"))?;
        Ok(file)
    }

    #[test]
    fn synced_pages_survive_every_cut() -> io::Result<()> {
        let disk = SimDisk::new();
        let f = file(&disk)?;
        f.write_all_at(&[1; 10_000], 0)?;
        f.sync_data()?;
        f.write_all_at(&[2; 10_000], 10_000)?;
        for seed in 0..50 {
            let bytes = disk
                .crash_image(seed)
                .contents(Path::new("/d/f"))
                .unwrap_or_default();
            assert!(
                bytes.len() == 10_000 || bytes.len() == 20_000,
                "{}",
                bytes.len()
            );
            assert!(bytes[..10_000].iter().all(|&b| b == 1), "seed {seed}");
            // Each later page is either as written or zeros: never anything else.
            for page in bytes[10_000..].chunks(1) {
                assert!(page[0] == 2 || page[0] == 0);
            }
        }
        Ok(())
    }

    #[test]
    fn unsynced_pages_are_kept_or_lost_page_by_page() -> io::Result<()> {
        let disk = SimDisk::new();
        let f = file(&disk)?;
        f.write_all_at(&[0; 4 * PAGE as usize], 0)?;
        f.sync_data()?;
        f.write_all_at(&[9; 4 * PAGE as usize], 0)?;
        let mut seen = BTreeSet::new();
        for seed in 0..200 {
            let bytes = disk
                .crash_image(seed)
                .contents(Path::new("/d/f"))
                .unwrap_or_default();
            let pattern: Vec<bool> = bytes.chunks(PAGE as usize).map(|p| p[0] == 9).collect();
            for p in bytes.chunks(PAGE as usize) {
                assert!(p.iter().all(|&b| b == p[0]), "a page kept in part");
            }
            seen.insert(pattern);
        }
        assert_eq!(seen.len(), 16, "every combination of 4 pages");
        Ok(())
    }

    #[test]
    fn a_creation_or_rename_needs_its_directory_synced() -> io::Result<()> {
        let disk = SimDisk::new();
        disk.create_dir_all(Path::new("/d"))?;
        let f = disk.open(Path::new("/d/new"), true)?;
        f.write_all_at(b"x", 0)?;
        f.sync_all()?;
        let lost = (0..50).any(|s| disk.crash_image(s).contents(Path::new("/d/new")).is_none());
        assert!(
            lost,
            "a creation never synced in its directory always survived"
        );
        disk.sync_dir(Path::new("/d"))?;
        disk.rename(Path::new("/d/new"), Path::new("/d/old"))?;
        let outcomes: BTreeSet<bool> = (0..50)
            .map(|s| disk.crash_image(s).contents(Path::new("/d/old")).is_some())
            .collect();
        assert_eq!(outcomes.len(), 2, "an unsynced rename is kept or lost");
        Ok(())
    }

    #[test]
    fn the_power_goes_at_the_chosen_call() -> io::Result<()> {
        let disk = SimDisk::new();
        let f = file(&disk)?;
        disk.cut_after(2);
        f.write_all_at(b"a", 0)?;
        f.write_all_at(b"b", 1)?;
        assert!(f.write_all_at(b"c", 2).is_err());
        assert!(f.size().is_err(), "nothing works once the power is off");
        assert!(disk.is_off());
        Ok(())
    }

    #[test]
    fn a_failed_sync_loses_its_pages_even_if_the_next_sync_succeeds() -> io::Result<()> {
        let disk = SimDisk::new();
        let f = file(&disk)?;
        f.write_all_at(&[1; 100], 0)?;
        f.sync_data()?;
        f.write_all_at(&[2; 100], 0)?;
        disk.fail(Call::Sync, 0, Fault::Io);
        assert!(f.sync_data().is_err());
        f.sync_data()?; // the retry "succeeds": the pages are no longer dirty
        let mut buf = [0; 1];
        f.read_at(&mut buf, 0)?;
        assert_eq!(buf[0], 2, "reads still see what was written");
        for seed in 0..20 {
            let bytes = disk
                .crash_image(seed)
                .contents(Path::new("/d/f"))
                .unwrap_or_default();
            assert_eq!(
                bytes,
                vec![1; 100],
                "seed {seed}: the dropped pages came back"
            );
        }
        Ok(())
    }

    #[test]
    fn a_full_disk_refuses_the_chosen_write_only() -> io::Result<()> {
        let disk = SimDisk::new();
        let f = file(&disk)?;
        disk.fail(Call::Write, 1, Fault::NoSpace);
        f.write_all_at(b"a", 0)?;
        let full = f.write_all_at(b"b", 1);
        assert_eq!(full.map_err(|e| e.kind()), Err(io::ErrorKind::StorageFull));
        f.write_all_at(b"c", 1)?;
        assert_eq!(disk.contents(Path::new("/d/f")), Some(b"ac".to_vec()));
        Ok(())
    }
}
