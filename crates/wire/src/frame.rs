//! Length-prefixed frames with an enforced maximum length: the framing of the ticker pattern's
//! event stream, and of anything else that sends a sequence of byte messages.
//!
//! # Format
//!
//! Each frame is a 4-byte **big-endian `u32` length** followed by exactly that many payload
//! bytes. There is no other header, no checksum and no terminator; an empty payload is a valid
//! frame (the four bytes `00 00 00 00`). A stream is any number of frames back to back.
//!
//! A receiver sets a maximum payload length and refuses a frame whose header announces more,
//! as soon as the header has come and before it stores a single byte of the payload.

use crate::Error;

/// Bytes of the length prefix in front of every payload.
pub const HEADER_LEN: usize = 4;

/// The largest payload the format can carry: the largest `u32`.
pub const MAX_PAYLOAD: u32 = u32::MAX;

/// Writes one frame — its length prefix, then `payload` — to the end of `out`.
///
/// Fails with [`Error::FrameTooLarge`] (and writes nothing) if the payload is longer than the
/// format can announce.
///
/// ```
/// let mut out = Vec::new();
/// bothways_wire::frame::encode(b"hi", &mut out).unwrap();
/// assert_eq!(out, [0, 0, 0, 2, b'h', b'i']);
/// ```
pub fn encode(payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    out.reserve(HEADER_LEN + payload.len());
    out.extend_from_slice(&header(payload.len())?);
    out.extend_from_slice(payload);
    Ok(())
}

/// The length prefix for a payload of `len` bytes, for a writer that sends the payload from
/// where it already is instead of copying it behind the header.
///
/// ```
/// use bothways_wire::{Error, frame::header};
/// assert_eq!(header(258), Ok([0, 0, 1, 2]));
/// # #[cfg(target_pointer_width = "64")]
/// assert_eq!(header(1 << 32), Err(Error::FrameTooLarge { len: 1 << 32, max: u32::MAX }));
/// ```
pub fn header(len: usize) -> Result<[u8; HEADER_LEN], Error> {
    match u32::try_from(len) {
        Ok(len) => Ok(len.to_be_bytes()),
        Err(_) => Err(Error::FrameTooLarge {
            len: len as u64, // usize is at most 64 bits on every target Rust supports
            max: MAX_PAYLOAD,
        }),
    }
}

/// Splits a byte stream into frames, from bytes as they are read.
///
/// Feed it whatever a read returned — a frame may be split anywhere, and one read may hold many
/// frames — and call [`FrameDecoder::decode`] until it has no more complete frame; at end of
/// stream call [`FrameDecoder::eof`] to learn whether the stream stopped cleanly between frames.
///
/// A header announcing more than `max` bytes is refused with [`Error::FrameTooLarge`] before
/// any of its payload is stored, and the payload buffer grows with the bytes that really come,
/// never from the announced length alone. After an error the stream is out of step: stop.
///
/// ```
/// use bothways_wire::{Error, FrameDecoder, frame::encode};
/// let mut bytes = Vec::new();
/// encode(b"one", &mut bytes)?;
/// encode(b"two", &mut bytes)?;
///
/// let mut frames = FrameDecoder::new(16);
/// let mut input = &bytes[..5]; // the first frame cut after two payload bytes
/// assert_eq!(frames.decode(&mut input)?, None);
/// let mut input = &bytes[5..];
/// assert_eq!(frames.decode(&mut input)?, Some(b"one".to_vec()));
/// assert_eq!(frames.decode(&mut input)?, Some(b"two".to_vec()));
/// assert_eq!(frames.decode(&mut input)?, None);
/// assert_eq!(frames.eof(), Ok(()));
///
/// // A header announcing 4 GiB is refused as soon as it is read.
/// let mut huge = &[0xff, 0xff, 0xff, 0xff, 0][..];
/// assert_eq!(
///     FrameDecoder::new(16).decode(&mut huge),
///     Err(Error::FrameTooLarge { len: u64::from(u32::MAX), max: 16 }),
/// );
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max: u32,
    header: [u8; HEADER_LEN],
    /// Header bytes received so far for the frame in progress.
    header_len: usize,
    /// The payload of the frame in progress, once its header is complete.
    payload: Option<Payload>,
}

#[derive(Debug, Clone)]
struct Payload {
    len: usize,
    bytes: Vec<u8>,
}

impl FrameDecoder {
    /// A decoder refusing payloads longer than `max` bytes.
    pub fn new(max: u32) -> Self {
        FrameDecoder {
            max,
            header: [0; HEADER_LEN],
            header_len: 0,
            payload: None,
        }
    }

    /// The longest payload this decoder accepts.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Takes bytes from the front of `input` and returns the next complete frame's payload, or
    /// `None` once `input` is used up without completing one (the partial frame is kept for
    /// the next call). Call it again with the same `input` until it returns `None`.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Vec<u8>>, Error> {
        loop {
            if let Some(payload) = &mut self.payload {
                let take = (payload.len - payload.bytes.len()).min(input.len());
                let (now, rest) = input.split_at(take);
                payload.bytes.extend_from_slice(now);
                *input = rest;
                if payload.bytes.len() < payload.len {
                    return Ok(None);
                }
                self.header_len = 0;
                return Ok(self.payload.take().map(|p| p.bytes));
            }
            // A whole frame in the input, the common case: one copy, straight out of it.
            if self.header_len == 0 && input.len() >= HEADER_LEN {
                let len = self.check(read_header(input))?;
                if input.len() - HEADER_LEN >= len {
                    let frame = input[HEADER_LEN..HEADER_LEN + len].to_vec();
                    *input = &input[HEADER_LEN + len..];
                    return Ok(Some(frame));
                }
            }
            // Otherwise gather the header byte by byte across reads.
            let take = (HEADER_LEN - self.header_len).min(input.len());
            if take == 0 {
                return Ok(None);
            }
            self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
            self.header_len += take;
            *input = &input[take..];
            if self.header_len == HEADER_LEN {
                let len = self.check(u32::from_be_bytes(self.header))?;
                // Room for what this input still holds of the payload, at most: the rest is
                // reserved as it comes, so a peer that announces much and sends little costs
                // only what it sent.
                let bytes = Vec::with_capacity(len.min(input.len()));
                self.payload = Some(Payload { len, bytes });
            }
        }
    }

    /// The verdict at end of stream: `Ok` between frames, [`Error::Truncated`] inside one.
    pub fn eof(&self) -> Result<(), Error> {
        match (&self.payload, self.header_len) {
            (None, 0) => Ok(()),
            (None, got) => Err(Error::Truncated {
                expected: HEADER_LEN as u64,
                received: got as u64,
            }),
            (Some(p), _) => Err(Error::Truncated {
                expected: (HEADER_LEN + p.len) as u64,
                received: (HEADER_LEN + p.bytes.len()) as u64,
            }),
        }
    }

    /// Checks an announced length against the maximum, before anything is stored for it.
    fn check(&self, len: u32) -> Result<usize, Error> {
        if len > self.max {
            return Err(Error::FrameTooLarge {
                len: u64::from(len),
                max: self.max,
            });
        }
        // A u32 fits in usize on every target with a 32- or 64-bit address space.
        usize::try_from(len).map_err(|_| Error::FrameTooLarge {
            len: u64::from(len),
            max: self.max,
        })
    }
}

fn read_header(input: &[u8]) -> u32 {
    u32::from_be_bytes([input[0], input[1], input[2], input[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(frames: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for f in frames {
            encode(f, &mut out).unwrap();
        }
        out
    }

    fn decode_all(d: &mut FrameDecoder, mut input: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        while let Some(f) = d.decode(&mut input)? {
            out.push(f);
        }
        assert!(
            input.is_empty(),
            "decode stops only when the input is used up"
        );
        Ok(out)
    }

    #[test]
    fn a_stream_split_at_every_pair_of_points_decodes_the_same() {
        let frames: [&[u8]; 4] = [b"alpha", b"", b"b", b"a longer frame"];
        let bytes = stream(&frames);
        for a in 0..=bytes.len() {
            for b in a..=bytes.len() {
                let mut d = FrameDecoder::new(64);
                let mut got = decode_all(&mut d, &bytes[..a]).unwrap();
                got.extend(decode_all(&mut d, &bytes[a..b]).unwrap());
                got.extend(decode_all(&mut d, &bytes[b..]).unwrap());
                assert_eq!(got, frames, "cuts at {a} and {b}");
                assert_eq!(d.eof(), Ok(()));
            }
        }
    }

    #[test]
    fn pseudo_random_chunks_decode_to_the_frames_sent() {
        // A property test without a framework: many frame sizes, many chunkings, one seed.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for _ in 0..200 {
            let frames: Vec<Vec<u8>> = (0..next(50))
                .map(|i| vec![i as u8; next(300) as usize])
                .collect();
            let mut bytes = Vec::new();
            for f in &frames {
                encode(f, &mut bytes).unwrap();
            }
            let mut d = FrameDecoder::new(300);
            let mut got = Vec::new();
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = (next(600) as usize + 1).min(rest.len());
                got.extend(decode_all(&mut d, &rest[..n]).unwrap());
                rest = &rest[n..];
            }
            assert_eq!(got, frames);
            assert_eq!(d.eof(), Ok(()));
        }
    }

    #[test]
    fn exactly_max_is_accepted_and_one_more_is_refused_from_the_header_alone() {
        assert_eq!(
            decode_all(&mut FrameDecoder::new(3), &stream(&[b"abc"])),
            Ok(vec![b"abc".to_vec()])
        );
        // Only the header of the oversized frame is given: refused without its payload.
        let mut input = &[0, 0, 0, 4][..];
        assert_eq!(
            FrameDecoder::new(3).decode(&mut input),
            Err(Error::FrameTooLarge { len: 4, max: 3 })
        );
        // The same when the header itself comes split.
        let mut d = FrameDecoder::new(3);
        assert_eq!(d.decode(&mut &[0, 0][..]), Ok(None));
        assert_eq!(
            d.decode(&mut &[0, 4][..]),
            Err(Error::FrameTooLarge { len: 4, max: 3 })
        );
    }

    #[test]
    fn a_huge_announcement_stores_only_what_came() {
        let mut d = FrameDecoder::new(u32::MAX);
        let mut input = &[0xff, 0xff, 0xff, 0xff, 1, 2, 3][..];
        assert_eq!(d.decode(&mut input), Ok(None));
        let stored = d.payload.as_ref().map(|p| p.bytes.capacity());
        assert!(stored.is_some_and(|c| c < 1024), "capacity {stored:?}");
        assert_eq!(
            d.eof(),
            Err(Error::Truncated {
                expected: 4 + u64::from(u32::MAX),
                received: 7
            })
        );
    }

    #[test]
    fn eof_inside_a_header_or_a_payload_is_truncated() {
        let mut d = FrameDecoder::new(16);
        decode_all(&mut d, &[0, 0]).unwrap();
        assert_eq!(
            d.eof(),
            Err(Error::Truncated {
                expected: 4,
                received: 2
            })
        );
        let mut d = FrameDecoder::new(16);
        decode_all(&mut d, &[0, 0, 0, 10, 1, 2, 3]).unwrap();
        assert_eq!(
            d.eof(),
            Err(Error::Truncated {
                expected: 14,
                received: 7
            })
        );
    }
}
