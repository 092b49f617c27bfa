//! The shared journal suite, run against the async implementation on both runtime flavours.

bothways_spec::journal_suite!(async: |flavour| bothways_journal_async::conformance::Conformance::new(flavour)
    .map(|c| c.with_crash_child()));
