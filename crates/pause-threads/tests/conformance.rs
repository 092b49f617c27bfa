//! The shared pause suite, run against the threads implementation.

bothways_spec::pause_suite!(threads: bothways_pause_threads::conformance::Conformance::new);
