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

pub mod accept;
pub mod frame;
pub mod line;
pub mod ticker;

pub use frame::FrameDecoder;
pub use line::LineDecoder;

/// What can be wrong with bytes from a peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// A frame's header announced a payload longer than the receiver accepts (or, when
    /// encoding, than the format can announce).
    #[error("a frame of {len} bytes is longer than the maximum of {max}")]
    FrameTooLarge {
        /// The announced (or offered) payload length.
        len: u64,
        /// The longest payload accepted.
        max: u32,
    },
    /// The stream ended inside a frame.
    #[error("the stream ended {received} bytes into a frame of {expected}")]
    Truncated {
        /// Bytes the frame needed, header included: just the 4-byte header if the header
        /// itself was cut off.
        expected: u64,
        /// Bytes of the frame that came.
        received: u64,
    },
}
