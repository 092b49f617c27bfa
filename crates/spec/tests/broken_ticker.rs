//! Deliberately broken implementations of the ticker contract, one flaw each, showing that every
//! check in `bothways_spec::ticker` can fail — a check is trusted only once it has been seen to.
//!
//! The spec crate must not depend on a real implementation, so the baseline is written here with
//! std alone: a loop thread waiting on one `mpsc` channel with `recv_timeout` until the next
//! tick, fed by a reader thread (TCP) or by the feed (in-process). Module `baseline` runs the
//! whole suite against it, so when a variant fails a check, the one change that variant makes is
//! to blame.

use std::hint::black_box;
use std::io::{ErrorKind, Read};
use std::mem;
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bothways_spec::ticker::{
    Config, Error, Event, Feed as SpecFeed, Next, Running, Summary, TickerSpec,
};
use bothways_wire::{Error as WireError, FrameDecoder};

/// The one thing a broken variant gets wrong, and the check that catches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Decodes each read on its own, so a frame split across reads is garbled:
    /// `batches_concatenate_to_input`.
    FreshDecoderPerRead,
    /// Looks at the clock only when an event arrives, so a batch waits for the next event:
    /// `batch_is_handed_on_while_idle`.
    TicksOnlyOnEvents,
    /// Hands a batch on only at the tick, whatever its size: `full_batch_is_handed_on_at_once`.
    IgnoresCap,
    /// Exits at the end of the source without handing on the last batch:
    /// `source_end_flushes_and_exits`.
    NoFinalFlush,
    /// Exits on a stop without handing on what it gathered:
    /// `stop_from_outside_flushes_and_exits_within_a_tick`.
    StopDropsBatch,
    /// The classic threads mistake: on a stop, joins the reader without shutting the socket, so
    /// the loop waits as long as the peer stays silent:
    /// `stop_from_outside_flushes_and_exits_within_a_tick`.
    StopWaitsForReader,
    /// Hands a batch on at every tick, empty or not: `no_empty_batch_when_idle`.
    EmptyBatches,
    /// Polls its channel in a loop instead of waiting on it:
    /// `idle_loop_costs_under_2_percent_of_a_core`.
    SpinsWhenIdle,
    /// Reserves the announced length of an oversized frame before refusing it:
    /// `oversized_frame_header_is_a_typed_error`.
    ReservesAnnounced,
    /// Has no maximum frame length, so it waits for 4 GiB that never come:
    /// `oversized_frame_header_is_a_typed_error`.
    NoMaxFrame,
    /// Takes the end of the stream inside a frame for a clean close:
    /// `truncated_frame_is_a_typed_error_after_earlier_events`.
    TruncatedIsClean,
    /// Returns the source's error without handing on the batch gathered before it:
    /// `peer_reset_is_an_error_and_nothing_is_lost`.
    ErrorDropsBatch,
    /// Takes a read error for the end of the stream: `peer_reset_is_an_error_and_nothing_is_lost`.
    ResetIsClean,
}

/// What the loop thread waits on.
#[derive(Debug)]
enum Msg {
    Events(Vec<Event>),
    Failed(Error),
    End,
    Stop,
}

/// The baseline (`flaw: None`) or one broken variant of it.
#[derive(Debug)]
struct Imp {
    flaw: Option<Flaw>,
}

impl Imp {
    fn start(&self, config: Config, reader: Option<Reader>) -> (Sender<Msg>, Loop) {
        let (msgs, inbox) = mpsc::channel();
        let (sink, batches) = mpsc::channel();
        let flaw = self.flaw;
        let thread = thread::spawn(move || gather(flaw, config, &inbox, &sink, reader));
        let running = Loop {
            batches,
            stop: msgs.clone(),
            thread: Some(thread),
        };
        (msgs, running)
    }
}

/// The reader thread of a TCP loop and a handle on its socket, to shut it down on a stop.
#[derive(Debug)]
struct Reader {
    thread: JoinHandle<()>,
    socket: TcpStream,
}

fn gather(
    flaw: Option<Flaw>,
    config: Config,
    inbox: &Receiver<Msg>,
    sink: &Sender<Vec<Event>>,
    reader: Option<Reader>,
) -> Result<Summary, Error> {
    let has = |f| flaw == Some(f);
    let mut batch = Vec::new();
    let mut summary = Summary::default();
    let flush = |batch: &mut Vec<Event>, summary: &mut Summary| {
        if batch.is_empty() && !has(Flaw::EmptyBatches) {
            return;
        }
        summary.events += batch.len() as u64;
        summary.batches += 1;
        let _ = sink.send(mem::take(batch));
    };
    let mut next_tick = Instant::now() + config.period;
    let ended = loop {
        let now = Instant::now();
        let msg = if has(Flaw::SpinsWhenIdle) {
            match inbox.try_recv() {
                Ok(msg) => Some(msg),
                Err(mpsc::TryRecvError::Empty) => None,
                Err(mpsc::TryRecvError::Disconnected) => Some(Msg::End),
            }
        } else if has(Flaw::TicksOnlyOnEvents) {
            inbox.recv().ok()
        } else {
            match inbox.recv_timeout(next_tick.saturating_duration_since(now)) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(Msg::End),
            }
        };
        if Instant::now() >= next_tick {
            flush(&mut batch, &mut summary);
            // A late tick restarts the period: no burst of catch-up ticks.
            next_tick = Instant::now() + config.period;
        }
        match msg {
            None if has(Flaw::SpinsWhenIdle) => thread::yield_now(),
            None => {}
            Some(Msg::Events(events)) => {
                for e in events {
                    batch.push(e);
                    if batch.len() >= config.max_batch && !has(Flaw::IgnoresCap) {
                        flush(&mut batch, &mut summary);
                    }
                }
            }
            Some(Msg::Failed(e)) => break Err(e),
            Some(Msg::End) => break Ok(()),
            Some(Msg::Stop) => {
                if has(Flaw::StopDropsBatch) {
                    batch.clear();
                }
                break Ok(());
            }
        }
    };
    if let Some(reader) = reader {
        if !has(Flaw::StopWaitsForReader) {
            let _ = reader.socket.shutdown(Shutdown::Both);
        }
        let _ = reader.thread.join();
    }
    let lose = match &ended {
        Ok(()) => has(Flaw::NoFinalFlush),
        Err(_) => has(Flaw::ErrorDropsBatch),
    };
    if !lose {
        flush(&mut batch, &mut summary);
    }
    ended.map(|()| summary)
}

fn read_frames(flaw: Option<Flaw>, mut stream: TcpStream, max: u32, msgs: &Sender<Msg>) {
    let has = |f| flaw == Some(f);
    let max = if has(Flaw::NoMaxFrame) { u32::MAX } else { max };
    let mut frames = FrameDecoder::new(max);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) => {
                match frames.eof() {
                    Err(e) if !has(Flaw::TruncatedIsClean) => {
                        let _ = msgs.send(Msg::Failed(Error::Wire(e)));
                    }
                    _ => {
                        let _ = msgs.send(Msg::End);
                    }
                }
                return;
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) if has(Flaw::ResetIsClean) => {
                let _ = msgs.send(Msg::End);
                return;
            }
            Err(e) => {
                let _ = msgs.send(Msg::Failed(Error::Io(e.kind())));
                return;
            }
        };
        if has(Flaw::FreshDecoderPerRead) {
            frames = FrameDecoder::new(max);
        }
        let mut input = &chunk[..n];
        let mut events = Vec::new();
        let failed = loop {
            match frames.decode(&mut input) {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        if !events.is_empty() && msgs.send(Msg::Events(events)).is_err() {
            return;
        }
        if let Some(e) = failed {
            if let (WireError::FrameTooLarge { len, .. }, true) = (&e, has(Flaw::ReservesAnnounced))
            {
                // "Just in case": the untrusted length, reserved before it is refused.
                let mut v = Vec::<u8>::new();
                let _ = black_box(v.try_reserve_exact(usize::try_from(*len).unwrap_or(0)));
                black_box(&v);
            }
            let _ = msgs.send(Msg::Failed(Error::Wire(e)));
            return;
        }
    }
}

impl TickerSpec for Imp {
    type Running = Loop;
    type Feed = Feed;

    fn tcp(&self, stream: TcpStream, config: Config) -> Result<Loop, Error> {
        let socket = stream.try_clone().map_err(|e| Error::Io(e.kind()))?;
        let (msgs, reader_msgs) = mpsc::channel();
        let flaw = self.flaw;
        let thread = thread::spawn(move || read_frames(flaw, stream, config.max_frame, &msgs));
        let (to_loop, running) = self.start(config, Some(Reader { thread, socket }));
        // Forward the reader's messages into the loop's one inbox.
        thread::spawn(move || {
            for msg in reader_msgs {
                if to_loop.send(msg).is_err() {
                    return;
                }
            }
        });
        Ok(running)
    }

    fn in_process(&self, config: Config) -> Result<(Feed, Loop), Error> {
        let (msgs, running) = self.start(config, None);
        Ok((Feed { msgs }, running))
    }
}

#[derive(Debug)]
struct Loop {
    batches: Receiver<Vec<Event>>,
    stop: Sender<Msg>,
    thread: Option<JoinHandle<Result<Summary, Error>>>,
}

impl Running for Loop {
    fn next_batch(&mut self, within: Duration) -> Next {
        match self.batches.recv_timeout(within) {
            Ok(b) => Next::Batch(b),
            Err(RecvTimeoutError::Timeout) => Next::Idle,
            Err(RecvTimeoutError::Disconnected) => Next::Closed,
        }
    }

    fn stop(&mut self) {
        let _ = self.stop.send(Msg::Stop);
    }

    fn finish(mut self) -> Result<Summary, Error> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(Error::Other("the loop thread is gone".into())),
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // Cleanup for a check that gave up early: the next test must not inherit this loop.
        let _ = self.stop.send(Msg::Stop);
    }
}

#[derive(Debug)]
struct Feed {
    msgs: Sender<Msg>,
}

impl SpecFeed for Feed {
    fn send(&mut self, event: Event) -> bool {
        self.msgs.send(Msg::Events(vec![event])).is_ok()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        let _ = self.msgs.send(Msg::End);
    }
}

bothways_spec::broken_tests! {
    pattern: ticker, flaws: Flaw, build: |flaw| Imp { flaw: Some(flaw) };
    fresh_decoder_per_read_fails_batches_concatenate_to_input:
        FreshDecoderPerRead => batches_concatenate_to_input, "100000 events, in order";
    // NoFinalFlush is not listed against batches_concatenate_to_input: with its 1 ms tick, a
    // tick may hand on the last events before the close is seen, so the missing final flush
    // would fail that check only sometimes. source_end_flushes_and_exits catches it every time.
    ticks_only_on_events_fails_batch_is_handed_on_while_idle:
        TicksOnlyOnEvents => batch_is_handed_on_while_idle, "the 3 events";
    ignores_cap_fails_full_batch_is_handed_on_at_once:
        IgnoresCap => full_batch_is_handed_on_at_once, "two batches of 10 at once";
    no_final_flush_fails_source_end_flushes_and_exits:
        NoFinalFlush => source_end_flushes_and_exits, "the 7 events";
    stop_drops_batch_fails_stop_from_outside_flushes_and_exits_within_a_tick:
        StopDropsBatch => stop_from_outside_flushes_and_exits_within_a_tick, "the 5 events";
    stop_waits_for_reader_fails_stop_from_outside_flushes_and_exits_within_a_tick:
        StopWaitsForReader => stop_from_outside_flushes_and_exits_within_a_tick, "the loop to exit within";
    empty_batches_fail_no_empty_batch_when_idle:
        EmptyBatches => no_empty_batch_when_idle, "no batch from 100 idle ticks";
    spins_when_idle_fails_idle_loop_costs_under_2_percent_of_a_core:
        SpinsWhenIdle => idle_loop_costs_under_2_percent_of_a_core, "under 2% of a core";
    reserves_announced_fails_oversized_frame_header_is_a_typed_error:
        ReservesAnnounced => oversized_frame_header_is_a_typed_error, "no allocation of the announced size";
    no_max_frame_fails_oversized_frame_header_is_a_typed_error:
        NoMaxFrame => oversized_frame_header_is_a_typed_error, "the loop to exit within";
    truncated_is_clean_fails_truncated_frame_is_a_typed_error_after_earlier_events:
        TruncatedIsClean => truncated_frame_is_a_typed_error_after_earlier_events, "Truncated";
    error_drops_batch_fails_peer_reset_is_an_error_and_nothing_is_lost:
        ErrorDropsBatch => peer_reset_is_an_error_and_nothing_is_lost, "the 5 events read before the reset";
    reset_is_clean_fails_peer_reset_is_an_error_and_nothing_is_lost:
        ResetIsClean => peer_reset_is_an_error_and_nothing_is_lost, "ConnectionReset";
}

/// The baseline passes the whole suite, stamped exactly as for a real implementation, so each
/// variant's failure above comes from its one flaw.
mod baseline {
    bothways_spec::ticker_suite!(threads: || Ok::<_, std::convert::Infallible>(
        super::Imp { flaw: None }
    ));
}
