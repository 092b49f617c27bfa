//! The shared actor suite, run against the threads implementation.

bothways_spec::actor_suite!(threads: bothways_actor_threads::conformance::Conformance::new);
