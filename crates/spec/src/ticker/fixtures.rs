//! What the ticker checks share: a connected socket pair, events and their frames, draining
//! batches until the loop exits, and comparing its summary with what came.

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bothways_wire::frame::encode;

use crate::check::{Failure, ensure};
use crate::ticker::{Error, Event, Next, Running, Summary};

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn fixture<T>(what: &str, r: std::io::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure::new(format!("the fixture to {what}"), format!("I/O error {e}")))
}

/// A connected pair of loopback sockets: `(peer, for_the_loop)`.
pub(crate) fn pair() -> Result<(TcpStream, TcpStream), Failure> {
    let listener = fixture("bind", TcpListener::bind(("127.0.0.1", 0)))?;
    let addr = fixture("read its address", listener.local_addr())?;
    let peer = fixture("connect", TcpStream::connect(addr))?;
    let (ours, _) = fixture("accept", listener.accept())?;
    fixture("set nodelay", peer.set_nodelay(true))?;
    Ok((peer, ours))
}

/// The frames of `events`, back to back.
pub(crate) fn frames(events: &[Event]) -> Result<Vec<u8>, Failure> {
    let mut out = Vec::new();
    for e in events {
        encode(e, &mut out).map_err(|e| Failure::new("events that fit a frame", e.to_string()))?;
    }
    Ok(out)
}

/// Event `i` of a check: its index, then a few bytes more so events differ in length.
pub(crate) fn event(i: usize) -> Event {
    let mut e = (i as u64).to_be_bytes().to_vec();
    e.resize(8 + i % 57, (i % 251) as u8);
    e
}

/// Batches, each with the instant the check took it from the sink.
type Timed = Vec<(Instant, Vec<Event>)>;

/// Takes batches until the loop closes or `within` passes; returns them with when each came.
pub(crate) fn drain<R: Running>(running: &mut R, within: Duration) -> (Timed, bool) {
    let until = Instant::now() + within;
    let mut got = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match running.next_batch(left) {
            Next::Batch(b) => got.push((Instant::now(), b)),
            Next::Closed => return (got, true),
            Next::Idle if left.is_zero() => return (got, false),
            Next::Idle => {}
        }
    }
}

/// Fails if any batch is empty.
pub(crate) fn no_empty(batches: &[(Instant, Vec<Event>)]) -> Result<(), Failure> {
    let empty = batches.iter().filter(|(_, b)| b.is_empty()).count();
    ensure(empty == 0, "never an empty batch", || {
        format!("{empty} empty of {}", batches.len())
    })
}

/// Drains until the loop closes (within `within`) and returns its batches and its exit.
pub(crate) fn drain_to_exit<R: Running>(
    mut running: R,
    within: Duration,
) -> Result<(Timed, Result<Summary, Error>), Failure> {
    let (batches, closed) = drain(&mut running, within);
    if !closed {
        // Stop it so the test does not leave it behind, then report.
        running.stop();
        return Err(Failure::new(
            format!("the loop to exit within {}", ms(within)),
            format!("it still running, {} batches in", batches.len()),
        ));
    }
    no_empty(&batches)?;
    let exit = running.finish();
    Ok((batches, exit))
}

pub(crate) fn events_of(batches: &[(Instant, Vec<Event>)]) -> Vec<Event> {
    batches
        .iter()
        .flat_map(|(_, b)| b.iter().cloned())
        .collect()
}

pub(crate) fn summary_matches(
    exit: &Result<Summary, Error>,
    batches: &[(Instant, Vec<Event>)],
) -> Result<(), Failure> {
    let want = Summary {
        events: batches.iter().map(|(_, b)| b.len() as u64).sum(),
        batches: batches.len() as u64,
    };
    ensure(
        exit == &Ok(want),
        &format!("a clean exit reporting {want:?}"),
        || format!("{exit:?}"),
    )
}
