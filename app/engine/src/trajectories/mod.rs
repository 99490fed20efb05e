//! Flight trajectories over sky-facing cameras. The trajectories themselves are read by
//! `tessera_storage::feder` (the feder store and its sidecar index); here they meet a camera:
//!
//! - [`projection`]: the camera file, aircraft positions at an instant, and their projection
//!   into the picture (the geometry `tessera traj project` is the contract of).
//! - [`feed`]: the `sky-query` thread — feder queries in cached time buckets for the player's
//!   aircraft overlay.

pub mod feed;
pub mod projection;
