//! The shared actor suite, run against the async implementation on both runtime flavours.

bothways_spec::actor_suite!(async: bothways_actor_async::conformance::Conformance::new);
