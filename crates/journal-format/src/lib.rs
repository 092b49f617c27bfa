//! The one on-disk format of the bothways journal, written and read by both styles, and the
//! blocking file layer both styles' writers share.
//!
//! A journal is a directory ([`Directory`]): segment files, each a [`Header`] — magic bytes, a
//! format version, the sequence number of its first record — followed by records back to
//! back; a sparse index per sealed segment ([`SparseIndex`]); and, after a prune, a low-water
//! mark. Each record is framed so that a reader can tell a torn tail (a write cut short by a
//! crash) from corruption before the tail:
//!
//! ```text
//! header  | magic "BWJOURNL" (8) | major u16 | minor u16 | base_seq u64 |        20 bytes
//! record  | len u32 | seq u64 | header crc u32 | payload crc u32 | payload (len) |
//! ```
//!
//! Integers are big-endian. The header CRC covers `len` and `seq`, the payload CRC the payload,
//! both CRC-32C. `major` is 2 (1, a journal in one file, is still read; 0 is refused, a newer
//! one too); `base_seq` is at least 1; the records' `seq` run `base_seq, base_seq + 1, …` and
//! never past [`MAX_SEQ`] (2^64 − 2), so the number after the last one always fits; the next
//! segment starts at the number after its predecessor's last. A record header of 20 zero
//! bytes ends the records, and so does a record that fails its checksum while a [`PAGE`] it
//! lies in is zeros from the record's start to the page's end: both are what a power cut
//! leaves of a write that was never synced (see [`read_record`]). Only the last segment can
//! be torn: the others were synced before the next one was made. HyperQueue's journal has
//! neither a length prefix nor a checksum; these two are what let [`Reader`] say *where* a
//! file went wrong.
//!
//! ```
//! use bothways_journal_format::{Header, Reader, encode_record};
//!
//! let mut file = Header::new(1).encode().to_vec();
//! encode_record(1, b"hello", &mut file)?;
//! encode_record(2, b"world", &mut file)?;
//! file.extend_from_slice(&[0, 0, 0]); // a crash in the middle of a third record
//!
//! let mut reader = Reader::new(&file)?;
//! let payloads: Vec<_> = reader.by_ref().map(|r| r.map(|r| r.payload)).collect::<Result<_, _>>()?;
//! assert_eq!(payloads, [b"hello", b"world"]);
//! assert_eq!(reader.torn().map(|t| t.len), Some(3));
//! assert_eq!(reader.good_len() as usize, file.len() - 3);
//! # Ok::<(), bothways_journal_format::Error>(())
//! ```
#![warn(missing_docs)]

mod crc;
mod error;
mod file;
mod header;
mod history;
mod index;
mod options;
mod reader;
mod record;
mod segment;
#[cfg(feature = "sim")]
pub mod sim;
mod storage;
pub mod wire;

pub use crc::crc32c;
pub use error::Error;
pub use file::{PREALLOCATE, Preallocated, sync_dir};
pub use header::{HEADER_LEN, Header, MAGIC, MAX_SEQ, VERSION_MAJOR, VERSION_MINOR};
pub use history::{CHUNK, History, Next, ReplayPlan};
pub use index::{INDEX_EVERY, INDEX_MAGIC, SparseIndex};
pub use options::{Durability, MIN_SEGMENT, Options};
pub use reader::{Reader, Scan, Torn, scan};
pub use record::{
    Event, MAX_PAYLOAD, PAGE, RECORD_HEADER_LEN, Record, Step, encode_record, read_record,
};
pub use segment::{
    Directory, LOW_WATER, Opened, SEGMENT_SIZE, index_path, read_plan, segment_path,
};
pub use storage::{Entry, Fs, Storage, StorageFile, read_exact_prefix};
