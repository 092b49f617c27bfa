//! The shared timeout suite, run against the async implementation on both runtime flavours.

bothways_spec::timeout_suite!(async: bothways_timeout_async::conformance::Conformance::new);
