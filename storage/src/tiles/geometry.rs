//! Tile geometry (format doc §3). All arithmetic in i64 seconds: cyclops' UI overflows a JS
//! 32-bit shift at levels 12–13; we never shift a time.

/// Bits per line (columns per tile), as an `i64` for time arithmetic.
pub const TILE_BITS: i64 = tessera_tile_geometry::TILE_BITS as i64;
/// Highest level: one bit ≈ 12.1 days, one tile ≈ 34 years.
pub const L_MAX: u8 = tessera_tile_geometry::L_MAX as u8;
/// Highest level cyclops writes.
pub const CYCLOPS_L_MAX: u8 = 13;

/// A tile of one camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileKey {
    pub level: u8,
    pub index: i64,
}

impl TileKey {
    /// The level-`level` tile holding second `unix_s`: `floor(unix_s/1024) >> level`.
    pub fn containing(level: u8, unix_s: i64) -> Self {
        Self { level, index: unix_s.div_euclid(TILE_BITS) >> level }
    }
    pub fn seconds_per_bit(self) -> i64 {
        1 << self.level
    }
    /// `(index << level) · 1024`.
    pub fn start_s(self) -> i64 {
        (self.index << self.level) * TILE_BITS
    }
    /// `start + (1024 << level)`, exclusive.
    pub fn end_s(self) -> i64 {
        self.start_s() + (TILE_BITS << self.level)
    }
    /// Bit of second `t`, clamped to the tile.
    pub fn bit_of(self, t_s: i64) -> usize {
        ((t_s - self.start_s()).div_euclid(self.seconds_per_bit())).clamp(0, TILE_BITS - 1) as usize
    }
    pub fn children(self) -> Option<(TileKey, TileKey)> {
        let level = self.level.checked_sub(1)?;
        Some((TileKey { level, index: 2 * self.index }, TileKey { level, index: 2 * self.index + 1 }))
    }
    pub fn parent(self) -> Option<TileKey> {
        (self.level < L_MAX).then(|| TileKey { level: self.level + 1, index: self.index >> 1 })
    }
    /// Tiles of this level overlapping `[first_s, last_s]` (inclusive seconds).
    pub fn span(level: u8, first_s: i64, last_s: i64) -> std::ops::RangeInclusive<i64> {
        Self::containing(level, first_s).index..=Self::containing(level, last_s).index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_matches_the_format() {
        let k = TileKey::containing(0, 1_700_000_000);
        assert_eq!(k.index, 1_700_000_000 / 1024);
        assert_eq!(k.end_s() - k.start_s(), 1024);
        let k13 = TileKey::containing(13, 1_700_000_000);
        assert_eq!(k13.end_s() - k13.start_s(), 1024 << 13);
        assert!(k13.start_s() <= 1_700_000_000 && 1_700_000_000 < k13.end_s());
        // Level 12/13 tile starts in ms do not overflow (cyclops' JS bug).
        assert!(k13.start_s() * 1000 > 0);
        let k20 = TileKey::containing(20, 1_700_000_000);
        assert_eq!(k20.seconds_per_bit(), 1 << 20);
        assert_eq!(TileKey::containing(0, -1).index, -1);
        assert_eq!(k.children(), None);
        assert_eq!(k13.children().map(|(l, _)| l.parent()), Some(Some(k13)));
    }
}
