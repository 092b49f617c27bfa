//! The shared pause suite, run against the async implementation on both runtime flavours.

bothways_spec::pause_suite!(async: bothways_pause_async::conformance::Conformance::new);
