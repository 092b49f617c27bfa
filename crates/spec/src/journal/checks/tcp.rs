//! The journal checks on its TCP server: history then live, lag, stalls, hang-ups, protocol
//! breaches, file-descriptor exhaustion, shutdown.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use bothways_journal_format::wire::MAX_FRAME;
use bothways_wire::FrameDecoder;

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::journal::fixtures::{
    CHILD_EVENTS, Frame, PATIENT, Reaped, Scratch, TcpSub, big_payload, call, expect_range, open,
    payload, serve, serve_limited, served_at, with_file_limit,
};
use crate::journal::{
    ANSWER_WITHIN, CRASH_MODE_VAR, Durability, Error, JournalSpec, QUIET, SpecJournal,
};

// Named in doc links only.
#[cfg(doc)]
use crate::journal::fixtures::TCP_EVENT_LEN;

/// Events in the TCP handover check; the first [`TCP_HISTORY`] are in the file before the
/// client connects, the rest are appended while it connects and reads.
pub const TCP_EVENTS: u64 = 5_000;
/// Events appended before the TCP client of the handover check connects.
pub const TCP_HISTORY: u64 = 100;

/// Check 13: over TCP, with `bothways-wire` frames: after 100 events, a client subscribing from
/// 40 while a producer appends up to 5,000 gets exactly 40..=5,000, in order, once each, then
/// nothing, then the next event when it is appended; a client from past the end gets nothing
/// until that event exists, then exactly it; when the journal closes, the connection ends.
pub fn tcp_subscriber_gets_history_then_live<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, 1 << 16)?);
    for seq in 1..=TCP_HISTORY {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve(journal.as_ref())?;
    let start = Instant::now();
    let producer = {
        let journal = Arc::clone(&journal);
        thread::spawn(move || -> Result<(), Failure> {
            for seq in TCP_HISTORY + 1..=TCP_EVENTS {
                let got = call("append", journal.append(&payload(seq)))?;
                ensure(got == seq, "sequence numbers in append order", || {
                    format!("{got} for the {seq}th")
                })?;
            }
            Ok(())
        })
    };
    let mut client = TcpSub::connect(addr, 40)?;
    let received = client.expect_range(40, TCP_EVENTS, payload);
    producer
        .join()
        .map_err(|_| Failure::new("the producer to finish", "a panic"))??;
    received?;
    let elapsed = start.elapsed();
    let extra = client.next(QUIET)?;
    ensure(
        matches!(extra, Frame::Nothing),
        &format!("nothing over TCP after event {TCP_EVENTS}"),
        || format!("{extra:?}"),
    )?;
    // A client from past the end: nothing until its event exists.
    let ahead = TCP_EVENTS + 3;
    let mut early = TcpSub::connect(addr, ahead)?;
    for seq in TCP_EVENTS + 1..ahead {
        call("append", journal.append(&payload(seq)))?;
    }
    client.expect_range(TCP_EVENTS + 1, ahead - 1, payload)?;
    let none = early.next(QUIET)?;
    ensure(
        matches!(none, Frame::Nothing),
        &format!("nothing over TCP before event {ahead} exists"),
        || format!("{none:?}"),
    )?;
    call("append", journal.append(&payload(ahead)))?;
    early.expect_range(ahead, ahead, payload)?;
    client.expect_range(ahead, ahead, payload)?;
    call("close", journal.close())?;
    for (name, sub) in [("the first", &mut client), ("the second", &mut early)] {
        let end = sub.next(ANSWER_WITHIN)?;
        ensure(
            matches!(end, Frame::End),
            &format!("{name} TCP connection to end when the journal closes"),
            || format!("{end:?}"),
        )?;
    }
    Ok(vec![
        Figure::count("events over TCP", (TCP_EVENTS - 40 + 1) as i64, "events"),
        Figure::millis("handover over TCP", elapsed),
    ])
}

/// The queue of the subscriber in the TCP lag check.
pub const TCP_QUEUE: usize = 64;
/// Events of [`TCP_EVENT_LEN`] bytes appended past the stalled TCP client: 16 MiB, four times
/// what loopback socket buffers hold for a client that does not read (Linux grows a receive
/// buffer only as its reader reads, and send buffers stop at 4 MiB by default), so the
/// server's queue must fill.
pub const TCP_LAG_EVENTS: u64 = 16_000;

/// Check 14: a TCP client with a server-side queue of 64 reads event 1, then stops reading
/// while 16,000 events of 1 KiB are appended: every append returns (the writer never waits for
/// the client) within the usual bound. When the client reads again it gets 1..=k in order,
/// then the typed `Lagged { last_seq: k }` frame with k short of the end (the server held a
/// bounded amount for it, not everything), then the end of the connection; a new client from
/// `k + 1` gets the rest, then live events.
pub fn tcp_slow_subscriber_lags_and_resumes<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, TCP_QUEUE)?);
    let addr = serve(journal.as_ref())?;
    let mut slow = TcpSub::connect(addr, 1)?;
    call("append", journal.append(&big_payload(1)))?;
    // Once event 1 has come, the server has subscribed: what follows goes through its queue.
    slow.expect_range(1, 1, big_payload)?;
    let start = Instant::now();
    let (done, finished) = std::sync::mpsc::channel();
    {
        let journal = Arc::clone(&journal);
        thread::spawn(move || {
            let result = (2..=TCP_LAG_EVENTS)
                .try_for_each(|seq| journal.append(&big_payload(seq)).map(drop))
                .and_then(|()| journal.flush());
            let _ = done.send(result);
        });
    }
    // Generous: 16 MiB through the page cache and the CRC, on a noisy machine.
    let limit = ANSWER_WITHIN * 3;
    match finished.recv_timeout(limit) {
        Ok(result) => call("append", result)?,
        Err(_) => {
            return Err(Failure::new(
                format!("{TCP_LAG_EVENTS} appends past a stalled TCP client to return"),
                format!("still appending after {limit:?}"),
            ));
        }
    }
    let appending = start.elapsed();
    let mut got = 1u64;
    let last_seq = loop {
        match slow.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => {
                ensure(seq == got + 1, "TCP events in order before the cut", || {
                    format!("{seq} after {got}")
                })?;
                got = seq;
            }
            Frame::Lagged(last_seq) => break last_seq,
            other => {
                return Err(Failure::new(
                    "a typed Lagged frame after the stalled client's events",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    };
    ensure(
        last_seq == got,
        "Lagged to name the last event the client received",
        || format!("last_seq {last_seq} after event {got}"),
    )?;
    ensure(
        last_seq < TCP_LAG_EVENTS,
        &format!("Lagged before event {TCP_LAG_EVENTS}: a bounded amount held for the client"),
        || format!("Lagged at {last_seq}"),
    )?;
    let end = slow.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "the connection to end after the Lagged frame",
        || format!("{end:?}"),
    )?;
    let mut again = TcpSub::connect(addr, last_seq + 1)?;
    again.expect_range(last_seq + 1, TCP_LAG_EVENTS, big_payload)?;
    let live = call("append", journal.append(&big_payload(TCP_LAG_EVENTS + 1)))?;
    again.expect_range(live, live, big_payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::count("received before the cut", got as i64, "events"),
        Figure::millis("appending 16 MiB past a stalled TCP client", appending),
    ])
}

/// The stall limit the server gets in the stalled-client check.
pub const STALL_LIMIT: Duration = Duration::from_millis(250);

/// Check 17: a TCP server with a stall limit of 250 ms disconnects a client that connects
/// and says nothing (not before half the limit, and within the usual bound), and a client
/// that subscribes, takes event 1 and then reads nothing while 16 MiB are appended: after a
/// stall of eight times the limit it reads the events the server had sent, in order, then the
/// end of the connection, short of the last event: the server gave up on the full socket
/// instead of waiting there to send the rest. Subscriber queues hold more than is appended,
/// so the journal never cuts a client with `Lagged` here: only the stall limit can. A client
/// waiting on a quiet journal for twice the limit is kept, and gets the next event.
pub fn tcp_stalled_clients_are_disconnected<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let queue = (TCP_LAG_EVENTS as usize + 1).next_power_of_two();
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, queue)?);
    let addr = serve_limited(journal.as_ref(), STALL_LIMIT)?;
    // A client waiting for events on a quiet journal is not stalled: the server waits on the
    // journal, not on it.
    let mut patient = TcpSub::connect(addr, 1)?;
    let quiet_since = Instant::now();
    // The silent client: connected, never a subscribe frame.
    let start = Instant::now();
    let silent = TcpStream::connect(addr)
        .map_err(|e| Failure::new("a TCP connection to the journal", e.to_string()))?;
    let mut silent = TcpSub {
        stream: silent,
        decoder: FrameDecoder::new(MAX_FRAME),
        pending: VecDeque::new(),
        buf: vec![0; 64],
    };
    let end = silent.next(ANSWER_WITHIN)?;
    let cut_after = start.elapsed();
    ensure(
        matches!(end, Frame::End),
        &format!("a client that sends nothing cut off within {ANSWER_WITHIN:?}"),
        || format!("{end:?} after {cut_after:?}"),
    )?;
    ensure(
        cut_after >= STALL_LIMIT / 2,
        &format!("a silent client kept for its stall limit of {STALL_LIMIT:?}"),
        || format!("cut off after {cut_after:?}"),
    )?;
    // The client that stops reading; event 1 only once the patient client has waited twice
    // the limit.
    let mut stalled = TcpSub::connect(addr, 1)?;
    thread::sleep((quiet_since + STALL_LIMIT * 2).saturating_duration_since(Instant::now()));
    call("append", journal.append(&big_payload(1)))?;
    stalled.expect_range(1, 1, big_payload)?;
    patient.expect_range(1, 1, big_payload)?;
    for seq in 2..=TCP_LAG_EVENTS {
        call("append", journal.append(&big_payload(seq)))?;
    }
    call("flush", journal.flush())?;
    thread::sleep(STALL_LIMIT * 8);
    let mut got = 1u64;
    loop {
        match stalled.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => {
                ensure(
                    seq == got + 1,
                    "TCP events in order before the stall cut",
                    || format!("{seq} after {got}"),
                )?;
                got = seq;
            }
            Frame::End => break,
            other => {
                return Err(Failure::new(
                    "the end of the connection after the events sent before the stall",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    ensure(
        got < TCP_LAG_EVENTS,
        &format!("the stalled client cut off before event {TCP_LAG_EVENTS}"),
        || format!("all {got} events"),
    )?;
    // The patient client lagged (it read nothing either); a new one is served as before.
    drop(patient);
    let mut after = TcpSub::connect(addr, TCP_LAG_EVENTS + 1)?;
    let live = call("append", journal.append(&big_payload(TCP_LAG_EVENTS + 1)))?;
    after.expect_range(live, live, big_payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::millis("silent client cut off after", cut_after),
        Figure::count("events sent before the stall cut", got as i64, "events"),
    ])
}

/// Events appended in a burst right before the second client of check 22 hangs up.
pub const HANG_UP_BURST: u64 = 2_000;

/// Check 22: a TCP client that hangs up on a quiet journal — it ended its side of the
/// connection right after its subscribe frame — gets the history, and is then let go: the
/// server closes the connection without waiting for a next event that may never come. A
/// second one, live, that hangs up right after a burst of 2,000 appends returned, gets every
/// event appended before it hung up, the ones still on their way through the writer included. Otherwise every client that ever left a quiet journal would
/// keep a thread or a task, a socket and a subscriber queue. The journal goes on unaffected.
pub fn tcp_hung_up_client_is_let_go<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = open(imp, &dir.file(), Durability::None, 1 << 16)?;
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve_limited(&journal, PATIENT)?;
    let mut client = TcpSub::connect(addr, 1)?;
    // Its side ended at once, after the subscribe frame: what is there is still its due.
    client
        .stream
        .shutdown(Shutdown::Write)
        .map_err(|e| Failure::new("the client's side to shut down", e.to_string()))?;
    client.expect_range(1, 5, payload)?;
    let start = Instant::now();
    let end = client.next(ANSWER_WITHIN)?;
    let let_go = start.elapsed();
    ensure(
        matches!(end, Frame::End),
        &format!("a client that hung up on a quiet journal let go within {ANSWER_WITHIN:?}"),
        || format!("{end:?} after {let_go:?}"),
    )?;
    // A client that is live (it has event 6), then hangs up right after a burst of appends
    // returned: much of the burst is still in the writer's input at the hang-up, and reaches
    // the server after it. All of it was appended before the hang-up: all of it is its due.
    let burst = HANG_UP_BURST;
    let mut late = TcpSub::connect(addr, 6)?;
    call("append", journal.append(&payload(6)))?;
    late.expect_range(6, 6, payload)?;
    for seq in 7..6 + burst {
        call("append", journal.append(&payload(seq)))?;
    }
    late.stream
        .shutdown(Shutdown::Write)
        .map_err(|e| Failure::new("the client's side to shut down", e.to_string()))?;
    late.expect_range(7, 5 + burst, payload)?;
    let end = late.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "a client that hung up let go once sent what was appended before",
        || format!("{end:?}"),
    )?;
    let next = call("append", journal.append(&payload(6 + burst)))?;
    ensure(
        next == 6 + burst,
        &format!("the journal to go on at event {}", 6 + burst),
        || next.to_string(),
    )?;
    let mut sub = call("subscribe", journal.subscribe(1))?;
    expect_range(&mut sub, 1, 6 + burst, |s| Some(payload(s)))?;
    call("close", journal.close())?;
    Ok(vec![Figure::millis("hung-up client let go after", let_go)])
}

/// Events the producer of check 25 appends, one a millisecond at most, while a client sends
/// junk: more than any bound the check waits for.
const BUSY_EVENTS: u64 = 20_000;
/// The stall limit of check 25: a breach must be noticed within it.
pub const BREACH_LIMIT: Duration = Duration::from_secs(1);

/// Check 25: a client that sends anything after its subscribe frame breaks the protocol and is
/// disconnected, whatever the timing. Junk in the same write as the subscribe frame: the
/// connection ends with no event sent, though the journal has some. Junk sent later, while
/// events flow to the client every millisecond (so a server that looks at the socket only
/// when the journal is quiet never would): the connection ends within the stall limit of
/// 1 s (the bound checked is three times that, for a noisy machine), the client reading all
/// the while. The journal goes on, and a well-behaved client is still served.
pub fn tcp_bytes_after_subscribe_disconnect<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, 1 << 16)?);
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve_limited(journal.as_ref(), BREACH_LIMIT)?;
    // Junk in the same write as the subscribe frame.
    let mut same = TcpSub::connect_with(addr, 1, b"junk")?;
    let end = same.next(ANSWER_WITHIN)?;
    ensure(
        matches!(end, Frame::End),
        "a client with bytes after its subscribe frame, in the same write, disconnected at once",
        || format!("{end:?}"),
    )?;
    // Junk while events flow.
    let mut busy = TcpSub::connect(addr, 1)?;
    busy.expect_range(1, 5, payload)?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let producer = {
        let (journal, stop) = (Arc::clone(&journal), Arc::clone(&stop));
        thread::spawn(move || -> Result<u64, Error> {
            let mut last = 5;
            while !stop.load(Ordering::Relaxed) && last < 5 + BUSY_EVENTS {
                last = journal.append(&payload(last + 1))?;
                thread::sleep(Duration::from_millis(1));
            }
            Ok(last)
        })
    };
    // Let events flow for a while first, then break the protocol.
    let mut got = 5;
    let flowing = Instant::now();
    while flowing.elapsed() < BREACH_LIMIT / 2 {
        match busy.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) => got = seq,
            other => {
                stop.store(true, Ordering::Relaxed);
                return Err(Failure::new(
                    "events to flow before the client breaks the protocol",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    busy.stream
        .write_all(b"junk")
        .map_err(|e| Failure::new("the junk to be sent", e.to_string()))?;
    let sent = Instant::now();
    let bound = BREACH_LIMIT * 3;
    let outcome = loop {
        if sent.elapsed() > bound {
            break Err(format!(
                "still connected after {:?}, at event {got}",
                sent.elapsed()
            ));
        }
        match busy.next(bound) {
            Ok(Frame::Event(seq, _)) => got = seq,
            Ok(Frame::End) => break Ok(sent.elapsed()),
            Ok(other) => break Err(format!("{other:?} at event {got}")),
            Err(e) => break Err(e.to_string()),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let last = producer
        .join()
        .map_err(|_| Failure::new("the producer to finish", "a panic"))?;
    let last = call("append", last)?;
    let cut_after = outcome.map_err(|seen| {
        Failure::new(
            format!("a client that sent bytes while events flowed disconnected within {bound:?}"),
            seen,
        )
    })?;
    let mut good = TcpSub::connect(addr, last)?;
    good.expect_range(last, last, payload)?;
    call("close", journal.close())?;
    Ok(vec![Figure::millis("breach noticed after", cut_after)])
}

/// The open-file limit of the serving child of check 29 (`ulimit -n`): a few dozen clients
/// reach it.
pub const CHILD_FILES: u32 = 40;
/// How long a client of check 29 waits for its first event before it counts as not served;
/// a served one has it within milliseconds.
pub const UNSERVED_AFTER: Duration = Duration::from_secs(3);

/// Check 29: a TCP server whose process runs out of file descriptors, so that `accept` fails
/// (EMFILE), outlives it. A child process (the crash child, in mode `serve`, its open-file
/// limit lowered to 40 by `ulimit -n`) serves a journal of 3 events. Clients connect one after
/// another and each gets the 3 events, until one gets nothing for 3 s while the others are
/// still connected: the limit is reached. (A client accepted but cut off, as its server could
/// not open the file to replay it, means the limit is a descriptor away — or two, as Linux
/// takes a blocked `accept`'s descriptor before it blocks: a connection that never subscribes
/// is made after each such client, to take one.) Once the others hang up, the client that got
/// nothing is accepted, and a new client is served.
pub fn tcp_server_survives_fd_exhaustion<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let Some(command) = imp.crash_child(&dir.file()) else {
        return Ok(vec![Figure::skipped("cannot re-execute a child")]);
    };
    let mut child = Reaped(
        with_file_limit(&command, CHILD_FILES)
            .env(CRASH_MODE_VAR, "serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Failure::new("the serving child to start", e.to_string()))?,
    );
    let addr = served_at(&mut child.0)?;
    let survive = "the server to survive running out of file descriptors";
    let (mut served, mut silent, mut cut) = (Vec::new(), Vec::new(), 0);
    let waiting = loop {
        ensure(
            served.len() + cut < 4 * CHILD_FILES as usize,
            &format!("the child's limit of {CHILD_FILES} open files to be reached"),
            || format!("{} clients served", served.len()),
        )?;
        let mut client = TcpSub::connect(addr, 1).map_err(|f| {
            Failure::new(
                format!("{survive}: new connections accepted"),
                format!("{} after {} clients served", f.seen, served.len()),
            )
        })?;
        match client.next(UNSERVED_AFTER)? {
            Frame::Event(1, _) => {
                client.expect_range(2, CHILD_EVENTS, payload)?;
                served.push(client);
            }
            Frame::End => {
                cut += 1;
                let stream = TcpStream::connect(addr).map_err(|e| {
                    Failure::new(
                        format!("{survive}: new connections accepted"),
                        e.to_string(),
                    )
                })?;
                silent.push(stream);
            }
            Frame::Nothing => break client,
            other => {
                return Err(Failure::new(
                    "the journal's first event, or nothing",
                    format!("{other:?}"),
                ));
            }
        }
    };
    let open = served.len();
    ensure(open > 0, "clients served before the limit", || {
        "none".to_owned()
    })?;
    drop((served, silent));
    // Once descriptors are free, the waiting client is accepted: it gets its events, or the
    // end of its connection if one descriptor alone was free, as the replay needs another.
    let mut waiting = waiting;
    let start = Instant::now();
    match waiting.next(ANSWER_WITHIN)? {
        Frame::Event(1, _) => waiting.expect_range(2, CHILD_EVENTS, payload)?,
        Frame::End => {}
        other => {
            return Err(Failure::new(
                format!(
                    "{survive}: the client that got nothing while {open} others were connected \
                     accepted once they left"
                ),
                format!("{other:?}"),
            ));
        }
    }
    let accepted = start.elapsed();
    // A new client is served once the server has let go of those that left (a thread may
    // take half a second to notice a hang-up): until then it may be cut off the same way.
    loop {
        let seen = match TcpSub::connect(addr, 1) {
            Ok(mut fresh) => match fresh.next(ANSWER_WITHIN)? {
                Frame::Event(1, _) => break fresh.expect_range(2, CHILD_EVENTS, payload)?,
                Frame::End if start.elapsed() < ANSWER_WITHIN => {
                    thread::sleep(QUIET);
                    continue;
                }
                other => format!("{other:?}"),
            },
            Err(f) => f.seen,
        };
        return Err(Failure::new(
            format!("{survive}: a new client served once the others left"),
            seen,
        ));
    }
    Ok(vec![
        Figure::count("clients served at the limit", open as i64, "clients"),
        Figure::millis("the waiting client accepted after they left", accepted),
        Figure::millis("a new client served after they left", start.elapsed()),
    ])
}

/// Check 30: a TCP server shut down from outside lets its clients go. With three clients — one
/// that stopped reading while 16 MiB were appended (the server is stuck writing to it), one
/// that connected and never subscribed (the server waits for its subscribe frame), and one
/// waiting for events on a quiet journal — `stop_tcp` returns within the usual bound, and each
/// client then sees its connection end (the stalled one after the events already sent, in
/// order), although the stall limit is two minutes away. A connection made after is refused
/// or closed without an event. The journal goes on, and a new server serves it.
pub fn tcp_shutdown_lets_clients_go<T: JournalSpec>(imp: &T) -> CheckResult {
    let dir = Scratch::new()?;
    let queue = (TCP_LAG_EVENTS as usize + 1).next_power_of_two();
    let journal = Arc::new(open(imp, &dir.file(), Durability::None, queue)?);
    for seq in 1..=5 {
        call("append", journal.append(&payload(seq)))?;
    }
    let addr = serve(journal.as_ref())?;
    let mut stalled = TcpSub::connect(addr, 1)?;
    stalled.expect_range(1, 5, payload)?;
    let last = 5 + TCP_LAG_EVENTS;
    for seq in 6..=last {
        call("append", journal.append(&big_payload(seq)))?;
    }
    let mut silent = TcpSub {
        stream: TcpStream::connect(addr)
            .map_err(|e| Failure::new("a TCP connection to the journal", e.to_string()))?,
        decoder: FrameDecoder::new(MAX_FRAME),
        pending: VecDeque::new(),
        buf: vec![0; 64],
    };
    // Served after the silent one was accepted, as a listener hands connections out in order.
    let mut waiting = TcpSub::connect(addr, last + 1)?;
    call("append", journal.append(&payload(last + 1)))?;
    waiting.expect_range(last + 1, last + 1, payload)?;
    let start = Instant::now();
    let (done, stopped) = std::sync::mpsc::channel();
    {
        let journal = Arc::clone(&journal);
        thread::spawn(move || done.send(journal.stop_tcp()));
    }
    let bound = ANSWER_WITHIN * 3;
    match stopped.recv_timeout(bound) {
        Ok(result) => call("stop_tcp", result)?,
        Err(_) => {
            return Err(Failure::new(
                format!("stop_tcp to return within {bound:?}"),
                "still stopping",
            ));
        }
    }
    let stopping = start.elapsed();
    for (name, client) in [
        ("a client waiting for events", &mut waiting),
        ("a client that never subscribed", &mut silent),
    ] {
        let end = client.next(ANSWER_WITHIN)?;
        ensure(
            matches!(end, Frame::End),
            &format!("{name} to see its connection end when the server stops"),
            || format!("{end:?}"),
        )?;
    }
    let mut got = 5;
    loop {
        match stalled.next(ANSWER_WITHIN)? {
            Frame::Event(seq, _) if seq == got + 1 => got = seq,
            Frame::End => break,
            other => {
                return Err(Failure::new(
                    "a client that stopped reading to see its connection end when the server \
                     stops, after the events already sent, in order",
                    format!("{other:?} after event {got}"),
                ));
            }
        }
    }
    if let Ok(mut late) = TcpSub::connect(addr, 1) {
        let seen = late.next(ANSWER_WITHIN)?;
        ensure(
            matches!(seen, Frame::End),
            "a connection made after the server stopped refused or closed",
            || format!("{seen:?}"),
        )?;
    }
    let next = call("append", journal.append(&payload(last + 2)))?;
    ensure(
        next == last + 2,
        &format!("the journal to go on at event {}", last + 2),
        || next.to_string(),
    )?;
    let mut again = TcpSub::connect(serve(journal.as_ref())?, last + 1)?;
    again.expect_range(last + 1, last + 2, payload)?;
    call("close", journal.close())?;
    Ok(vec![
        Figure::millis("stop_tcp returned after", stopping),
        Figure::count(
            "events sent to the stalled client",
            got as i64 - 5,
            "events",
        ),
    ])
}
