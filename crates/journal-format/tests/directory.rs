//! The journal directory on a simulated disk: segments roll over at their size and at a
//! record's end, a reader crosses them and seeks through their indexes, a stale or missing
//! index is the segment's truth read again, a prune deletes whole segments and its mark
//! survives a reopen, and a single-file journal is moved into a directory even when the move
//! is cut short.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bothways_journal_format::sim::SimDisk;
use bothways_journal_format::{
    Directory, Error, HEADER_LEN, Header, History, Storage, encode_record, index_path, read_plan,
    segment_path,
};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn disk() -> Result<(SimDisk, PathBuf)> {
    let disk = SimDisk::new();
    disk.create_dir_all(Path::new("/j"))?;
    Ok((disk, PathBuf::from("/j/events")))
}

fn records(from: u64, to: u64, len: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for seq in from..=to {
        encode_record(seq, &vec![(seq % 251) as u8; len], &mut out)?;
    }
    Ok(out)
}

fn open(disk: &SimDisk, path: &Path, segment_size: u64) -> Result<Directory> {
    Ok(Directory::open(Arc::new(disk.clone()), path, segment_size, 0)??.directory)
}

fn seqs(history: History) -> Result<Vec<u64>> {
    Ok(history
        .map(|e| e.map(|e| e.seq))
        .collect::<std::result::Result<_, _>>()?)
}

#[test]
fn segments_roll_over_at_their_size_on_record_boundaries() -> Result<()> {
    let (disk, path) = disk()?;
    let mut journal = open(&disk, &path, 10_000)?;
    // 100 records of 1,020 bytes, in one write: ten to a segment, sealed as the tenth ends
    // it, and an empty active segment after the last.
    journal.write(&records(1, 100, 1_000)?)?;
    let segments = journal.segments();
    assert_eq!(segments.len(), 11, "{segments:?}");
    for (i, base) in segments.iter().enumerate() {
        assert_eq!(*base, 1 + 10 * i as u64);
        let file = disk
            .contents(&segment_path(&path, *base))
            .unwrap_or_default();
        assert_eq!(Header::decode(&file)?.base_seq, *base);
        if i + 1 < segments.len() {
            // Sealed: trimmed to its last record, and indexed.
            assert_eq!(file.len(), HEADER_LEN + 10 * 1_020);
            assert!(disk.contents(&index_path(&path, *base)).is_some());
        } else {
            assert_eq!(
                file.len(),
                HEADER_LEN,
                "the active segment holds no record yet"
            );
        }
    }
    assert_eq!(journal.next_seq(), 101);
    Ok(())
}

#[test]
fn a_reader_crosses_segments_from_anywhere() -> Result<()> {
    let (disk, path) = disk()?;
    let mut journal = open(&disk, &path, 64 << 10)?;
    journal.write(&records(1, 2_000, 300)?)?;
    for from in [1, 2, 217, 218, 219, 1_000, 1_999, 2_000, 2_001] {
        let got = seqs(History::new(journal.plan(from)))?;
        let want: Vec<u64> = (from..=2_000).collect();
        assert_eq!(got, want, "from {from}");
    }
    // The same without a writer, and after a reopen.
    drop(journal);
    assert_eq!(
        seqs(History::new(read_plan(
            Arc::new(disk.clone()),
            &path,
            700
        )??))?,
        (700..=2_000).collect::<Vec<u64>>()
    );
    let journal = open(&disk, &path, 64 << 10)?;
    assert_eq!(journal.next_seq(), 2_001);
    Ok(())
}

#[test]
fn a_stale_or_missing_index_is_read_from_its_segment() -> Result<()> {
    let (disk, path) = disk()?;
    let mut journal = open(&disk, &path, 64 << 10)?;
    journal.write(&records(1, 1_000, 300)?)?;
    let second = journal.segments()[1];
    // Stale: an index of some other segment under this one's name.
    let first_index = disk.contents(&index_path(&path, 1)).unwrap_or_default();
    let stale = disk.open(&index_path(&path, second), false)?;
    stale.set_len(0)?;
    stale.write_all_at(&first_index, 0)?;
    let from = second + 150;
    assert_eq!(
        seqs(History::new(journal.plan(from)))?,
        (from..=1_000).collect::<Vec<u64>>()
    );
    // Missing: rebuilt when the journal opens.
    disk.remove(&index_path(&path, second))?;
    drop(journal);
    let journal = open(&disk, &path, 64 << 10)?;
    assert!(disk.contents(&index_path(&path, second)).is_some());
    assert_eq!(
        seqs(History::new(journal.plan(from)))?,
        (from..=1_000).collect::<Vec<u64>>()
    );
    Ok(())
}

#[test]
fn prune_deletes_whole_segments_and_its_mark_survives() -> Result<()> {
    let (disk, path) = disk()?;
    let mut journal = open(&disk, &path, 64 << 10)?;
    journal.write(&records(1, 1_000, 300)?)?;
    let before = journal.segments();
    journal.prune(500)?;
    let after = journal.segments();
    assert!(after.len() < before.len());
    assert!(after[0] <= 501 && after.get(1).is_none_or(|b| *b > 501));
    assert_eq!(journal.first(), 501);
    assert_eq!(
        seqs(History::new(journal.plan(1)))?,
        (501..=1_000).collect::<Vec<u64>>()
    );
    // Everything: the active segment stays, and numbers go on.
    journal.prune(5_000)?;
    assert_eq!(journal.first(), 1_001);
    assert_eq!(journal.segments().len(), 1);
    journal.write(&records(1_001, 1_001, 10)?)?;
    drop(journal);
    let journal = open(&disk, &path, 64 << 10)?;
    assert_eq!(journal.first(), 1_001);
    assert_eq!(seqs(History::new(journal.plan(1)))?, vec![1_001]);
    Ok(())
}

#[test]
fn a_single_file_journal_is_moved_into_a_directory_even_if_the_move_is_cut() -> Result<()> {
    let mut file = Header::new(1).encode().to_vec();
    file.extend_from_slice(&records(1, 10, 50)?);
    let cut_at = {
        // How many calls a whole move makes.
        let (disk, path) = disk()?;
        disk.open(&path, true)?.write_all_at(&file, 0)?;
        let before = disk.calls();
        open(&disk, &path, 64 << 10)?;
        disk.calls() - before
    };
    for cut in 0..cut_at {
        for seed in 0..4 {
            let (disk, path) = disk()?;
            let written = disk.open(&path, true)?;
            written.write_all_at(&file, 0)?;
            written.sync_all()?;
            disk.sync_dir(Path::new("/j"))?;
            disk.cut_after(cut);
            let _ = Directory::open(Arc::new(disk.clone()), &path, 64 << 10, 0);
            let after = disk.restart(seed);
            let journal = open(&after, &path, 64 << 10)?;
            assert_eq!(journal.next_seq(), 11, "cut after {cut} calls, seed {seed}");
            assert_eq!(
                seqs(History::new(journal.plan(1)))?,
                (1..=10).collect::<Vec<u64>>(),
                "cut after {cut} calls, seed {seed}"
            );
        }
    }
    // A file that is not a journal is refused and left alone.
    let (disk, path) = disk()?;
    disk.open(&path, true)?
        .write_all_at(b"some notes, not a journal", 0)?;
    let refused = Directory::open(Arc::new(disk.clone()), &path, 64 << 10, 0)?;
    assert!(matches!(refused, Err(Error::BadMagic)));
    assert_eq!(
        disk.contents(&path),
        Some(b"some notes, not a journal".to_vec())
    );
    Ok(())
}

#[test]
fn recovery_reads_in_chunks_and_still_tells_a_lost_page_from_damage() -> Result<()> {
    // 3,000 records of 1,020 bytes: about 3 MiB, three of recovery's chunks.
    let mut segment = Header::new(1).encode().to_vec();
    segment.extend_from_slice(&records(1, 3_000, 1_000)?);
    let record = 1_020;
    let page = bothways_journal_format::PAGE;
    // Find a record past 2.5 MiB that straddles a page boundary.
    let (seq, at) = (2_600..3_000)
        .map(|seq| (seq, HEADER_LEN + (seq as usize - 1) * record))
        .find(|(_, at)| at / page != (at + record - 1) / page)
        .ok_or("no straddling record")?;
    let second_page = (at / page + 1) * page;
    let open_bytes = |bytes: &[u8]| -> Result<std::result::Result<Directory, Error>> {
        let (disk, path) = disk()?;
        disk.create_dir_all(&path)?;
        disk.open(&segment_path(&path, 1), true)?
            .write_all_at(bytes, 0)?;
        Ok(Directory::open(Arc::new(disk.clone()), &path, 8 << 20, 0)?.map(|o| o.directory))
    };
    // A lost page: the record's second page (and everything after) back to zeros.
    let mut lost = segment.clone();
    lost.truncate(second_page + page);
    lost[second_page..].fill(0);
    lost.extend_from_slice(&records(seq + 5, seq + 6, 1_000)?); // stray pages kept after it
    let journal = open_bytes(&lost)??;
    assert_eq!(journal.next_seq(), seq, "cut at the torn record");
    // A flipped bit in the same record: damage, named at its offset.
    let mut flipped = segment;
    flipped[second_page + 10] ^= 0x08;
    match open_bytes(&flipped)? {
        Err(e) => assert_eq!(e.offset(), at as u64, "{e}"),
        Ok(_) => return Err("a flipped bit opened".into()),
    }
    Ok(())
}
