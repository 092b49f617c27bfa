//! A side-effect recorder: an operation under test calls [`Recorder::record`] at each step, and
//! a check reads the timestamps afterwards to see whether it went on after it should have stopped.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

/// Timestamps of side effects, shared between an operation and the check that watches it.
///
/// Cloning shares the same record. A std `Mutex` suits both styles: it is held for one push
/// and never across an `.await`.
///
/// ```
/// use bothways_spec::recorder::Recorder;
/// let r = Recorder::new();
/// let start = std::time::Instant::now();
/// r.record();
/// r.clone().record();
/// assert_eq!(r.count(), 2);
/// assert_eq!(r.count_after(start), 2);
/// assert!(r.last().is_some());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Instant>>>,
}

impl Recorder {
    /// An empty record.
    pub fn new() -> Self {
        Recorder::default()
    }

    /// Records one side effect, now.
    pub fn record(&self) {
        let now = Instant::now();
        self.lock().push(now);
    }

    /// How many side effects were recorded.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    /// The time of the latest side effect.
    pub fn last(&self) -> Option<Instant> {
        self.lock().iter().copied().max()
    }

    /// How many side effects happened strictly after `t`.
    pub fn count_after(&self, t: Instant) -> usize {
        self.lock().iter().filter(|&&e| e > t).count()
    }

    /// All timestamps, in the order they were recorded.
    pub fn events(&self) -> Vec<Instant> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Instant>> {
        // A panic while holding the lock cannot leave a Vec<Instant> half-pushed in a way that
        // matters to a reader, so a poisoned lock is still a good record.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
