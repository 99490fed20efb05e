//! A batch of events marked into tiles of every level, in memory, then OR-ed into the store
//! once per batch (a tile touched by 10,000 events is read and written once, not 10,000 times).
//!
//! Marking is what the format's merge rule implies: the level-L tile of an event
//! `[first, last]` has bits `bit_of(first) ..= bit_of(last)` — exactly the OR-merge of its
//! children's marks — so marking every level equals rasterising level 0 and merging upward.
//! An event costs one mark per level for short events and at most ~190 for the longest
//! allowed (24 h; [`crate::events::MAX_EVENT_MS`]). The tiles most recently touched per
//! level are remembered, so time-ordered input rarely reaches the hash map.

use super::bitmap::Tile;
use super::geometry::{L_MAX, TileKey};
use rustc_hash::FxHashMap;

const LEVELS: usize = L_MAX as usize + 1;

/// Marked tiles of one batch, per camera.
#[derive(Default)]
pub struct TileMarks {
    tiles: Vec<(u32, TileKey, Tile)>,
    slots: FxHashMap<(u32, TileKey), usize>,
    /// Per level, the (camera, index, slot) last marked.
    recent: [Option<(u32, i64, usize)>; LEVELS],
}

impl std::fmt::Debug for TileMarks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileMarks").field("tiles", &self.tiles.len()).finish()
    }
}

impl TileMarks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Tiles held (callers flush past a bound to keep memory bounded).
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// An object of `class` seen over `[first_s, last_s]` on `camera`: mark the tiles of every
    /// level that end by `until_s` (later ones are built or synthesized from the rows).
    pub fn mark(&mut self, camera: u32, class: u32, first_s: i64, last_s: i64, until_s: i64) {
        for level in 0..=L_MAX {
            for index in TileKey::span(level, first_s, last_s) {
                let key = TileKey { level, index };
                if key.end_s() > until_s {
                    break;
                }
                let slot = self.slot(camera, key);
                self.tiles[slot].2.mark(key, class, first_s, last_s);
            }
        }
    }

    fn slot(&mut self, camera: u32, key: TileKey) -> usize {
        let level = usize::from(key.level);
        if let Some((c, i, slot)) = self.recent[level]
            && c == camera
            && i == key.index
        {
            return slot;
        }
        let next = self.tiles.len();
        let slot = *self.slots.entry((camera, key)).or_insert(next);
        if slot == next {
            self.tiles.push((camera, key, Tile::new()));
        }
        self.recent[level] = Some((camera, key.index, slot));
        slot
    }

    /// Take every marked tile, by camera, level and index.
    pub fn take(&mut self) -> Vec<(u32, TileKey, Tile)> {
        self.slots.clear();
        self.recent = [None; LEVELS];
        let mut tiles = std::mem::take(&mut self.tiles);
        tiles.sort_unstable_by_key(|(c, k, _)| (*c, *k));
        tiles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_equal_direct_marks_at_every_level() {
        let mut marks = TileMarks::new();
        let (a, b) = (1_700_000_000, 1_700_003_000);
        marks.mark(1, 7, a, a + 100, i64::MAX);
        marks.mark(1, 8, a + 50, a + 50, i64::MAX);
        marks.mark(2, 7, b, b, i64::MAX);
        let tiles = marks.take();
        assert!(marks.is_empty());
        for level in 0..=L_MAX {
            let key = TileKey::containing(level, a);
            let mut expect = Tile::new();
            expect.mark(key, 7, a, a + 100);
            expect.mark(key, 8, a + 50, a + 50);
            let got = tiles.iter().find(|(c, k, _)| *c == 1 && *k == key).map(|t| t.2.clone());
            assert_eq!(got, Some(expect), "level {level}");
        }
        assert_eq!(tiles.iter().filter(|(c, _, _)| *c == 2).count(), usize::from(L_MAX) + 1);
    }

    #[test]
    fn only_tiles_ending_by_the_bound_are_marked() {
        let mut marks = TileMarks::new();
        let t = 1_700_000_000;
        let until = TileKey::containing(3, t).end_s();
        marks.mark(1, 1, t, t, until);
        let tiles = marks.take();
        assert!(tiles.iter().all(|(_, k, _)| k.end_s() <= until));
        assert!(tiles.iter().any(|(_, k, _)| k.level == 3));
    }
}
