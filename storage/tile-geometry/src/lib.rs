//! tessera-tile-geometry: the tile geometry both sides of the timeline are built on, defined
//! once — storage stores, synthesizes and serves tiles of [`TILE_BITS`] bits a line, and
//! render's atlas holds one tile a row of that many texels. A crate of its own (no
//! dependencies) because render does not depend on storage.

#![no_std]

/// Bits per tile line (columns of a tile); at level `l` one bit covers 2^l seconds.
pub const TILE_BITS: usize = 1024;

/// Highest level: one bit ≈ 12.1 days, one tile ≈ 34 years.
pub const L_MAX: i8 = 20;

/// Finest drawable level: 2^-10 s ≈ 1 ms a bit, so a 1-second view over 2000 px still puts
/// every detection within a column of where it happened. Levels below 0 are never stored;
/// they are rasterised from the event rows on request.
pub const L_FINE_MIN: i8 = -10;
