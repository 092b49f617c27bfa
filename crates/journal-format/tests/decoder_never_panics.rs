//! The record and header decoders on arbitrary bytes: never a panic, never a read past the
//! input, and every record or header they accept is one the encoder could have written.

use bothways_journal_format::{
    HEADER_LEN, Header, MAX_SEQ, Reader, VERSION_MAJOR, encode_record, read_record,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), seq in any::<u64>()) {
        let _ = read_record(&bytes, 0, seq);
        let mut file = Header::new(1).encode().to_vec();
        file.extend_from_slice(&bytes);
        for r in Reader::new(&file).unwrap() {
            if r.is_err() { break; }
        }
    }

    #[test]
    fn huge_announced_length_is_refused_without_allocating(len in (bothways_journal_format::MAX_PAYLOAD + 1)..=u32::MAX, seq in any::<u64>()) {
        let mut head = [0u8; 20];
        head[..4].copy_from_slice(&len.to_be_bytes());
        head[4..12].copy_from_slice(&seq.to_be_bytes());
        let crc = bothways_journal_format::crc32c(&head[..12]);
        head[12..16].copy_from_slice(&crc.to_be_bytes());
        let err = read_record(&head, 0, seq).unwrap_err();
        prop_assert_eq!(err.offset(), 0);
    }

    #[test]
    fn every_flipped_bit_is_caught(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 2..6), bit in any::<prop::sample::Index>()) {
        let mut file = Header::new(1).encode().to_vec();
        for (i, p) in payloads.iter().enumerate() {
            encode_record(i as u64 + 1, p, &mut file).unwrap();
        }
        // Flip one bit anywhere in the records: reading must end in an error, never yield a
        // changed record and never call it a clean end.
        let records_start = bothways_journal_format::HEADER_LEN * 8;
        let b = records_start + bit.index(file.len() * 8 - records_start);
        file[b / 8] ^= 1 << (b % 8);
        let mut reader = Reader::new(&file).unwrap();
        let mut ok = 0;
        let mut failed = false;
        for r in reader.by_ref() {
            match r {
                Ok(r) => { prop_assert_eq!(r.payload, &payloads[ok][..]); ok += 1; }
                Err(_) => { failed = true; }
            }
        }
        // Both CRCs and the length sit under a checksum, so every flip is an error.
        prop_assert!(failed, "a flipped bit went unnoticed");
        prop_assert!(reader.torn().is_none());
    }

    #[test]
    fn arbitrary_headers_never_panic_and_round_trip(
        magic in any::<bool>(),
        major in prop_oneof![Just(0u16), Just(1), Just(2), any::<u16>()],
        minor in any::<u16>(),
        base in prop_oneof![Just(0u64), Just(1), Just(MAX_SEQ), Just(u64::MAX), any::<u64>()],
        cut in 0usize..=HEADER_LEN + 4,
    ) {
        // The fields are drawn near the edges a writer could get wrong, and the bytes are cut
        // anywhere, so every refusal and every acceptance is reached.
        let mut bytes = if magic { bothways_journal_format::MAGIC.to_vec() } else { vec![0; 8] };
        bytes.extend_from_slice(&major.to_be_bytes());
        bytes.extend_from_slice(&minor.to_be_bytes());
        bytes.extend_from_slice(&base.to_be_bytes());
        bytes.extend_from_slice(&[7; 4]);
        bytes.truncate(cut);
        match Header::decode(&bytes) {
            Ok(header) => {
                // Whatever is accepted is a header a writer could have written, byte for byte.
                prop_assert!(magic && (1..=VERSION_MAJOR).contains(&header.major));
                prop_assert!(header.base_seq >= 1);
                prop_assert_eq!(&header.encode()[..], &bytes[..HEADER_LEN]);
            }
            // Every refusal names an offset inside the header.
            Err(e) => prop_assert!(e.offset() < HEADER_LEN as u64),
        }
    }

    #[test]
    fn a_record_past_the_last_sequence_number_is_an_error(base in (MAX_SEQ - 3)..=u64::MAX, n in 0u64..6) {
        // Files near the end of the sequence space: the reader yields records up to MAX_SEQ and
        // refuses the one after with a typed error; it never panics or wraps.
        let mut file = Header::new(base).encode().to_vec();
        for i in 0..n {
            encode_record(base.wrapping_add(i), b"e", &mut file).unwrap();
        }
        let mut reader = Reader::new(&file).unwrap();
        let mut last = None;
        for r in reader.by_ref() {
            match r {
                Ok(r) => { prop_assert!(r.seq <= MAX_SEQ); last = Some(r.seq); }
                Err(e) => { prop_assert!(e.offset() >= HEADER_LEN as u64); break; }
            }
        }
        prop_assert!(last.is_none_or(|l| l <= MAX_SEQ));
        prop_assert!(reader.next_seq() >= base);
    }
}
