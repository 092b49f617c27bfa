//! The actor checks on what a reference shows: metrics, equality and hashing, display.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use crate::actor::fixtures::{log, ms, spawn, wait_until};
use crate::actor::{ActorSpec, Config, Exit, Msg, ProbeRef, Tally};
use crate::check::{CheckResult, Failure, Figure, ensure};

/// While the actor is busy, metrics read from outside show exactly what was sent and not yet
/// handled; afterwards, exactly what was handled, and the handler time of the slow message.
pub fn metrics_count_exactly_what_was_sent_and_handled<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let probe = spawn(imp, Config::new(128), &tally)?;
    let busy = Duration::from_millis(200);
    let first = probe.tell(Msg::Sleep(busy));
    ensure(first.is_ok(), "Ok from the first tell", || {
        format!("{first:?}")
    })?;
    // Once the actor has taken the slow message, the mailbox holds exactly what follows.
    let taken = wait_until(Duration::from_secs(2), || probe.metrics().queue_depth == 0);
    ensure(taken, "the actor to take the first message", || {
        format!("{:?}", probe.metrics())
    })?;
    let sent = (0..100).try_for_each(|seq| probe.tell(Msg::Record { sender: 0, seq }));
    ensure(sent.is_ok(), "every tell Ok", || format!("{sent:?}"))?;
    let during = probe.metrics();
    ensure(
        during.received == 101 && during.handled == 0 && during.queue_depth == 100,
        "received 101, handled 0, queued 100 while the first is handled",
        || format!("{during:?}"),
    )?;
    let _ = log(&probe)?;
    let after = probe.metrics();
    ensure(
        after.received == 102 && after.handled == 102 && after.queue_depth == 0,
        "received 102, handled 102, queued 0 after an ask",
        || format!("{after:?}"),
    )?;
    ensure(
        after.handler_time >= busy,
        "a handler time of at least 200 ms",
        || ms(after.handler_time),
    )?;
    probe.stop();
    Ok(vec![Figure::millis("handler time", after.handler_time)])
}

fn hash_of<H: Hash>(value: &H) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// References are equal, and hash alike, exactly when they reach the same actor: a clone equals
/// its original, before and after the actor stops, with the same hash; another actor's does not;
/// a set of the three holds two.
pub fn refs_are_equal_and_hash_alike_by_actor<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let one = spawn(imp, Config::new(8), &tally)?;
    let other = spawn(imp, Config::new(8), &tally)?;
    let clone = one.clone();
    ensure(
        clone == one && hash_of(&clone) == hash_of(&one),
        "a clone equal to its original, with the same hash",
        || {
            format!(
                "equal: {}, hashes {:x} and {:x}",
                clone == one,
                hash_of(&clone),
                hash_of(&one)
            )
        },
    )?;
    ensure(one != other, "two actors' references unequal", || {
        format!("{one} equal to {other}")
    })?;
    let set: HashSet<T::Ref> = [one.clone(), clone.clone(), other.clone()].into();
    ensure(set.len() == 2, "a set of the three holding two", || {
        format!("{} references", set.len())
    })?;
    one.stop();
    let exit = one.exit(Duration::from_secs(5));
    ensure(
        exit == Some(Exit::Stopped) && clone == one && set.contains(&clone),
        "a clone still equal to its original, and found in the set, once the actor stopped",
        || {
            format!(
                "{exit:?}, equal: {}, found: {}",
                clone == one,
                set.contains(&clone)
            )
        },
    )?;
    other.stop();
    Ok(Vec::new())
}

/// `Display` names the actor — its id, and no two actors alike — and shows nothing that changes
/// as it runs: the same text before and after it has handled messages.
pub fn display_names_the_actor_not_its_figures<T: ActorSpec>(imp: &T) -> CheckResult {
    let tally = Tally::new();
    let one = spawn(imp, Config::new(8), &tally)?;
    let other = spawn(imp, Config::new(8), &tally)?;
    let before = one.to_string();
    ensure(
        before.contains(&one.id().to_string()),
        &format!("the text naming actor {}", one.id()),
        || format!("{before:?}"),
    )?;
    ensure(
        before != other.to_string(),
        "two actors shown apart",
        || format!("both {before:?}"),
    )?;
    for seq in 0..3 {
        one.tell(Msg::Record { sender: 0, seq })
            .map_err(|e| Failure::new("every tell Ok", format!("{e:?}")))?;
    }
    let _ = log(&one)?;
    let after = one.to_string();
    ensure(
        after == before,
        "the same text after 4 messages were handled",
        || format!("{before:?}, then {after:?}"),
    )?;
    one.stop();
    other.stop();
    Ok(Vec::new())
}
