//! The journal's TCP protocol, framed with `bothways-wire`'s length prefix: shared bytes, so
//! both styles' servers and clients speak it the same way.
//!
//! A client sends one frame of 8 bytes, the sequence number it wants events from. The server
//! then sends frames whose first byte says what follows: [`EVENT`] then the sequence number
//! and the event's bytes, or [`LAGGED`] then the last sequence number the client was sent
//! (after which the server closes the connection).
//!
//! ```
//! use bothways_journal_format::{Event, wire};
//! let frame = wire::event_frame(&Event { seq: 9, payload: b"hi".to_vec() });
//! assert_eq!(wire::decode_server(&frame), Ok(wire::ServerMessage::Event(Event { seq: 9, payload: b"hi".to_vec() })));
//! assert_eq!(wire::decode_server(&wire::lagged_frame(4)), Ok(wire::ServerMessage::Lagged { last_seq: 4 }));
//! assert_eq!(wire::decode_subscribe(&wire::subscribe_frame(5)), Some(5));
//! ```

use crate::Event;

/// The first byte of an event frame.
pub const EVENT: u8 = 0;
/// The first byte of a "you fell behind" frame.
pub const LAGGED: u8 = 1;
/// The largest frame either side accepts: an event of [`crate::MAX_PAYLOAD`] plus 9 bytes.
pub const MAX_FRAME: u32 = crate::MAX_PAYLOAD + 9;

/// What a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerMessage {
    /// One event.
    Event(Event),
    /// The client fell behind and is disconnected; it may resubscribe from `last_seq + 1`.
    Lagged {
        /// The last sequence number the client was sent.
        last_seq: u64,
    },
}

/// The payload of a client's subscribe frame.
pub fn subscribe_frame(from: u64) -> [u8; 8] {
    from.to_be_bytes()
}

/// The sequence number in a subscribe frame, or `None` if it is not 8 bytes.
pub fn decode_subscribe(payload: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(payload).ok().map(u64::from_be_bytes)
}

/// The payload of an event frame.
pub fn event_frame(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + event.payload.len());
    out.push(EVENT);
    out.extend_from_slice(&event.seq.to_be_bytes());
    out.extend_from_slice(&event.payload);
    out
}

/// The payload of a lagged frame.
pub fn lagged_frame(last_seq: u64) -> Vec<u8> {
    let mut out = vec![LAGGED];
    out.extend_from_slice(&last_seq.to_be_bytes());
    out
}

/// Decodes a server frame's payload; `Err` carries the frame's length when it is malformed.
pub fn decode_server(payload: &[u8]) -> Result<ServerMessage, usize> {
    let seq = payload
        .get(1..9)
        .and_then(|s| <[u8; 8]>::try_from(s).ok())
        .map(u64::from_be_bytes)
        .ok_or(payload.len())?;
    match payload[0] {
        EVENT => Ok(ServerMessage::Event(Event {
            seq,
            payload: payload[9..].to_vec(),
        })),
        LAGGED if payload.len() == 9 => Ok(ServerMessage::Lagged { last_seq: seq }),
        _ => Err(payload.len()),
    }
}
