//! How a journal is tuned: its durability policy, flush tick, queue bounds and segment size —
//! one type for both styles, which re-export it (`bothways_journal_async::Options`,
//! `bothways_journal_threads::Options`), since tuning a journal means the same in both.

use std::time::Duration;

/// When appended events reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Written to the OS on each flush, never fsynced: survives a crash of the process, not of
    /// the machine.
    None,
    /// Fsynced at each flush (the periodic tick, the journal's `flush`, close).
    #[default]
    Flush,
    /// Fsynced before `append` returns. Appenders waiting at the same moment share one fsync
    /// (group commit): the writer fsyncs once its input is empty.
    Append,
}

/// A journal's settings.
///
/// ```
/// use bothways_journal_format::{Durability, Options};
/// let options = Options { durability: Durability::Append, ..Options::default() };
/// assert_eq!(options.subscriber_queue, 4096);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// When events reach the disk.
    pub durability: Durability,
    /// How often buffered events are flushed.
    pub flush_every: Duration,
    /// How many live events a subscriber may have waiting before it is disconnected with
    /// `Lagged`: what bounds a slow subscriber's memory.
    pub subscriber_queue: usize,
    /// How many appends may wait for the writer before `append` waits.
    pub input_queue: usize,
    /// How large a segment file grows before the next one starts: what a crash's recovery
    /// reads at most, and the step by which a prune frees space. At least [`MIN_SEGMENT`].
    pub segment_size: u64,
}

/// The smallest segment size accepted: a segment holds at least a few records.
pub const MIN_SEGMENT: u64 = 4 << 10;

impl Default for Options {
    fn default() -> Self {
        Options {
            durability: Durability::Flush,
            flush_every: Duration::from_millis(10),
            subscriber_queue: 4096,
            input_queue: 4096,
            segment_size: crate::SEGMENT_SIZE,
        }
    }
}

impl Options {
    /// The options, or an error of kind `InvalidInput` saying which one is out of range (the
    /// journals return it as their `Error::Io`).
    ///
    /// ```
    /// use bothways_journal_format::Options;
    /// let tiny = Options { segment_size: 100, ..Options::default() };
    /// assert_eq!(tiny.checked().unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// assert!(Options::default().checked().is_ok());
    /// ```
    pub fn checked(self) -> Result<Options, std::io::Error> {
        if self.segment_size < MIN_SEGMENT {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "a segment size of {} bytes, under the minimum of {MIN_SEGMENT}",
                    self.segment_size
                ),
            ));
        }
        Ok(self)
    }
}
