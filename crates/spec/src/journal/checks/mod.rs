//! The journal checks, one file per theme. The order the suite runs them in is the list in
//! `__journal_checks!`, and the check numbers in their docs follow it.

pub(super) mod durability;
pub(super) mod format;
pub(super) mod replay;
pub(super) mod segments;
pub(super) mod tcp;
