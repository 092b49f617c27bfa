//! The journal checks on the file: torn tail, damage, headers, oversized events, sequence space,
//! migration.

use std::path::{Path, PathBuf};

use bothways_journal_format::{HEADER_LEN, Header, MAX_SEQ, RECORD_HEADER_LEN, Storage};

use crate::check::{CheckResult, Failure, ensure};
use crate::journal::fixtures::{
    Scratch, TCP_EVENT_LEN, append_big, big_payload, call, expect_range, open, open_sim_sized,
    payload, sim_disk,
};
use crate::journal::{
    ANSWER_WITHIN, Durability, Error, JournalSpec, QUIET, SEGMENT, SpecJournal, SpecSubscription,
};

/// Check 5: a file with half a record at its end opens; the half record is cut off; the next
/// append continues the sequence, and a replay gives every whole event.
pub fn reopen_cuts_torn_tail_and_continues<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let whole = written(imp, &dir, 10)?;
    // Half of the record that would have been event 11: its header and part of its bytes.
    let mut record = Vec::new();
    bothways_journal_format::encode_record(11, &payload(11), &mut record)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    let mut torn = whole;
    torn.extend_from_slice(&record[..RECORD_HEADER_LEN + 3]);
    continues_at_11(imp, &path, &torn, Durability::Flush)
}

/// Writes `bytes` (ten events, then whatever a crash left) to `path`, opens it, and checks the
/// next append is event 11 and a replay gives exactly events 1..=11.
fn continues_at_11<T: JournalSpec>(
    imp: &T,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> CheckResult {
    put_file(path, bytes)?;
    let journal = open(imp, path, durability, 1024)?;
    let next = call("append", journal.append(&payload(11)))?;
    ensure(next == 11, "the sequence to continue at 11", || {
        next.to_string()
    })?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 11, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

fn written<T: JournalSpec>(imp: &T, dir: &Scratch, n: u64) -> Result<Vec<u8>, Failure> {
    written_with(imp, dir, n, Durability::Flush)
}

/// Events 1..=`n` appended under `durability` to a fresh journal, closed: the file's bytes.
fn written_with<T: JournalSpec>(
    imp: &T,
    dir: &Scratch,
    n: u64,
    durability: Durability,
) -> Result<Vec<u8>, Failure> {
    let journal = open(imp, &dir.file(), durability, 1024)?;
    for seq in 1..=n {
        call("append", journal.append(&payload(seq)))?;
    }
    call("close", journal.close())?;
    drop(journal);
    let segments = segment_files(&dir.file())?;
    let [segment] = segments.as_slice() else {
        return Err(Failure::new(
            format!("{n} small events in one segment"),
            format!("{} segments", segments.len()),
        ));
    };
    let bytes = std::fs::read(segment).map_err(|e| Failure::new("the segment", e.to_string()))?;
    // The path is left free: checks write these bytes back as a single-file journal (the
    // older layout, which opening moves into a directory) after changing them.
    std::fs::remove_dir_all(dir.file())
        .map_err(|e| Failure::new("the journal's directory removed", e.to_string()))?;
    Ok(bytes)
}

/// The segment files of the journal directory at `path`, in order.
fn segment_files(path: &Path) -> Result<Vec<PathBuf>, Failure> {
    let mut segments: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Failure::new("the journal's directory", e.to_string()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    segments.sort();
    Ok(segments)
}

/// Writes `bytes` at `path` as a file, whatever was there (a journal directory included).
fn put_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.is_dir() {
        std::fs::remove_dir_all(path)
            .map_err(|e| Failure::new("the old journal removed", e.to_string()))?;
    }
    std::fs::write(path, bytes).map_err(|e| Failure::new("the file", e.to_string()))
}

fn open_fails_at<T: JournalSpec>(
    imp: &T,
    dir: &Scratch,
    bytes: &[u8],
    offset: u64,
    what: &str,
) -> CheckResult {
    put_file(&dir.file(), bytes)?;
    match imp.open(&dir.file(), Durability::Flush, 1024) {
        Err(Error::Format { offset: at, .. }) if at == offset => Ok(Vec::new()),
        Err(e) => Err(Failure::new(
            format!("{what}: a format error at offset {offset}"),
            format!("{e:?}"),
        )),
        Ok(journal) => {
            let _ = journal.close();
            Err(Failure::new(
                format!("{what}: a format error at offset {offset}"),
                "the file opened",
            ))
        }
    }
}

/// Check 7: a flipped bit in the payload of event 5 of 20 makes opening fail with a typed error
/// naming that record's offset — not a panic, not a silent skip.
pub fn flipped_bit_is_typed_error_at_offset<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 20)?;
    let record = (RECORD_HEADER_LEN + payload(1).len()) as u64; // events 1..=9 share a length
    let offset = HEADER_LEN as u64 + 4 * record;
    let bit = offset as usize + RECORD_HEADER_LEN + 2;
    bytes[bit] ^= 0x04;
    open_fails_at(imp, &dir, &bytes, offset, "a flipped bit in event 5")
}

/// Check 8: a file cut inside its header is a typed error at offset 0.
pub fn truncated_header_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let bytes = written(imp, &dir, 3)?;
    open_fails_at(imp, &dir, &bytes[..HEADER_LEN / 2], 0, "a truncated header")
}

/// Check 9: a file with the wrong magic bytes is a typed error at offset 0.
pub fn wrong_magic_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 3)?;
    bytes[0] ^= 0xFF;
    open_fails_at(imp, &dir, &bytes, 0, "wrong magic bytes")
}

/// Check 10: a file of a newer major format version is a typed error at the version's offset.
pub fn newer_version_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let mut bytes = written(imp, &dir, 3)?;
    bytes[8..10].copy_from_slice(&(bothways_journal_format::VERSION_MAJOR + 1).to_be_bytes());
    open_fails_at(imp, &dir, &bytes, 8, "a newer major version")
}

/// Check 16: an event larger than the format's maximum is refused with a typed error (no
/// panic, nothing written) and takes no sequence number: the next event gets 1, and a replay
/// gives exactly it.
pub fn oversized_event_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::Flush, 1024)?;
    let huge = vec![0u8; bothways_journal_format::MAX_PAYLOAD as usize + 1];
    let refused = journal.append(&huge);
    ensure(
        matches!(refused, Err(Error::Format { .. })),
        "an event past the maximum refused with a typed format error",
        || format!("{refused:?}"),
    )?;
    let seq = call("append", journal.append(&payload(1)))?;
    ensure(
        seq == 1,
        "the refused event to take no sequence number",
        || format!("the next event got {seq}"),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 1, |s| Some(payload(s)))?;
    let extra = call("recv", sub.recv_within(QUIET))?;
    ensure(extra.is_none(), "nothing after event 1", || {
        format!("{extra:?}")
    })?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Check 21: a closed journal's file ends at its last record, whatever the writer preallocated
/// while it was open; and a file whose records are followed by zeros and then stray bytes —
/// a power cut during an in-place write into preallocated space, which lost the page where the
/// write began and kept a later one — opens, is cut at the zeros, and continues from there.
pub fn zero_tail_is_cut_and_close_trims<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let closed = written_with(imp, &dir, 10, Durability::Append)?;
    let found = bothways_journal_format::scan(&closed)
        .map_err(|e| Failure::new("the closed file to read", e.to_string()))?;
    ensure(
        found.next_seq == 11 && found.good_len == closed.len() as u64,
        "the closed file to end at its 10th and last record",
        || {
            format!(
                "{} records, then {} bytes",
                found.next_seq - 1,
                closed.len() as u64 - found.good_len
            )
        },
    )?;
    let mut cut = closed;
    cut.extend_from_slice(&[0; 4096]);
    bothways_journal_format::encode_record(13, &payload(13), &mut cut)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    cut.extend_from_slice(&[0; 100]);
    continues_at_11(imp, &path, &cut, Durability::Append)
}

/// Check 23: a header field no writer writes is a typed format error naming its offset, not a
/// journal that opens: major version 0 (offset 8), first sequence number 0 (offset 12, as
/// event 0 could never be asked for); and a record numbered past [`MAX_SEQ`], whose successor
/// would not fit in 64 bits, is one naming the record's offset.
pub fn impossible_header_is_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let good = written(imp, &dir, 3)?;
    let mut major_zero = good.clone();
    major_zero[8..10].copy_from_slice(&0u16.to_be_bytes());
    open_fails_at(imp, &dir, &major_zero, 8, "major version 0")?;
    let mut base_zero = good;
    base_zero[12..20].copy_from_slice(&0u64.to_be_bytes());
    open_fails_at(imp, &dir, &base_zero, 12, "first sequence number 0")?;
    let mut past_max = Header::new(u64::MAX).encode().to_vec();
    bothways_journal_format::encode_record(u64::MAX, b"one too many", &mut past_max)
        .map_err(|e| Failure::new("a record to encode", e.to_string()))?;
    open_fails_at(
        imp,
        &dir,
        &past_max,
        HEADER_LEN as u64,
        "a record numbered 2^64 - 1",
    )
}

/// Check 24: a journal whose sequence numbers run out says so with a typed error and keeps
/// what it has. A file whose header starts at [`MAX_SEQ`] takes one event under that number;
/// the next `append` is refused with `SequenceExhausted` (no panic, no wrap to 0), the event is
/// replayed, and after a reopen the journal still refuses the next one. A file whose header
/// starts past `MAX_SEQ` opens and refuses its first append the same way.
pub fn sequence_space_ends_with_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    put_file(&path, &Header::new(MAX_SEQ).encode())?;
    for round in ["", " after reopening"] {
        let journal = open(imp, &path, Durability::Flush, 1024)?;
        if round.is_empty() {
            let last = call("append", journal.append(b"the last one"))?;
            ensure(last == MAX_SEQ, "the last event numbered 2^64 - 2", || {
                last.to_string()
            })?;
        }
        let refused = journal.append(b"one too many");
        ensure(
            matches!(refused, Err(Error::SequenceExhausted)),
            &format!("SequenceExhausted for the append after 2^64 - 2{round}"),
            || format!("{refused:?}"),
        )?;
        let mut sub = call("subscribe", journal.subscribe(MAX_SEQ))?;
        expect_range(&mut sub, MAX_SEQ, MAX_SEQ, |_| {
            Some(b"the last one".to_vec())
        })?;
        call("close", journal.close())?;
    }
    put_file(&path, &Header::new(MAX_SEQ + 1).encode())?;
    let journal = open(imp, &path, Durability::Flush, 1024)?;
    let refused = journal.append(b"no room");
    ensure(
        matches!(refused, Err(Error::SequenceExhausted)),
        "SequenceExhausted for the first append to a file that starts past 2^64 - 2",
        || format!("{refused:?}"),
    )?;
    call("close", journal.close())?;
    Ok(Vec::new())
}

/// Check 35: a journal in one file (the older layout, format version 1 or a lone segment)
/// opens as a directory holding it: its events replay and it continues; a move into the
/// directory that a crash interrupted (the file set aside as `<path>.migrating`) is finished
/// by the next open; and a file that is not a journal is refused with a typed error and left
/// as it was.
pub fn single_file_journal_is_migrated<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let path = dir.file();
    let bytes = written(imp, &dir, 10)?;
    let mut old = bytes.clone();
    // The older layout: a file of version 1.
    old[8..10].copy_from_slice(&1u16.to_be_bytes());
    continues_at_11(imp, &path, &old, Durability::Flush)?;
    ensure(path.is_dir(), "the journal's path now a directory", || {
        "not a directory".to_owned()
    })?;
    // A move cut short: the file set aside, the directory not made yet.
    std::fs::remove_dir_all(&path).map_err(|e| Failure::new("a clean path", e.to_string()))?;
    let mut aside = path.as_os_str().to_owned();
    aside.push(".migrating");
    std::fs::write(PathBuf::from(&aside), &bytes)
        .map_err(|e| Failure::new("the file set aside", e.to_string()))?;
    let journal = open(imp, &path, Durability::Flush, 1024)?;
    let next = call("append", journal.append(&payload(11)))?;
    ensure(
        next == 11,
        "an interrupted move finished: the journal going on at 11",
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 11, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    drop(journal);
    // Not a journal: refused, untouched.
    let other = dir.0.join("notes");
    let text = b"not a journal, just some notes".to_vec();
    std::fs::write(&other, &text).map_err(|e| Failure::new("a file", e.to_string()))?;
    let refused = imp.open(&other, Durability::Flush, 1024).map(|_| ());
    ensure(
        matches!(refused, Err(Error::Format { offset: 0, .. })),
        "a file that is not a journal refused with a format error at offset 0",
        || format!("{refused:?}"),
    )?;
    let after = std::fs::read(&other).map_err(|e| Failure::new("the file", e.to_string()))?;
    ensure(after == text, "a refused file left as it was", || {
        "it changed".to_owned()
    })?;
    Ok(Vec::new())
}

/// Check 36: damage in a sealed segment — synced when it was sealed, so never torn by a crash —
/// is a typed error naming its offset when a subscriber reaches it, not a skip and not a cut:
/// 300 events of 1 KiB in segments of 64 KiB, one bit flipped in event 2's bytes in the first
/// segment; the journal opens (it reads only its active segment), a subscriber from 1 gets
/// event 1 and then a format error, and one from the second segment on gets its events.
pub fn damage_in_a_sealed_segment_is_a_typed_error<T: JournalSpec>(imp: &T) -> CheckResult {
    let (disk, path) = sim_disk()?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    append_big(&journal, 300)?;
    call("close", journal.close())?;
    drop(journal);
    let first = path.join(format!("{:020}.seg", 1));
    let file = disk
        .open(&first, false)
        .map_err(|e| Failure::new("the first segment", e.to_string()))?;
    let record = (RECORD_HEADER_LEN + TCP_EVENT_LEN) as u64;
    let at = HEADER_LEN as u64 + record + RECORD_HEADER_LEN as u64 + 100;
    let mut byte = [0u8; 1];
    file.read_at(&mut byte, at)
        .and_then(|_| file.write_all_at(&[byte[0] ^ 0x10], at))
        .and_then(|()| file.sync_data())
        .map_err(|e| Failure::new("a bit flipped", e.to_string()))?;
    let journal = open_sim_sized(imp, &disk, &path, Durability::Flush, SEGMENT)?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 1, |s| Some(big_payload(s)))?;
    let damaged = sub.recv_within(ANSWER_WITHIN);
    let offset = HEADER_LEN as u64 + record;
    ensure(
        matches!(damaged, Err(Error::Format { offset: at, .. }) if at == offset),
        &format!("a format error at offset {offset} of the first segment, where event 2 is"),
        || format!("{:?}", damaged.map(|e| e.map(|(s, _)| s))),
    )?;
    let per_segment = SEGMENT / record;
    let later = per_segment + 10;
    let mut sub = call("subscribe", journal.subscribe(later))?;
    expect_range(&mut sub, later, 300, |s| Some(big_payload(s)))?;
    call("close", journal.close())?;
    Ok(Vec::new())
}
