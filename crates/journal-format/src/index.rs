//! The sparse index of a segment: where in the file every few KiB of records begin, so that a
//! reader starting at a sequence number seeks near it instead of reading what comes before.
//!
//! An index is derived data: the segment stays the truth. A sealed segment's index is written
//! once, when the segment is sealed, as one file with a checksum; one that is missing or does
//! not check is rebuilt from the segment. The active segment's index lives in memory.
//!
//! ```text
//! index | magic "BWJINDEX" (8) | base u64 | count u32 | (seq u64, offset u64) × count | crc u32 |
//! ```

use crate::{Error, HEADER_LEN, crc32c};

/// A record's start is noted once at least this many bytes of records follow the last noted
/// one: a reader reads at most this much before the record it wants.
pub const INDEX_EVERY: u64 = 4 << 10;

/// The first eight bytes of an index file.
pub const INDEX_MAGIC: [u8; 8] = *b"BWJINDEX";

/// Where records begin in one segment: `(seq, offset)` pairs in ascending order, the first
/// always the segment's first record, right after its header.
///
/// ```
/// use bothways_journal_format::SparseIndex;
/// let mut index = SparseIndex::new(1);
/// index.note(9, 5_000);
/// index.note(10, 5_100); // too close to the last one: not noted
/// assert_eq!(index.lookup(12), (9, 5_000));
/// assert_eq!(index.lookup(3), (1, 20));
/// let bytes = index.encode();
/// assert_eq!(SparseIndex::decode(&bytes, 1), Some(index));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseIndex {
    base: u64,
    entries: Vec<(u64, u64)>,
}

impl SparseIndex {
    /// The index of a segment whose first record is `base`, noting only that record.
    pub fn new(base: u64) -> Self {
        SparseIndex {
            base,
            entries: vec![(base, HEADER_LEN as u64)],
        }
    }

    /// Notes that record `seq` starts at `offset`, if it is far enough past the last noted one.
    pub fn note(&mut self, seq: u64, offset: u64) {
        let last = self.entries.last().map_or(0, |&(_, at)| at);
        if offset >= last + INDEX_EVERY {
            self.entries.push((seq, offset));
        }
    }

    /// Where to start reading for record `seq`: the last noted record at or before it, as
    /// `(its seq, its offset)`.
    pub fn lookup(&self, seq: u64) -> (u64, u64) {
        let i = self.entries.partition_point(|&(s, _)| s <= seq);
        // The first entry is always there (new, decode), so i - 1 exists unless seq < base,
        // when the segment's start is the answer.
        self.entries
            .get(i.saturating_sub(1))
            .copied()
            .unwrap_or((self.base, HEADER_LEN as u64))
    }

    /// The first sequence number of the segment this indexes.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// How many records are noted.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing but the segment's first record is noted.
    pub fn is_empty(&self) -> bool {
        self.entries.len() <= 1
    }

    /// The index file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.entries.len() * 16);
        out.extend_from_slice(&INDEX_MAGIC);
        out.extend_from_slice(&self.base.to_be_bytes());
        // Entries are at most one per INDEX_EVERY bytes of a segment, far below 2^32.
        out.extend_from_slice(&(self.entries.len() as u32).to_be_bytes());
        for &(seq, offset) in &self.entries {
            out.extend_from_slice(&seq.to_be_bytes());
            out.extend_from_slice(&offset.to_be_bytes());
        }
        let crc = crc32c(&out);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    /// Reads an index file's bytes for the segment starting at `base`: `None` if they are not a
    /// whole, checked index of that segment (the index is then rebuilt from the segment).
    pub fn decode(bytes: &[u8], base: u64) -> Option<SparseIndex> {
        let (body, crc) = bytes.split_at_checked(bytes.len().checked_sub(4)?)?;
        if crc32c(body).to_be_bytes() != crc || body.get(..8)? != INDEX_MAGIC {
            return None;
        }
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_be_bytes(body.get(at..at + 8)?.try_into().ok()?))
        };
        if word(8)? != base {
            return None;
        }
        let count = u32::from_be_bytes(body.get(16..20)?.try_into().ok()?) as usize;
        if body.len() != 20 + count.checked_mul(16)? || count == 0 {
            return None;
        }
        let entries: Vec<(u64, u64)> = (0..count)
            .map(|i| Some((word(20 + i * 16)?, word(28 + i * 16)?)))
            .collect::<Option<_>>()?;
        let ascending = entries
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1);
        if entries[0] != (base, HEADER_LEN as u64) || !ascending {
            return None;
        }
        Some(SparseIndex { base, entries })
    }

    /// Builds the index of a segment from its bytes (from offset 0, header included), as the
    /// writer notes it: what a missing or damaged index file is rebuilt from.
    pub fn build(segment: &[u8], base: u64) -> Result<SparseIndex, Error> {
        let mut index = SparseIndex::new(base);
        let mut reader = crate::Reader::new(segment)?;
        for record in reader.by_ref() {
            let record = record?;
            index.note(record.seq, record.offset);
        }
        Ok(index)
    }
}
