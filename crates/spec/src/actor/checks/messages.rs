//! The actor checks on tell and ask: order per sender, a full mailbox (waiting, `Full`, the
//! message handed back), an ask's deadline, an ask of itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::actor::fixtures::{log, ms, spawn};
use crate::actor::{ActorSpec, Config, Error, Exit, Msg, ProbeRef, Refused, Reply, Tally};
use crate::check::{CheckResult, Failure, Figure, ensure};

/// How late an answer may come after the time it was due: generous, for a noisy 2-core machine.
pub const LATE: Duration = Duration::from_millis(250);

/// Four senders on their own threads each tell 1,000 numbered records: the log holds all
/// 4,000, and each sender's appear in the order it sent them.
pub fn fifo_per_sender<T: ActorSpec>(imp: &T) -> CheckResult {
    const SENDERS: u32 = 4;
    const EACH: u64 = 1_000;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(16), &tally)?;
    let sent: Vec<Result<(), Error>> = thread::scope(|s| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let probe = probe.clone();
                s.spawn(move || {
                    (0..EACH)
                        .try_for_each(|seq| probe.tell(Msg::Record { sender, seq }))
                        .map_err(Error::from)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or(Err(Error::Other("a sender panicked".into())))
            })
            .collect()
    });
    for result in sent {
        ensure(result.is_ok(), "every tell Ok", || format!("{result:?}"))?;
    }
    let log = log(&probe)?;
    ensure(log.len() == 4_000, "4000 records in the log", || {
        format!("{}", log.len())
    })?;
    let mut next: HashMap<u32, u64> = HashMap::new();
    for &(sender, seq) in &log {
        let expected = next.entry(sender).or_insert(0);
        ensure(
            seq == *expected,
            &format!("sender {sender}'s record {expected} next"),
            || format!("its record {seq}"),
        )?;
        *expected += 1;
    }
    probe.stop();
    Ok(vec![Figure::count("records", 4_000, "")])
}

/// Backpressure: with a mailbox of 4 and the actor busy for 300 ms, a sender telling 50
/// messages gets no further than the mailbox holds until the actor takes some; then all 50
/// are handled.
pub fn tell_waits_while_the_mailbox_is_full<T: ActorSpec>(imp: &T) -> CheckResult {
    const CAPACITY: usize = 4;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(CAPACITY), &tally)?;
    let busy = Duration::from_millis(300);
    probe
        .tell(Msg::Sleep(busy))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let progress = AtomicU64::new(0);
    let (during, depth, result) = thread::scope(|s| {
        let sender = s.spawn(|| {
            for seq in 0..50 {
                probe.tell(Msg::Record { sender: 0, seq })?;
                progress.fetch_add(1, Ordering::SeqCst);
            }
            Ok::<_, Error>(())
        });
        thread::sleep(busy / 2);
        let during = progress.load(Ordering::SeqCst);
        let depth = probe.metrics().queue_depth;
        let result = sender
            .join()
            .unwrap_or(Err(Error::Other("the sender panicked".into())));
        (during, depth, result)
    });
    ensure(
        during <= CAPACITY as u64,
        &format!("at most {CAPACITY} tells through while the actor was busy"),
        || format!("{during}"),
    )?;
    ensure(
        depth <= CAPACITY,
        &format!("a queue depth of at most {CAPACITY}"),
        || format!("{depth}"),
    )?;
    ensure(result.is_ok(), "every tell Ok in the end", || {
        format!("{result:?}")
    })?;
    let log = log(&probe)?;
    ensure(log.len() == 50, "50 records handled", || {
        format!("{}", log.len())
    })?;
    probe.stop();
    Ok(vec![Figure::count("through while busy", during as i64, "")])
}

/// `try_tell` on a full mailbox is `Full` at once, and what it did accept is all handled.
pub fn try_tell_on_a_full_mailbox_is_full<T: ActorSpec>(imp: &T) -> CheckResult {
    const CAPACITY: usize = 2;
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(CAPACITY), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    let mut accepted = 0u64;
    let mut last = Ok(());
    for seq in 0..10 {
        let start = Instant::now();
        last = probe
            .try_tell(Msg::Record { sender: 0, seq })
            .map_err(Error::from);
        ensure(
            start.elapsed() < Duration::from_millis(100),
            "try_tell to return at once",
            || format!("it took {}", ms(start.elapsed())),
        )?;
        match &last {
            Ok(()) => accepted += 1,
            Err(_) => break,
        }
    }
    ensure(
        last == Err(Error::Full),
        "Err(Full) once the mailbox is full",
        || format!("{last:?} after {accepted} accepted"),
    )?;
    ensure(
        accepted <= CAPACITY as u64 + 1,
        &format!("at most {} accepted before Full", CAPACITY + 1),
        || format!("{accepted}"),
    )?;
    let log = log(&probe)?;
    ensure(
        log.len() as u64 == accepted,
        &format!("the {accepted} accepted records handled"),
        || format!("{}", log.len()),
    )?;
    probe.stop();
    Ok(vec![Figure::count("accepted", accepted as i64, "")])
}

/// A tell that does not go through hands its message back unchanged: `try_tell` on a full
/// mailbox with `Full`, and `tell` and `try_tell` after a stop with `Stopped`.
pub fn a_refused_tell_hands_the_message_back<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(1), &tally)?;
    probe
        .tell(Msg::Sleep(Duration::from_millis(200)))
        .map_err(|e| Failure::new("Ok from the first tell", format!("{e:?}")))?;
    // A mailbox of 1 behind a busy actor is full after at most two more.
    let mut refused = None;
    for seq in 0..5 {
        if let Err(back) = probe.try_tell(Msg::Record { sender: 7, seq }) {
            refused = Some((seq, back));
            break;
        }
    }
    let Some((seq, back)) = refused else {
        return Err(Failure::new(
            "Err(Full) within 5 try_tells on a mailbox of 1",
            "5 accepted".to_owned(),
        ));
    };
    let full = Refused {
        error: Error::Full,
        msg: Msg::Record { sender: 7, seq },
    };
    ensure(
        back == full,
        &format!("{full:?} from the refused try_tell"),
        || format!("{back:?}"),
    )?;
    probe.stop();
    let exit = probe.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped),
        "the supervisor told Stopped",
        || format!("{exit:?}"),
    )?;
    let told = probe.tell(Msg::Record { sender: 8, seq: 1 });
    let tried = probe.try_tell(Msg::Record { sender: 9, seq: 2 });
    let stopped = |sender, seq| {
        Err(Refused {
            error: Error::Stopped,
            msg: Msg::Record { sender, seq },
        })
    };
    ensure(
        told == stopped(8, 1) && tried == stopped(9, 2),
        "Stopped with each message back from a tell and a try_tell after the stop",
        || format!("{told:?} and {tried:?}"),
    )?;
    Ok(Vec::new())
}

/// An ask whose handler takes 500 ms, with a limit of 100 ms, is `Timeout` after about 100 ms;
/// the actor goes on answering.
pub fn ask_times_out_and_the_actor_goes_on<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let limit = Duration::from_millis(100);
    let start = Instant::now();
    let result = probe.ask(Msg::Sleep(Duration::from_millis(500)), limit);
    let took = start.elapsed();
    ensure(result == Err(Error::Timeout), "Err(Timeout)", || {
        format!("{result:?} after {}", ms(took))
    })?;
    ensure(
        took >= limit && took <= limit + LATE,
        "Timeout between 100 and 350 ms",
        || format!("it after {}", ms(took)),
    )?;
    let log = log(&probe)?;
    ensure(log.is_empty(), "an empty log from a later ask", || {
        format!("{log:?}")
    })?;
    probe.stop();
    Ok(vec![Figure::millis("late by", took - limit)])
}

/// A handler that asks its own actor gets the typed `AskSelf` error at once, not a deadlock
/// (nor a timeout).
pub fn ask_of_self_is_an_error_not_a_deadlock<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(8), &tally)?;
    let start = Instant::now();
    let result = probe.ask(Msg::AskSelf, Duration::from_secs(5));
    let took = start.elapsed();
    ensure(
        result == Ok(Reply::SelfAsk(Err(Error::AskSelf))),
        "Ok(SelfAsk(Err(AskSelf)))",
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took < Duration::from_millis(500),
        "the answer within 500 ms",
        || format!("it after {}", ms(took)),
    )?;
    probe.stop();
    Ok(vec![Figure::millis("answered after", took)])
}
