//! The shared ticker suite, run against the threads implementation.

bothways_spec::ticker_suite!(threads: bothways_ticker_threads::conformance::Conformance::new);
