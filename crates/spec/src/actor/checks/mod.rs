//! The actor checks, one file per theme. The order the suite runs them in is the list in
//! `__actor_checks!`.

pub(super) mod messages;
pub(super) mod refs;
pub(super) mod spawning;
pub(super) mod stopping;
pub(super) mod supervision;
