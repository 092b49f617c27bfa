//! The shared journal suite, run against the threads implementation.

bothways_spec::journal_suite!(threads: || bothways_journal_threads::conformance::Conformance::new()
    .map(|c| c.with_crash_child()));
