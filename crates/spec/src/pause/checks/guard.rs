//! The pause checks on what a held guard means: no progress, a long item waited out, no item
//! split, two pausers.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::check::{CheckResult, Failure, Figure, ensure};
use crate::pause::fixtures::{Flood, finish, ids_in_order, ms, paused, start, wait_until};
use crate::pause::{ANSWER_WITHIN, Item, LATE, Log, PauseSpec, PauseWorker};

/// How long a "no progress" window is held open in the checks.
pub const WINDOW: Duration = Duration::from_millis(30);

/// How many of `events` fall strictly inside one of `windows`.
fn inside(events: &[Instant], windows: &[(Instant, Instant)]) -> usize {
    events
        .iter()
        .filter(|&&e| windows.iter().any(|&(from, to)| from < e && e < to))
        .count()
}

/// Check 1: With a producer flooding items, the worker records no side effect between `pause()`
/// returning and the guard being dropped (twenty 30 ms windows), and goes on after each resume.
pub fn no_progress_while_paused<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 100),
        "100 items done before the first pause",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let mut windows = Vec::new();
    for _ in 0..20 {
        let guard = paused("pause()", worker.pause())?;
        let from = Instant::now();
        thread::sleep(WINDOW);
        let to = Instant::now();
        drop(guard);
        windows.push((from, to));
        thread::sleep(Duration::from_millis(5));
    }
    let resumed = log.ended().count();
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() > resumed + 100),
        "100 more items done after the last resume",
        || format!("{} more in 2 s", log.ended().count() - resumed),
    )?;
    let sent = flood.stop()?;
    finish(&worker)?;
    let during = inside(&log.begun().events(), &windows) + inside(&log.ended().events(), &windows);
    ensure(
        during == 0,
        "no side effect inside any of the 20 pause windows",
        || format!("{during} side effects inside them"),
    )?;
    ids_in_order(&log, sent)?;
    Ok(vec![
        Figure::count("paused", 20, "× 30 ms"),
        Figure::count("items", i64::try_from(sent).unwrap_or(i64::MAX), ""),
    ])
}

/// Check 2: A pause asked while a 200 ms item is in progress waits it out: `pause()` returns
/// only after the item has ended, never in the middle of it.
pub fn long_item_is_waited_out<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 4, &log)?;
    let work = Duration::from_millis(200);
    worker
        .send(Item::slow(0, work))
        .map_err(|e| Failure::new("the item to be sent", format!("{e:?}")))?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.begun().count() == 1),
        "the 200 ms item to begin",
        || "it not begun after 2 s",
    )?;
    let asked = Instant::now();
    let guard = paused("pause()", worker.pause())?;
    let got = Instant::now();
    let waited = got - asked;
    let ended = log.ended().last();
    ensure(
        ended.is_some_and(|e| e <= got),
        "the item to end before pause() returned",
        || {
            format!(
                "pause() returned after {} with the item still going",
                ms(waited)
            )
        },
    )?;
    ensure(
        waited <= work + LATE,
        &format!("pause() within {} of being asked", ms(work + LATE)),
        || format!("it after {}", ms(waited)),
    )?;
    drop(guard);
    finish(&worker)?;
    Ok(vec![Figure::millis("waited", waited)])
}

/// Check 3: An item in progress when a pause is asked completes first: under a flood of 2 ms
/// items and fifty pauses, no pause window falls between an item's begin and its end.
pub fn no_item_is_split<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 16, &log)?;
    let flood = Flood::start(&worker, |id| Item::slow(id, Duration::from_millis(2)));
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 5),
        "5 items done before the first pause",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let mut windows = Vec::new();
    for i in 0..50u64 {
        let guard = paused("pause()", worker.pause())?;
        let from = Instant::now();
        thread::sleep(Duration::from_millis(3));
        let to = Instant::now();
        drop(guard);
        windows.push((from, to));
        // Vary the moment the next pause is asked, so it lands at different points of an item.
        thread::sleep(Duration::from_micros(1_000 + 370 * (i % 7)));
    }
    let sent = flood.stop()?;
    finish(&worker)?;
    let (begun, ended) = (log.begun().events(), log.ended().events());
    let split = begun
        .iter()
        .zip(&ended)
        .filter(|&(&b, &e)| windows.iter().any(|&(from, to)| b < to && from < e))
        .count();
    ensure(
        begun.len() == ended.len(),
        "every item that began to end",
        || format!("{} began, {} ended", begun.len(), ended.len()),
    )?;
    ensure(
        split == 0,
        "no item running during any of the 50 pause windows",
        || format!("{split} items split by a pause"),
    )?;
    ids_in_order(&log, sent)?;
    Ok(vec![Figure::count(
        "items",
        i64::try_from(sent).unwrap_or(i64::MAX),
        "",
    )])
}

/// Check 8: Two callers pause at once, from two threads: the worker stays parked until both
/// guards are gone, and goes on after.
pub fn two_pausers_both_hold_it<T: PauseSpec>(imp: &T) -> CheckResult {
    let log = Log::new();
    let worker = start(imp, 64, &log)?;
    let flood = Flood::start(&worker, Item::quick);
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() >= 100),
        "100 items done before the pauses",
        || format!("{} in 2 s", log.ended().count()),
    )?;
    let barrier = std::sync::Barrier::new(2);
    let (held_tx, held_rx) = mpsc::channel();
    let (dropped_tx, dropped_rx) = mpsc::channel();
    let (release_a, a_rx) = mpsc::channel::<()>();
    let (release_b, b_rx) = mpsc::channel::<()>();
    let window = thread::scope(|s| -> Result<(Instant, Instant), Failure> {
        for (name, release) in [("a", a_rx), ("b", b_rx)] {
            let (worker, barrier) = (&worker, &barrier);
            let (held_tx, dropped_tx) = (held_tx.clone(), dropped_tx.clone());
            s.spawn(move || {
                barrier.wait();
                let guard = worker.pause();
                let _ = held_tx.send((name, guard.as_ref().map(|_| ()).map_err(Clone::clone)));
                // Held until the check says so; a closed channel (a failed check) also releases.
                let _ = release.recv();
                drop(guard);
                let _ = dropped_tx.send(name);
            });
        }
        let release = |tx: &mpsc::Sender<()>| {
            let _ = tx.send(());
        };
        for _ in 0..2 {
            let answer = held_rx.recv_timeout(ANSWER_WITHIN);
            let ok = matches!(answer, Ok((_, Ok(()))));
            if !ok {
                release(&release_a);
                release(&release_b);
            }
            ensure(ok, "Ok(guard) from both pausers within 2 s", || {
                format!("{answer:?}")
            })?;
        }
        let both = Instant::now();
        release(&release_a);
        let _ = dropped_rx.recv_timeout(ANSWER_WITHIN);
        thread::sleep(Duration::from_millis(100));
        let to = Instant::now();
        release(&release_b);
        Ok((both, to))
    })?;
    let during =
        inside(&log.begun().events(), &[window]) + inside(&log.ended().events(), &[window]);
    let resumed = log.ended().count();
    ensure(
        during == 0,
        "no side effect while either guard was held",
        || format!("{during} after the first guard was dropped"),
    )?;
    ensure(
        wait_until(ANSWER_WITHIN, || log.ended().count() > resumed + 100),
        "100 more items done once both guards were gone",
        || format!("{} more in 2 s", log.ended().count() - resumed),
    )?;
    let sent = flood.stop()?;
    finish(&worker)?;
    ids_in_order(&log, sent)?;
    Ok(Vec::new())
}
