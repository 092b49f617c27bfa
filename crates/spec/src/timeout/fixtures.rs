//! What the timeout checks share: a duration in milliseconds as text, the fixture's I/O errors
//! as failures, and the check that a result is `Elapsed`, on time.

use std::time::{Duration, Instant};

use crate::check::{Failure, ensure};
use crate::timeout::{Error, LATE};

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn fixture<T>(what: &str, r: std::io::Result<T>) -> Result<T, Failure> {
    r.map_err(|e| Failure::new(format!("the fixture to {what}"), format!("I/O error {e}")))
}

/// Checks that `result` is `Elapsed` and that it came no earlier than `limit` and no later
/// than `limit + LATE` after `start`; returns how long it took.
pub(crate) fn expect_elapsed<V: std::fmt::Debug>(
    what: &str,
    result: Result<V, Error>,
    start: Instant,
    limit: Duration,
) -> Result<Duration, Failure> {
    let took = start.elapsed();
    ensure(
        matches!(result, Err(Error::Elapsed)),
        &format!("{what} to end in Elapsed"),
        || format!("{result:?} after {}", ms(took)),
    )?;
    ensure(
        took >= limit,
        &format!("Elapsed no earlier than {}", ms(limit)),
        || format!("Elapsed after {}", ms(took)),
    )?;
    ensure(
        took <= limit + LATE,
        &format!("Elapsed no later than {}", ms(limit + LATE)),
        || format!("Elapsed after {}", ms(took)),
    )?;
    Ok(took)
}
