//! The ticker checks on a bad peer: an oversized frame header, a truncated frame, a reset.

use std::io::Write;
use std::thread;
use std::time::Duration;

use bothways_wire::Error as WireError;

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::resources;
use crate::ticker::fixtures::{drain_to_exit, event, events_of, fixture, frames, pair};
use crate::ticker::{Config, Error, Event, MAX_FRAME, TickerSpec};

/// How far the process's peak virtual size may grow during the oversized-header check: far
/// less than the 4 GiB the header announces, far more than a thread stack or malloc arena.
pub const ALLOCATION_SLACK: u64 = 2 << 30;

/// Bad input: after 2 good events, a frame header announcing 4 GiB ends the loop with
/// `FrameTooLarge`; the 2 events are still handed on, and the process never reserved anything
/// near 4 GiB (its peak virtual size grows by less than [`ALLOCATION_SLACK`]).
pub fn oversized_frame_header_is_a_typed_error<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let peak_before = fixture("read VmPeak", resources::peak_virtual())?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..2).map(event).collect();
    let mut bytes = frames(&sent)?;
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    bytes.extend_from_slice(&[0; 64]);
    fixture("write", peer.write_all(&bytes))?;
    // Held open: the error must come from the header alone, not from the close.
    let drained = drain_to_exit(running, Duration::from_secs(2));
    drop(peer);
    let (batches, exit) = drained?;
    let grew = fixture("read VmPeak", resources::peak_virtual())?.saturating_sub(peak_before);
    ensure(events_of(&batches) == sent, "the 2 good events", || {
        format!("{} events", events_of(&batches).len())
    })?;
    let want = Err(Error::Wire(WireError::FrameTooLarge {
        len: u64::from(u32::MAX),
        max: MAX_FRAME,
    }));
    ensure(exit == want, &format!("{want:?}"), || format!("{exit:?}"))?;
    ensure(
        grew < ALLOCATION_SLACK,
        "no allocation of the announced size (peak virtual size up by under 2 GiB)",
        || format!("it up by {} MiB", grew >> 20),
    )?;
    Ok(vec![Figure::count(
        "peak virtual Δ",
        (grew >> 20) as i64,
        "MiB",
    )])
}

/// Bad input: 3 events, then a frame cut off by the peer's close, give a typed `Truncated`
/// error saying how much of the frame came — and the 3 events are still handed on.
pub fn truncated_frame_is_a_typed_error_after_earlier_events<T: TickerSpec>(
    imp: &T,
) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..3).map(event).collect();
    let mut bytes = frames(&sent)?;
    bytes.extend_from_slice(&100u32.to_be_bytes());
    bytes.extend_from_slice(&[7; 10]);
    fixture("write", peer.write_all(&bytes))?;
    drop(peer);
    let (batches, exit) = drain_to_exit(running, Duration::from_secs(2))?;
    ensure(
        events_of(&batches) == sent,
        "the 3 events before the cut",
        || format!("{} events", events_of(&batches).len()),
    )?;
    let want = Err(Error::Wire(WireError::Truncated {
        expected: 104,
        received: 14,
    }));
    ensure(exit == want, &format!("{want:?}"), || format!("{exit:?}"))?;
    Ok(Vec::new())
}

/// Bad input: a peer that sends 5 events and then resets the connection gives an I/O error —
/// and the 5 events, gathered but not yet due (10 s tick), are still handed on.
pub fn peer_reset_is_an_error_and_nothing_is_lost<T: TickerSpec>(imp: &T) -> CheckResult {
    let config = Config {
        period: Duration::from_secs(10),
        max_batch: 1000,
        max_frame: MAX_FRAME,
    };
    let (mut peer, ours) = pair()?;
    // std cannot set SO_LINGER, so the reset is made the other way the kernel makes one: the
    // peer closes with bytes it never read. A clone of the loop's end sends them.
    let mut back = fixture("clone the loop's end", ours.try_clone())?;
    let running = imp
        .tcp(ours, config)
        .map_err(|e| Failure::new("a loop", format!("{e:?}")))?;
    let sent: Vec<Event> = (0..5).map(event).collect();
    fixture("write", peer.write_all(&frames(&sent)?))?;
    fixture("write back", back.write_all(b"unread"))?;
    // Long enough for the loop to read the events and for the unread bytes to land.
    thread::sleep(Duration::from_millis(200));
    drop(peer);
    let drained = drain_to_exit(running, Duration::from_secs(2));
    drop(back);
    let (batches, exit) = drained?;
    ensure(
        events_of(&batches) == sent,
        "the 5 events read before the reset",
        || format!("{} events", events_of(&batches).len()),
    )?;
    ensure(
        exit == Err(Error::Io(std::io::ErrorKind::ConnectionReset)),
        "Err(Io(ConnectionReset))",
        || format!("{exit:?}"),
    )?;
    Ok(Vec::new())
}
