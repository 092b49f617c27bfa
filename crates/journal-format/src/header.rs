//! The file header: magic bytes, a format version, and the first sequence number the file holds.

use crate::Error;

/// The first eight bytes of every journal file.
pub const MAGIC: [u8; 8] = *b"BWJOURNL";
/// The major format version this crate writes; a file with a newer one is refused.
///
/// - 1: a journal in one file (the older layout). Still read: opening one moves it into a
///   directory as its only segment ([`crate::Directory::open`]).
/// - 2: a segment of a journal directory. The records are laid out as in 1; what changed is
///   that a journal's first event is its low-water mark, not the first segment's first record,
///   so an older reader of a segment alone could replay pruned events: it must refuse it.
pub const VERSION_MAJOR: u16 = 2;
/// The minor format version this crate writes; readers accept any minor of their major.
pub const VERSION_MINOR: u16 = 0;
/// Bytes of the header.
pub const HEADER_LEN: usize = 20;
/// The last sequence number a record may carry: one below `u64::MAX`, so that the number after
/// it (what a reader or writer expects next) still fits in a `u64`. A journal that reaches it
/// refuses further appends with a typed error instead of wrapping to 0.
pub const MAX_SEQ: u64 = u64::MAX - 1;

/// The header at the start of a journal file.
///
/// ```
/// use bothways_journal_format::{Error, HEADER_LEN, Header};
/// let bytes = Header::new(42).encode();
/// assert_eq!(Header::decode(&bytes), Ok(Header::new(42)));
///
/// let mut newer = bytes;
/// newer[8..10].copy_from_slice(&3u16.to_be_bytes());
/// assert_eq!(Header::decode(&newer), Err(Error::NewerVersion { found: 3, supported: 2 }));
/// assert_eq!(Header::decode(&bytes[..HEADER_LEN - 1]).unwrap_err().offset(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The file's major format version.
    pub major: u16,
    /// The file's minor format version.
    pub minor: u16,
    /// The sequence number of the file's first record: 1 for a new journal, `n + 1` after a
    /// prune that kept only events after `n`. It lets an empty pruned file continue the count.
    /// Never 0 (sequence numbers start at 1); `MAX_SEQ + 1` is a file with no room left.
    pub base_seq: u64,
}

impl Header {
    /// The header this crate writes, for a file whose first record will be `base_seq`.
    pub fn new(base_seq: u64) -> Self {
        Header {
            major: VERSION_MAJOR,
            minor: VERSION_MINOR,
            base_seq,
        }
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&self.major.to_be_bytes());
        out[10..12].copy_from_slice(&self.minor.to_be_bytes());
        out[12..20].copy_from_slice(&self.base_seq.to_be_bytes());
        out
    }

    /// Reads a header from the start of `bytes`: a typed error for a short file, wrong magic
    /// bytes, a newer major version, or a field no writer writes (major version 0, first
    /// sequence number 0), each naming its offset.
    ///
    /// ```
    /// use bothways_journal_format::{Error, Header};
    /// let mut zero_base = Header::new(1).encode();
    /// zero_base[12..20].copy_from_slice(&0u64.to_be_bytes());
    /// assert_eq!(Header::decode(&zero_base).unwrap_err().offset(), 12);
    /// ```
    pub fn decode(bytes: &[u8]) -> Result<Header, Error> {
        let Some(head) = bytes.get(..HEADER_LEN) else {
            return Err(Error::TruncatedHeader {
                len: bytes.len() as u64,
                need: HEADER_LEN as u64,
            });
        };
        if head[..8] != MAGIC {
            return Err(Error::BadMagic);
        }
        let major = u16::from_be_bytes([head[8], head[9]]);
        if major > VERSION_MAJOR {
            return Err(Error::NewerVersion {
                found: major,
                supported: VERSION_MAJOR,
            });
        }
        if major == 0 {
            return Err(Error::InvalidHeader {
                offset: 8,
                field: "major version",
                found: 0,
            });
        }
        let mut base = [0u8; 8];
        base.copy_from_slice(&head[12..20]);
        let base_seq = u64::from_be_bytes(base);
        if base_seq == 0 {
            // Sequence numbers start at 1: an event 0 could never be asked for.
            return Err(Error::InvalidHeader {
                offset: 12,
                field: "first sequence number",
                found: 0,
            });
        }
        Ok(Header {
            major,
            minor: u16::from_be_bytes([head[10], head[11]]),
            base_seq,
        })
    }
}
