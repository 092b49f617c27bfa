//! The shared ticker suite, run against the async implementation on both runtime flavours.

bothways_spec::ticker_suite!(async: bothways_ticker_async::conformance::Conformance::new);
