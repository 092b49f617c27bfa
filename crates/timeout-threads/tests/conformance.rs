//! The shared timeout suite, run against the threads implementation.

bothways_spec::timeout_suite!(threads: bothways_timeout_threads::conformance::Conformance::new);
