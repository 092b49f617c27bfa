//! A subscriber's history, streamed: read from the segments in bounded chunks, after the
//! writer's pause, from the offset the sparse index gives to the end noted during the pause.
//!
//! Reading below the noted end while the writer appends past it is safe here because the
//! writer never changes a byte it has written: records go after the records (into zeros it
//! wrote ahead), a sealed segment is never written again, and a prune deletes whole segments
//! (a reader that had not opened one yet gets [`Error::Vanished`]). So the bytes a reader
//! reads are the bytes the writer wrote before it noted the end, whatever it does meanwhile.
//!
//! The reading is split in two so that each style does its I/O its own way: [`History::next_buffered`]
//! decodes from what is in memory and never blocks; [`History::read`] does the blocking read of
//! the next chunk (inline in the threads style, on tokio's blocking pool in the async one).

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::record::is_zeros;
use crate::segment::{load_index, segment_path};
use crate::{
    Error, Event, HEADER_LEN, Header, MAX_PAYLOAD, RECORD_HEADER_LEN, Step, Storage, StorageFile,
    read_exact_prefix, read_record,
};

/// How much history a reader reads at a time. With the largest record, this bounds the memory
/// a subscriber holds for its history, however long it is.
pub const CHUNK: usize = 256 << 10;

/// Where a reader of history starts and ends, as noted while the writer was paused.
#[derive(Debug, Clone)]
pub struct ReplayPlan {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    /// The segments to read, in order: first record, and where to stop (the active segment's
    /// noted end; `None`: the end of the file).
    segments: Vec<(u64, Option<u64>)>,
    /// For a start in the active segment: the indexed record to start from and its offset.
    start: Option<(u64, u64)>,
    from: u64,
    /// The first event not in the history: from it on, events come live.
    end: u64,
}

impl ReplayPlan {
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        dir: PathBuf,
        segments: Vec<(u64, Option<u64>)>,
        start: Option<(u64, u64)>,
        from: u64,
        end: u64,
    ) -> Self {
        ReplayPlan {
            storage,
            dir,
            segments,
            start,
            from,
            end,
        }
    }

    /// The first event the history holds (or would hold).
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The first event after the history: where live events take over.
    pub fn end(&self) -> u64 {
        self.end
    }
}

/// What [`History::next_buffered`] found.
#[derive(Debug)]
pub enum Next {
    /// The next event.
    Event(Event),
    /// Nothing decodable is in memory: call [`History::read`], then ask again.
    Read,
    /// The history is over.
    Done,
}

/// A segment being read.
#[derive(Debug)]
struct Open {
    base: u64,
    file: Box<dyn StorageFile>,
    /// Where to stop reading it.
    end: u64,
}

/// The history of a subscription, read in chunks of [`CHUNK`]: events `from..end` of its
/// [`ReplayPlan`], in order, each checked against its checksums.
///
/// ```
/// use bothways_journal_format::{Directory, Fs, History, encode_record};
/// let dir = tempfile::tempdir()?;
/// let mut journal = Directory::open(Fs::shared(), &dir.path().join("j"), 1 << 20, 0)??.directory;
/// let mut records = Vec::new();
/// for seq in 1..=100 {
///     encode_record(seq, b"event", &mut records)?;
/// }
/// journal.write(&records)?;
/// let history = History::new(journal.plan(98));
/// let seqs: Vec<u64> = history.map(|e| e.map(|e| e.seq)).collect::<Result<_, _>>()?;
/// assert_eq!(seqs, [98, 99, 100]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct History {
    storage: Arc<dyn Storage>,
    dir: PathBuf,
    segments: VecDeque<(u64, Option<u64>)>,
    start: Option<(u64, u64)>,
    /// The first event to hand out, and the first not to.
    from: u64,
    end: u64,
    open: Option<Open>,
    /// Whether the next segment opened is the plan's first.
    first_segment: bool,
    /// The file offset of `buf[0]`, the bytes read, and how many of them are decoded.
    pos: u64,
    buf: Vec<u8>,
    taken: usize,
    /// How many bytes the next decode needs in memory, past `taken`.
    need: usize,
    /// The sequence number the next record read must carry.
    expect: u64,
    /// While the first record after an index entry is not decoded yet: the segment's start,
    /// to read from instead if the entry is stale (it does not point at that record).
    fallback: Option<u64>,
}

impl History {
    /// A reader for `plan`, which reads nothing until asked.
    pub fn new(plan: ReplayPlan) -> Self {
        History {
            storage: plan.storage,
            dir: plan.dir,
            segments: plan.segments.into(),
            start: plan.start,
            from: plan.from,
            end: plan.end,
            open: None,
            first_segment: true,
            pos: 0,
            buf: Vec::new(),
            taken: 0,
            need: RECORD_HEADER_LEN,
            expect: plan.from,
            fallback: None,
        }
    }

    /// The sequence number of the next event this history will hand out.
    pub fn next_seq(&self) -> u64 {
        self.from
    }

    /// How many bytes of history this reader holds in memory now.
    pub fn held(&self) -> usize {
        self.buf.capacity()
    }

    /// Decodes the next event from the bytes in memory, without blocking.
    pub fn next_buffered(&mut self) -> Result<Next, Error> {
        loop {
            if self.expect >= self.end || self.from >= self.end {
                self.release();
                return Ok(Next::Done);
            }
            let Some(open) = &self.open else {
                if self.segments.is_empty() {
                    self.release();
                    return if self.end == u64::MAX {
                        Ok(Next::Done)
                    } else {
                        // The plan promised events up to `end`; the segments hold fewer.
                        Err(Error::Gap {
                            expected: self.expect,
                            segment: self.end,
                        })
                    };
                }
                return Ok(Next::Read);
            };
            let (base, file_end) = (open.base, open.end);
            let at = self.pos + self.taken as u64;
            let rest = &self.buf[self.taken..];
            let at_end = self.pos + self.buf.len() as u64 >= file_end;
            if rest.len() < RECORD_HEADER_LEN || is_zeros(&rest[..RECORD_HEADER_LEN]) {
                if rest.len() >= RECORD_HEADER_LEN || at_end {
                    // The end of this segment: its last record, or zeros a writer wrote
                    // ahead (a segment read without a writer). Anything else is damage.
                    if !is_zeros(rest) {
                        return Err(Error::Segment {
                            base,
                            error: Box::new(Error::Checksum {
                                offset: at,
                                part: "header",
                            }),
                        });
                    }
                    self.open = None;
                    continue;
                }
                self.need = RECORD_HEADER_LEN;
                return Ok(Next::Read);
            }
            let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let total = RECORD_HEADER_LEN + len.min(MAX_PAYLOAD + 1) as usize;
            if rest.len() < total && !at_end {
                self.need = total;
                return Ok(Next::Read);
            }
            let decoded = read_record(&rest[..total.min(rest.len())], 0, self.expect);
            if let Some(base) = self.fallback.take()
                && !matches!(decoded, Ok(Step::Record(_)))
            {
                // A stale index: the segment is the truth, read from its start.
                self.expect = base;
                self.pos = HEADER_LEN as u64;
                self.buf.clear();
                self.taken = 0;
                self.need = RECORD_HEADER_LEN;
                return Ok(Next::Read);
            }
            let record = match decoded {
                Ok(Step::Record(record)) => record,
                // Below the noted end every record is whole: a short or zeroed one is damage.
                Ok(Step::End | Step::Torn { .. }) => {
                    return Err(Error::Segment {
                        base,
                        error: Box::new(Error::Checksum {
                            offset: at,
                            part: "payload",
                        }),
                    });
                }
                Err(e) => {
                    return Err(Error::Segment {
                        base,
                        error: Box::new(e.at(at)),
                    });
                }
            };
            self.taken += total;
            self.expect += 1;
            if record.seq >= self.from {
                self.from = record.seq + 1;
                return Ok(Next::Event(record.into()));
            }
        }
    }

    /// Reads the next chunk of history into memory, opening the next segment when the last
    /// one is done: blocking file I/O.
    pub fn read(&mut self) -> io::Result<Result<(), Error>> {
        if self.open.is_none() {
            return self.open_next();
        }
        let Some(open) = &self.open else {
            return Ok(Ok(()));
        };
        // Keep what is not decoded yet, then read at least a chunk after it.
        self.buf.drain(..self.taken);
        self.pos += self.taken as u64;
        self.taken = 0;
        let have = self.buf.len();
        let want = CHUNK.max(self.need);
        let from = self.pos + have as u64;
        let left = open.end.saturating_sub(from);
        // `left` is compared with a usize bound, so the cast cannot truncate.
        let len = (want.saturating_sub(have) as u64).min(left) as usize;
        self.buf.resize(have + len, 0);
        let mut got = 0;
        while got < len {
            match open
                .file
                .read_at(&mut self.buf[have + got..], from + got as u64)
            {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.buf.truncate(have + got);
        if got < len {
            // The file ends before the end noted for it.
            return Ok(Err(Error::Segment {
                base: open.base,
                error: Box::new(Error::Checksum {
                    offset: from + got as u64,
                    part: "header",
                }),
            }));
        }
        Ok(Ok(()))
    }

    /// Opens the next segment: checks its header, and finds where in it to start.
    fn open_next(&mut self) -> io::Result<Result<(), Error>> {
        let Some((base, end)) = self.segments.pop_front() else {
            return Ok(Ok(()));
        };
        let first = std::mem::replace(&mut self.first_segment, false);
        if !first && base != self.expect {
            return Ok(Err(Error::Gap {
                expected: self.expect,
                segment: base,
            }));
        }
        let file = match self.storage.open(&segment_path(&self.dir, base), false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Err(Error::Vanished { segment: base }));
            }
            Err(e) => return Err(e),
        };
        let head = read_exact_prefix(file.as_ref(), HEADER_LEN as u64)?;
        match Header::decode(&head) {
            Ok(header) if header.base_seq == base => {}
            Ok(header) => {
                return Ok(Err(Error::SegmentName {
                    name: base,
                    header: header.base_seq,
                }));
            }
            Err(e) => {
                return Ok(Err(Error::Segment {
                    base,
                    error: Box::new(e),
                }));
            }
        }
        let (expect, pos) = if !first {
            (base, HEADER_LEN as u64)
        } else if let Some(start) = self.start.take() {
            start
        } else {
            match load_index(self.storage.as_ref(), &self.dir, base)? {
                Ok(index) => index.lookup(self.from),
                Err(e) => {
                    return Ok(Err(Error::Segment {
                        base,
                        error: Box::new(e),
                    }));
                }
            }
        };
        let end = match end {
            Some(end) => end,
            None => file.size()?,
        };
        // An index entry other than the segment's start is checked by the first decode.
        self.fallback = (pos != HEADER_LEN as u64).then_some(base);
        self.expect = expect;
        self.pos = pos;
        self.buf.clear();
        self.taken = 0;
        self.open = Some(Open { base, file, end });
        Ok(Ok(()))
    }

    /// Gives the buffer's memory back once the history is over.
    fn release(&mut self) {
        self.open = None;
        self.buf = Vec::new();
        self.taken = 0;
    }
}

impl Iterator for History {
    type Item = Result<Event, Error>;

    /// The next event, reading as needed (blocking); `None` once the history is over. An I/O
    /// error becomes [`Error::Io`].
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_buffered() {
                Ok(Next::Event(event)) => return Some(Ok(event)),
                Ok(Next::Done) => return None,
                Ok(Next::Read) => match self.read() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Some(Err(e)),
                    Err(e) => return Some(Err(Error::Io(e.kind()))),
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
