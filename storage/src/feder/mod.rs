//! Flight trajectories in a feder store (feder 1.x day files), read-only.
//!
//! - [`store`]: where day files are and how they open (read-only; immutable once settled).
//! - [`points`]: the `points` blob (version byte + LZ4 frame of 45-byte records).
//! - [`query`]: a flight query and its exact predicates (the definition of a match).
//! - [`engine`]: running a query over day files on worker threads.
//! - [`sidecar`]: Tessera's derived space-time index beside (never inside) the store.
//! - [`writer`] and [`synth`]: feder-format files for fixtures, the demo and benchmarks.

pub mod engine;
pub mod points;
pub mod query;
pub mod sidecar;
pub mod store;
pub mod synth;
pub mod writer;

#[cfg(test)]
mod tests;

pub use engine::{Connections, QueryOutput, RunOptions, Trajectory, run};
pub use points::{MISSING, Point};
pub use query::{Bounds, Query, QueryError, SpaceOp, TextMatch, TimeOp};
pub use sidecar::Sidecar;
pub use store::{FederError, FederStore};
