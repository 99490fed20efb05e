//! Mip-mapped event tiles: one 1024-bit line per class, level 0 = 1 s per bit, each level
//! doubling. See `README.md` beside this file.
//!
//! Tiles own the tile tables and their SQL ([`store`]) and reach events only through the
//! narrow [`EventSource`] trait; inserting events and keeping tiles current together is the
//! job of [`crate::db`], above both.
//!
//! - [`geometry`]: tile index / start / bit arithmetic (all i64 seconds).
//! - [`bitmap`]: [`Tile`], OR-merge of two children, rasterising an object's interval.
//! - [`codec`]: cyclops' v1 blob with the on/off line codec; ours adds a CRC-32.
//! - [`store`]: the `tile` and `tile_state` tables (blobs, per-camera watermark).
//! - [`marks`]: a batch of events marked into tiles of every level, in memory.
//! - [`upkeep`]: building settled tiles, OR-ing new events in, rebuilding.
//! - [`service`]: get-or-synthesize for requests.

pub mod bitmap;
pub mod codec;
pub mod geometry;
pub mod marks;
pub mod service;
pub mod store;
pub mod upkeep;

pub use bitmap::{Line, Tile};
pub use geometry::{L_MAX, TILE_BITS, TileKey};
pub use marks::TileMarks;
pub use service::{TileService, TileStats};
pub use store::TileStore;

use crate::sqlite::DbError;

/// An event reduced to what tiles need: class id and visible interval in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub class: u32,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// What tiles need to know about events: spans in a range, all spans of a camera, and the
/// camera's first and last event time (the range worth synthesizing).
pub trait EventSource {
    /// Spans of `camera` overlapping `[from_ms, to_ms]`.
    fn spans(&self, camera: u32, from_ms: i64, to_ms: i64) -> Result<Vec<Span>, DbError>;
    /// Every span of `camera`, streamed (rebuilds; memory stays bounded).
    fn for_each_span(&self, camera: u32, f: &mut dyn FnMut(Span) -> Result<(), DbError>) -> Result<(), DbError>;
    /// First and last ms of the camera's events.
    fn bounds(&self, camera: u32) -> Result<Option<(i64, i64)>, DbError>;
}
