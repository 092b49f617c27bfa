//! One record: its framing on disk, and a sans-I/O decoder that takes the file's bytes.

use crate::{Error, MAX_SEQ, crc32c};

/// Bytes in front of every payload: length, sequence number, header CRC, payload CRC.
pub const RECORD_HEADER_LEN: usize = 20;
/// The page size a power cut is assumed to keep or lose whole: 4 KiB, the page of Linux's
/// page cache on common machines, counted from the start of the file.
pub const PAGE: usize = 4096;
/// Zeros to compare with: slices are compared a page at a time, as `memcmp`, which stays fast
/// in unoptimised builds where a byte loop over a preallocated mebibyte does not.
static ZERO_PAGE: [u8; PAGE] = [0; PAGE];

/// Whether `bytes` are all zeros.
pub(crate) fn is_zeros(bytes: &[u8]) -> bool {
    bytes
        .chunks(PAGE)
        .all(|chunk| chunk == &ZERO_PAGE[..chunk.len()])
}

/// The longest payload a record may carry. The decoder refuses a longer announced length
/// before looking at the payload, so a corrupt length never turns into a huge allocation.
pub const MAX_PAYLOAD: u32 = 4 << 20;

/// A record as decoded from the file's bytes, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record's sequence number.
    pub seq: u64,
    /// The event's bytes.
    pub payload: &'a [u8],
    /// Where the record starts in the file.
    pub offset: u64,
    /// Where the record ends: the offset of the next one.
    pub end: u64,
}

/// An event with its sequence number, owning its bytes: what a subscriber receives.
///
/// ```
/// let e = bothways_journal_format::Event { seq: 3, payload: b"x".to_vec() };
/// assert_eq!(e.seq, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event's sequence number, from 1, contiguous.
    pub seq: u64,
    /// The event's bytes.
    pub payload: Vec<u8>,
}

impl From<Record<'_>> for Event {
    fn from(r: Record<'_>) -> Self {
        Event {
            seq: r.seq,
            payload: r.payload.to_vec(),
        }
    }
}

/// What [`read_record`] found at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    /// A whole, valid record.
    Record(Record<'a>),
    /// The end of the bytes, exactly at a record boundary.
    End,
    /// An incomplete record — a write cut short — or a record header of zeros, and whatever
    /// follows it to the end of the bytes.
    Torn {
        /// How many bytes the torn tail has.
        len: u64,
    },
}

/// Appends one record to `out`, or [`Error::TooLarge`] (writing nothing) if `payload` is longer
/// than [`MAX_PAYLOAD`].
///
/// ```
/// let mut out = Vec::new();
/// bothways_journal_format::encode_record(1, b"abc", &mut out)?;
/// assert_eq!(out.len(), bothways_journal_format::RECORD_HEADER_LEN + 3);
/// # Ok::<(), bothways_journal_format::Error>(())
/// ```
pub fn encode_record(seq: u64, payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let len = match u32::try_from(payload.len()) {
        Ok(len) if len <= MAX_PAYLOAD => len,
        _ => {
            return Err(Error::TooLarge {
                offset: 0,
                len: payload.len() as u64,
                max: MAX_PAYLOAD,
            });
        }
    };
    let mut head = [0u8; RECORD_HEADER_LEN];
    head[..4].copy_from_slice(&len.to_be_bytes());
    head[4..12].copy_from_slice(&seq.to_be_bytes());
    let head_crc = crc32c(&head[..12]);
    head[12..16].copy_from_slice(&head_crc.to_be_bytes());
    head[16..20].copy_from_slice(&crc32c(payload).to_be_bytes());
    out.reserve(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
    Ok(())
}

/// Decodes the record at `offset` of `file` (the whole file's bytes), which must carry
/// sequence number `expected`.
///
/// A record cut short at the end of the bytes, or a record header of zeros (a preallocated
/// tail, perhaps with stray unsynced bytes after it), is a [`Step::Torn`]. So is a record
/// whose checksum fails while a [`PAGE`] it lies in is all zeros from the record's start (or
/// the page's) to the page's end: what a power cut leaves when it keeps some pages of a write
/// in place into preallocated zeros and loses another.
/// Anything else wrong with a record that is all there — a checksum, a sequence number, a
/// length over [`MAX_PAYLOAD`] — is an error naming its offset. Never panics and never
/// allocates, whatever the bytes.
///
/// `file` holds the file's bytes from its start: pages are counted from there.
///
/// ```
/// use bothways_journal_format::{Error, Step, encode_record, read_record};
/// let mut file = Vec::new();
/// encode_record(7, b"abc", &mut file)?;
/// let Step::Record(r) = read_record(&file, 0, 7)? else { panic!() };
/// assert_eq!((r.seq, r.payload, r.end as usize), (7, &b"abc"[..], file.len()));
/// assert_eq!(read_record(&file, r.end as usize, 8)?, Step::End);
/// assert_eq!(read_record(&file[..10], 0, 7)?, Step::Torn { len: 10 });
/// file[21] ^= 1;
/// assert_eq!(read_record(&file, 0, 7), Err(Error::Checksum { offset: 0, part: "payload" }));
/// # Ok::<(), Error>(())
/// ```
pub fn read_record(file: &[u8], offset: usize, expected: u64) -> Result<Step<'_>, Error> {
    let rest = file.get(offset..).unwrap_or(&[]);
    let at = offset as u64;
    if rest.is_empty() {
        return Ok(Step::End);
    }
    // Zeros where a record header should be: the end of what was written. Writers write in
    // place into zeros written ahead of them ([`crate::Preallocated`]), and a power cut may
    // keep a later page of an unsynced write while losing an earlier one, so stray bytes may
    // follow; they were never fsynced. A record's header is never all zeros: its CRC of the
    // length and sequence number would have to be 0, and crc32c of 12 zero bytes is not.
    if rest.len() < RECORD_HEADER_LEN || is_zeros(&rest[..RECORD_HEADER_LEN]) {
        return Ok(Step::Torn {
            len: rest.len() as u64,
        });
    }
    let word = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let len = word(0);
    let seq = (u64::from(word(4)) << 32) | u64::from(word(8));
    if word(12) != crc32c(&rest[..12]) {
        if holds_a_zero_page(file, offset, offset + RECORD_HEADER_LEN) {
            return Ok(Step::Torn {
                len: rest.len() as u64,
            });
        }
        return Err(Error::Checksum {
            offset: at,
            part: "header",
        });
    }
    if len > MAX_PAYLOAD {
        return Err(Error::TooLarge {
            offset: at,
            len: u64::from(len),
            max: MAX_PAYLOAD,
        });
    }
    if seq > MAX_SEQ {
        // Whatever was expected: the number after this one would not fit, so no writer wrote it.
        return Err(Error::SequenceExhausted {
            offset: at,
            found: seq,
            max: MAX_SEQ,
        });
    }
    if seq != expected {
        return Err(Error::Sequence {
            offset: at,
            expected,
            found: seq,
        });
    }
    // len <= MAX_PAYLOAD, so this cannot overflow a usize.
    let end = RECORD_HEADER_LEN + len as usize;
    let Some(payload) = rest.get(RECORD_HEADER_LEN..end) else {
        return Ok(Step::Torn {
            len: rest.len() as u64,
        });
    };
    if word(16) != crc32c(payload) {
        if holds_a_zero_page(file, offset, offset + end) {
            return Ok(Step::Torn {
                len: rest.len() as u64,
            });
        }
        return Err(Error::Checksum {
            offset: at,
            part: "payload",
        });
    }
    Ok(Step::Record(Record {
        seq,
        payload,
        offset: at,
        end: at + end as u64,
    }))
}

/// Whether a page that `file[start..end]` overlaps is all zeros from where the record begins
/// in it (or from the page's start) to the page's end (or the file's end).
///
/// A power cut that loses a page of an unsynced write leaves what the disk held there: the
/// records synced before the write, then zeros — writers write only into zeros they wrote
/// and synced ahead of them ([`crate::Preallocated`]), or past the synced end of the file —
/// and the write began at a record's start. So a record that fails its checksum with such a
/// page in it was torn by the cut; one without is damaged. (The false reading: a damaged
/// record whose own bytes hold such a stretch of zeros, say a payload with a page of zeros.)
fn holds_a_zero_page(file: &[u8], start: usize, end: usize) -> bool {
    let end = end.min(file.len());
    if start >= end {
        return false;
    }
    (start / PAGE..=(end - 1) / PAGE).any(|page| {
        let from = (page * PAGE).max(start);
        let to = ((page + 1) * PAGE).min(file.len());
        is_zeros(&file[from..to])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_of_zeros_is_never_a_record() {
        // What makes a zero header a safe end marker: no record can start with one.
        assert_ne!(crc32c(&[0; 12]), 0);
    }

    #[test]
    fn zeros_then_stray_bytes_are_a_torn_tail() -> Result<(), Error> {
        let mut file = Vec::new();
        encode_record(1, b"synced", &mut file)?;
        let good = file.len();
        // An unsynced write whose first page was lost and whose second page was kept.
        file.extend_from_slice(&[0; 4096]);
        encode_record(3, b"stray, never fsynced", &mut file)?;
        file.extend_from_slice(&[0; 100]);
        assert!(matches!(read_record(&file, 0, 1)?, Step::Record(_)));
        assert_eq!(
            read_record(&file, good, 2)?,
            Step::Torn {
                len: (file.len() - good) as u64
            }
        );
        Ok(())
    }

    #[test]
    fn a_header_with_one_bit_set_is_still_corruption() {
        let mut file = vec![0; 64];
        file[3] = 1;
        assert_eq!(
            read_record(&file, 0, 1),
            Err(Error::Checksum {
                offset: 0,
                part: "header"
            })
        );
    }

    #[test]
    fn a_record_with_a_lost_page_is_torn_and_a_flipped_bit_is_not() -> Result<(), Error> {
        let mut file = vec![1u8; PAGE - 100]; // records before, in the first page
        let start = file.len();
        encode_record(5, &[7u8; 2 * PAGE], &mut file)?;
        let mut lost = file.clone();
        lost[PAGE..2 * PAGE].fill(0); // the second page did not reach the disk
        assert!(matches!(read_record(&lost, start, 5)?, Step::Torn { .. }));
        let mut flipped = file;
        flipped[PAGE + 10] ^= 0x20;
        assert_eq!(
            read_record(&flipped, start, 5),
            Err(Error::Checksum {
                offset: start as u64,
                part: "payload"
            })
        );
        Ok(())
    }

    #[test]
    fn a_header_split_by_a_lost_page_is_torn() -> Result<(), Error> {
        let mut file = vec![1u8; PAGE - 10];
        let start = file.len();
        encode_record(5, b"event", &mut file)?;
        file.resize(2 * PAGE, 0);
        file[PAGE..].fill(0); // the header's last 10 bytes were lost with their page
        assert!(matches!(read_record(&file, start, 5)?, Step::Torn { .. }));
        Ok(())
    }

    #[test]
    fn a_header_whose_first_page_was_lost_is_torn() -> Result<(), Error> {
        // Synced records end 16 bytes before a page boundary; the next write's first page was
        // lost (back to the records, then zeros) and its second kept.
        let mut file = vec![1u8; PAGE - 16];
        let start = file.len();
        encode_record(5, &[3u8; 100], &mut file)?;
        file[start..PAGE].fill(0);
        assert!(matches!(read_record(&file, start, 5)?, Step::Torn { .. }));
        // The same header with one bit flipped is damage: nothing in it is a lost page.
        let mut flipped = vec![1u8; PAGE - 16];
        encode_record(5, &[3u8; 100], &mut flipped)?;
        flipped[start + 2] ^= 1;
        assert!(read_record(&flipped, start, 5).is_err());
        Ok(())
    }
}
