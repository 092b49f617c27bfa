//! A reader over a whole file's bytes: the header, then each record, stopping at a torn tail.

use crate::{Error, HEADER_LEN, Header, Record, Step, read_record};

/// A torn tail: bytes after the last good record that do not make a whole record, or that start
/// with a record header of zeros (space a writer preallocated, with whatever it holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Torn {
    /// Where the torn tail starts: the end of the last good record.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// Reads a journal file's records in order, from the file's bytes.
///
/// Iterating yields each good record, then stops at the end or at a torn tail; corruption before
/// the tail is yielded once as an error naming its offset, after which the iterator is done.
///
/// ```
/// use bothways_journal_format::{Error, Header, Reader, encode_record};
/// let mut file = Header::new(1).encode().to_vec();
/// for seq in 1..=3 {
///     encode_record(seq, b"event", &mut file)?;
/// }
/// file[20 + 25 + 22] ^= 0x10; // a flipped bit in the second record's payload
/// let results: Vec<_> = Reader::new(&file)?.collect();
/// assert!(results[0].is_ok());
/// assert_eq!(results[1], Err(Error::Checksum { offset: 45, part: "payload" }));
/// assert_eq!(results.len(), 2);
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    file: &'a [u8],
    header: Header,
    offset: usize,
    next_seq: u64,
    torn: Option<Torn>,
    done: bool,
}

impl<'a> Reader<'a> {
    /// Reads the header of `file`: a typed error for a short file, wrong magic bytes, or a
    /// newer major version.
    pub fn new(file: &'a [u8]) -> Result<Self, Error> {
        let header = Header::decode(file)?;
        Ok(Reader {
            file,
            header,
            offset: HEADER_LEN,
            next_seq: header.base_seq,
            torn: None,
            done: false,
        })
    }

    /// The file's header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The end of the last good record read so far (the header's end before the first): where
    /// a recovering writer cuts the file.
    pub fn good_len(&self) -> u64 {
        self.offset as u64
    }

    /// The sequence number the next record must carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The torn tail, once the reader has reached it.
    pub fn torn(&self) -> Option<Torn> {
        self.torn
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match read_record(self.file, self.offset, self.next_seq) {
            Ok(Step::Record(r)) => {
                // r.end is within the file, whose length is a usize; r.seq <= MAX_SEQ
                // (read_record refuses more), so the next number fits.
                self.offset = r.end as usize;
                self.next_seq = r.seq + 1;
                Some(Ok(r))
            }
            Ok(Step::End) => {
                self.done = true;
                None
            }
            Ok(Step::Torn { len }) => {
                self.done = true;
                self.torn = Some(Torn {
                    offset: self.offset as u64,
                    len,
                });
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What [`scan`] found in a whole file: where its good records end and what follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// The file's header.
    pub header: Header,
    /// The sequence number the next record appended must carry.
    pub next_seq: u64,
    /// The end of the last good record: the length to cut the file to.
    pub good_len: u64,
    /// The torn tail after it, if any.
    pub torn: Option<Torn>,
}

/// Reads a whole file, checking every record: what a writer does when it opens an existing
/// journal. Corruption before the tail is an error naming its offset; a torn tail is reported.
///
/// ```
/// use bothways_journal_format::{Header, encode_record, scan};
/// let mut file = Header::new(1).encode().to_vec();
/// encode_record(1, b"a", &mut file)?;
/// file.push(0xFF);
/// let found = scan(&file)?;
/// assert_eq!((found.next_seq, found.good_len as usize), (2, file.len() - 1));
/// assert_eq!(found.torn.map(|t| t.len), Some(1));
/// # Ok::<(), bothways_journal_format::Error>(())
/// ```
pub fn scan(file: &[u8]) -> Result<Scan, Error> {
    let mut reader = Reader::new(file)?;
    for record in reader.by_ref() {
        record?;
    }
    Ok(Scan {
        header: reader.header(),
        next_seq: reader.next_seq(),
        good_len: reader.good_len(),
        torn: reader.torn(),
    })
}
