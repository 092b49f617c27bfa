//! The one error enum of this crate: what opening, appending to or following a journal can
//! end in.

/// What opening, appending to or following a journal can end in.
///
/// ```
/// use bothways_journal_threads::{Error, Journal, Options};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("events"), b"not a journal, but long enough")?;
/// match Journal::open(dir.path().join("events"), Options::default()) {
///     Err(Error::Format(e)) => assert_eq!(e.offset(), 0),
///     other => panic!("expected a format error, got {other:?}"),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a valid journal: the error names the offset.
    #[error("invalid journal file: {0}")]
    Format(#[from] bothways_journal_format::Error),
    /// Reading or writing the file failed.
    #[error("journal I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// An earlier write or fsync failed; the journal accepts nothing more. (An append refused
    /// with it may or may not be found after a reopen, as after any failed write.)
    #[error("the journal's writer failed earlier: {message}")]
    Failed {
        /// What failed.
        message: String,
    },
    /// The subscriber fell behind its bounded queue and was disconnected; it may resubscribe
    /// from `last_seq + 1`.
    #[error("the subscriber fell behind and was disconnected after event {last_seq}")]
    Lagged {
        /// The last sequence number the subscriber received.
        last_seq: u64,
    },
    /// The events before `first` were pruned: a subscription cannot start at `from`.
    #[error("events before {first} were pruned; cannot replay from {from}")]
    Pruned {
        /// The sequence number asked for.
        from: u64,
        /// The first sequence number the file still holds.
        first: u64,
    },
    /// Every sequence number up to [`bothways_journal_format::MAX_SEQ`] is taken: nothing more
    /// can be appended (rather than wrap to 0 and break the order).
    #[error("no sequence number is left: {max} is the last one")]
    SequenceExhausted {
        /// The last sequence number there is.
        max: u64,
    },
    /// The journal was closed.
    #[error("the journal is closed")]
    Closed,
    /// The TCP server's listener failed in a way accepting again cannot mend — it is closed,
    /// not listening or not a socket (EBADF, EINVAL, ENOTSOCK…): [`crate::tcp::serve`] ends.
    #[error("the TCP listener failed: {source}")]
    Listener {
        /// The error `accept` returned.
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn failed(e: &impl std::fmt::Display) -> Self {
        Error::Failed {
            message: e.to_string(),
        }
    }
}
