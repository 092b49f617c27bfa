//! The one error enum of this crate: what can be wrong with a journal file, and where.

/// What can be wrong with a journal file, with the byte offset where it was found.
///
/// ```
/// use bothways_journal_format::{Error, Reader};
/// assert_eq!(Reader::new(b"BWJ").unwrap_err(), Error::TruncatedHeader { len: 3, need: 20 });
/// assert_eq!(Reader::new(b"BWJ").unwrap_err().offset(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is shorter than a header.
    #[error("the file has {len} bytes, fewer than the {need}-byte header")]
    TruncatedHeader {
        /// The file's length.
        len: u64,
        /// The header's length.
        need: u64,
    },
    /// The file does not start with the journal's magic bytes.
    #[error("not a journal file: wrong magic bytes at offset 0")]
    BadMagic,
    /// The file was written by a newer major version of the format.
    #[error("format version {found} at offset 8 is newer than the supported {supported}")]
    NewerVersion {
        /// The file's major version.
        found: u16,
        /// The newest major version this crate reads.
        supported: u16,
    },
    /// A header field holds a value no writer writes (major version 0, first sequence 0).
    #[error("the header's {field} at offset {offset} is {found}, which no journal writes")]
    InvalidHeader {
        /// Where the field is.
        offset: u64,
        /// Which field.
        field: &'static str,
        /// Its value.
        found: u64,
    },
    /// A record carries a sequence number past [`crate::MAX_SEQ`]: the number after it would
    /// not fit.
    #[error("the record at offset {offset} has sequence {found}, past the last usable {max}")]
    SequenceExhausted {
        /// Where the record starts.
        offset: u64,
        /// The sequence number found.
        found: u64,
        /// The last sequence number a record may carry.
        max: u64,
    },
    /// A segment file's header does not name the first record its file name says.
    #[error("the segment named {name:020} has a header at offset 12 that starts it at {header}")]
    SegmentName {
        /// The first sequence number in the file's name.
        name: u64,
        /// The one in its header.
        header: u64,
    },
    /// Events are missing between two segments: the one after event `expected - 1` starts
    /// elsewhere.
    #[error("event {expected} is missing: the next segment starts at {segment}")]
    Gap {
        /// The sequence number that should have come next.
        expected: u64,
        /// Where the next segment starts.
        segment: u64,
    },
    /// The journal's low-water mark (its `first` file) does not check.
    #[error("the journal's low-water mark is damaged")]
    LowWater,
    /// A directory of segments is where a journal file was expected, or the reverse, or a
    /// single-file journal of an older layout could not be moved into its directory.
    #[error("not a journal directory: {0}")]
    Layout(String),
    /// A segment was deleted (pruned) before a reader of history reached it.
    #[error("segment {segment:020} was pruned while it was being read")]
    Vanished {
        /// The segment's first sequence number.
        segment: u64,
    },
    /// Reading a segment failed (a reader without a writer to report it, [`crate::History`]'s
    /// iterator).
    #[error("reading the journal failed: {0}")]
    Io(std::io::ErrorKind),
    /// An error in one segment file of a journal directory, at an offset in that file.
    #[error("in segment {base:020}: {error}")]
    Segment {
        /// The segment's first sequence number, its file's name.
        base: u64,
        /// What is wrong there.
        error: Box<Error>,
    },
    /// A record's header or payload does not match its checksum.
    #[error("checksum mismatch in the {part} of the record at offset {offset}")]
    Checksum {
        /// Where the record starts.
        offset: u64,
        /// `"header"` or `"payload"`.
        part: &'static str,
    },
    /// A record's sequence number does not follow the previous one.
    #[error("the record at offset {offset} has sequence {found}, expected {expected}")]
    Sequence {
        /// Where the record starts.
        offset: u64,
        /// The sequence number that should have come.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
    /// A record announces (or a writer offers) a payload longer than the maximum.
    #[error("a record of {len} bytes at offset {offset} is longer than the maximum of {max}")]
    TooLarge {
        /// Where the record starts (for a writer: where it would have gone, or 0).
        offset: u64,
        /// The announced or offered payload length.
        len: u64,
        /// The longest payload accepted.
        max: u32,
    },
}

impl Error {
    /// The byte offset in the file where the problem was found (in a journal directory, in
    /// the segment [`Error::Segment`] names).
    pub fn offset(&self) -> u64 {
        match self {
            Error::Segment { error, .. } => error.offset(),
            Error::SegmentName { .. } => 12,
            Error::TruncatedHeader { .. }
            | Error::BadMagic
            | Error::Gap { .. }
            | Error::LowWater
            | Error::Layout(_)
            | Error::Vanished { .. }
            | Error::Io(_) => 0,
            Error::NewerVersion { .. } => 8,
            Error::InvalidHeader { offset, .. }
            | Error::SequenceExhausted { offset, .. }
            | Error::Checksum { offset, .. }
            | Error::Sequence { offset, .. }
            | Error::TooLarge { offset, .. } => *offset,
        }
    }
}

impl Error {
    /// The same error with its offset moved to `offset` (a decoder that read a slice of a file
    /// names offsets in the slice; its caller knows where the slice began).
    pub(crate) fn at(self, offset: u64) -> Error {
        match self {
            Error::Checksum { part, .. } => Error::Checksum { offset, part },
            Error::Sequence {
                expected, found, ..
            } => Error::Sequence {
                offset,
                expected,
                found,
            },
            Error::TooLarge { len, max, .. } => Error::TooLarge { offset, len, max },
            Error::SequenceExhausted { found, max, .. } => {
                Error::SequenceExhausted { offset, found, max }
            }
            other => other,
        }
    }
}
