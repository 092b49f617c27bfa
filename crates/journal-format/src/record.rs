//! One record: its framing on disk, and a sans-I/O decoder that takes the file's bytes.

use crate::{Error, MAX_SEQ, crc32c};

/// Bytes in front of every payload: length, sequence number, header CRC, payload CRC.
pub const RECORD_HEADER_LEN: usize = 20;
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
/// tail, perhaps with stray unsynced bytes after it), is a [`Step::Torn`]; anything wrong with
/// a record that is all there — a checksum, a sequence number, a length over [`MAX_PAYLOAD`] — is an
/// error naming its offset. Never panics and never allocates, whatever the bytes.
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
    if rest.len() < RECORD_HEADER_LEN || rest[..RECORD_HEADER_LEN].iter().all(|&b| b == 0) {
        return Ok(Step::Torn {
            len: rest.len() as u64,
        });
    }
    let word = |i: usize| u32::from_be_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    let len = word(0);
    let seq = (u64::from(word(4)) << 32) | u64::from(word(8));
    if word(12) != crc32c(&rest[..12]) {
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
}
