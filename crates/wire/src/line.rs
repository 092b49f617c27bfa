//! Newline-terminated messages with an enforced maximum length: the framing of the timeout
//! pattern's "fetch one message" operation.

use crate::Error;

/// Gathers one newline-terminated message from bytes as they are read.
///
/// It never holds more than `max` bytes: [`LineDecoder::room`] tells the reader how much to ask
/// for next, and a line that runs past `max` is refused before it is stored. Bytes after the
/// newline are ignored — one message per connection.
///
/// ```
/// use bothways_wire::{Error, LineDecoder};
/// let mut line = LineDecoder::new(4);
/// assert_eq!(line.room(), 5); // four bytes and the newline
/// assert_eq!(line.push(b"abcde"), Err(Error::LineTooLong { max: 4 }));
///
/// let mut line = LineDecoder::new(4);
/// line.push(b"ab").unwrap();
/// assert_eq!(line.eof(), Error::Closed { received: 2 });
/// ```
#[derive(Debug, Clone)]
pub struct LineDecoder {
    line: Vec<u8>,
    max: usize,
}

impl LineDecoder {
    /// A decoder for one line of at most `max` bytes, newline excluded.
    pub fn new(max: usize) -> Self {
        LineDecoder {
            line: Vec::new(),
            max,
        }
    }

    /// How many bytes the next read may ask for without taking the line past its maximum and
    /// newline. Always at least 1, so a read of `room()` bytes that returns 0 really is EOF.
    pub fn room(&self) -> usize {
        // `push` refuses any line longer than `max`, so `line.len() <= max` and the result is
        // at least 1 (or `usize::MAX - len` when `max` is `usize::MAX`, still at least 1).
        self.max.saturating_add(1) - self.line.len()
    }

    /// Takes bytes just read. Returns the message, newline removed, once the newline has come.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let (body, complete) = match bytes.iter().position(|&b| b == b'\n') {
            Some(newline) => (&bytes[..newline], true),
            None => (bytes, false),
        };
        if self.line.len().saturating_add(body.len()) > self.max {
            return Err(Error::LineTooLong { max: self.max });
        }
        self.line.extend_from_slice(body);
        Ok(complete.then(|| std::mem::take(&mut self.line)))
    }

    /// The error for a peer that closed before the newline.
    pub fn eof(&self) -> Error {
        Error::Closed {
            received: self.line.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_split_anywhere_decodes_the_same() {
        let message = b"split me anywhere\n";
        for cut in 0..=message.len() {
            let mut line = LineDecoder::new(64);
            let first = line.push(&message[..cut]);
            let got = match first {
                Ok(Some(done)) => done,
                Ok(None) => line.push(&message[cut..]).unwrap().unwrap(),
                Err(e) => panic!("cut at {cut}: {e}"),
            };
            assert_eq!(got, b"split me anywhere", "cut at {cut}");
        }
    }

    #[test]
    fn exactly_max_bytes_is_accepted_and_one_more_is_not() {
        assert_eq!(
            LineDecoder::new(3).push(b"abc\n"),
            Ok(Some(b"abc".to_vec()))
        );
        assert_eq!(
            LineDecoder::new(3).push(b"abcd\n"),
            Err(Error::LineTooLong { max: 3 })
        );
        let mut line = LineDecoder::new(3);
        line.push(b"ab").unwrap();
        assert_eq!(line.push(b"cd"), Err(Error::LineTooLong { max: 3 }));
        assert_eq!(line.room(), 2, "a refused push stores nothing");
    }

    #[test]
    fn room_never_reaches_zero() {
        let mut line = LineDecoder::new(2);
        for _ in 0..2 {
            assert!(line.room() >= 1);
            line.push(b"x").unwrap();
        }
        assert_eq!(line.room(), 1, "only the newline fits");
        assert_eq!(LineDecoder::new(usize::MAX).room(), usize::MAX);
    }

    #[test]
    fn an_empty_line_is_a_message() {
        assert_eq!(LineDecoder::new(0).push(b"\n"), Ok(Some(Vec::new())));
    }
}
