//! Pause *any* running code from the outside — which threads cannot do, and why.
//!
//! The async crate has a `Pausable` wrapper here: a future makes progress only inside `poll`,
//! so whoever polls it can stop, and a wrapper can pause any future or stream without its help.
//! A thread has no such outside. Once started it runs until it returns or blocks, and the only
//! ways to stop it from elsewhere are signals or debugger-style suspension — unsafe, and free
//! to stop it holding a lock or halfway through a side effect. So the threads crate has no
//! `Pausable`: code that must be pausable is written as a loop with a safe point, and asked,
//! as [`Worker`](crate::Worker) is — its `gate.safe_point()` between two items is where the
//! thread parks itself and acknowledges.
//!
//! This module is empty on purpose, so that the two crates line up file for file and the
//! missing counterpart is itself the lesson.
