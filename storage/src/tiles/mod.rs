//! Mip-mapped event tiles: one 1024-bit line per class, level 0 = 1 s per bit, each level
//! doubling. See `README.md` beside this file.
//!
//! - [`geometry`]: tile index / start / bit arithmetic (all i64 seconds).
//! - [`bitmap`]: [`Tile`], OR-merge of two children, rasterising an object's interval.
//! - [`codec`]: cyclops' v1 blob with the on/off line codec (our storage codec too).
//! - [`service`]: get-or-synthesize, incremental ingest, rebuild, persistence rules.
//! - [`live`]: the live tiler fed in memory as detections happen.

pub mod bitmap;
pub mod codec;
pub mod geometry;
pub mod live;
pub mod service;

pub use bitmap::{Line, Tile};
pub use geometry::{L_MAX, TILE_BITS, TileKey};
pub use live::LiveTiler;
pub use service::{TileService, TileStats};

#[cfg(test)]
mod rules_tests;
