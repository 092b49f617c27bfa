//! The bytes both styles put on the wire, framed the same way by both. The codecs here are
//! sans-I/O: they take bytes a caller has read, so an async reader and a blocking reader share
//! every framing rule and every limit.
//!
//! ```
//! use bothways_wire::LineDecoder;
//! let mut line = LineDecoder::new(16);
//! assert_eq!(line.push(b"hel").unwrap(), None);
//! assert_eq!(line.push(b"lo\nrest").unwrap(), Some(b"hello".to_vec()));
//! ```
#![warn(missing_docs)]

pub mod line;

pub use line::LineDecoder;

/// What can be wrong with bytes from a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The peer sent more than `max` bytes without a newline.
    #[error("the line is longer than {max} bytes")]
    LineTooLong {
        /// The longest line accepted, newline excluded.
        max: usize,
    },
    /// The peer closed the connection before the newline.
    #[error("the peer closed after {received} bytes, before a newline")]
    Closed {
        /// Bytes received before the close.
        received: usize,
    },
}
