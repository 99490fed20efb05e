//! The live tiler: detections go straight into in-memory tiles at every level as they happen
//! (no database round trip), so the tile covering "now" is always current. Tiles that have
//! settled are handed out to be persisted (OR-ed into the store) and dropped from memory.
//!
//! Per camera and level only the tiles near "now" are kept (normally one, two across a tile
//! boundary), so a detection costs 21 small lookups and bit sets: ~2.5 M tracks/s on one
//! core (BENCHMARKS.md).

use super::bitmap::Tile;
use super::geometry::{L_MAX, TileKey};
use std::collections::HashMap;

const LEVELS: usize = L_MAX as usize + 1;

#[derive(Default)]
struct CameraTiles {
    /// Per level, the live tiles by index (a handful at most).
    levels: [Vec<(i64, Tile)>; LEVELS],
}

/// In-memory tiles of every level for the recent past, per camera id.
#[derive(Default)]
pub struct LiveTiler {
    cameras: HashMap<u32, CameraTiles>,
}

impl std::fmt::Debug for LiveTiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTiler").field("cameras", &self.cameras.len()).finish()
    }
}

impl LiveTiler {
    pub fn new() -> Self {
        Self::default()
    }

    /// An object of `class` seen over `[first_s, last_s]` on `camera`: mark every level.
    pub fn observe(&mut self, camera: u32, class: u32, first_s: i64, last_s: i64) {
        let cam = self.cameras.entry(camera).or_default();
        for (level, tiles) in cam.levels.iter_mut().enumerate() {
            let level = level as u8;
            for index in TileKey::span(level, first_s, last_s) {
                let key = TileKey { level, index };
                let slot = match tiles.iter().position(|(i, _)| *i == index) {
                    Some(p) => p,
                    None => {
                        tiles.push((index, Tile::new()));
                        tiles.len() - 1
                    }
                };
                tiles[slot].1.mark(key, class, first_s, last_s);
            }
        }
    }

    /// The live version of a tile, if any detection touched it.
    pub fn snapshot(&self, camera: u32, key: TileKey) -> Option<&Tile> {
        let tiles = &self.cameras.get(&camera)?.levels[usize::from(key.level)];
        tiles.iter().find(|(i, _)| *i == key.index).map(|(_, t)| t)
    }

    /// Remove and return every tile that ended by `settled_until_s` (to persist: OR into the
    /// store), finest level first so parents are written after their children.
    pub fn take_settled(&mut self, settled_until_s: i64) -> Vec<(u32, TileKey, Tile)> {
        let mut out = Vec::new();
        for (&camera, cam) in &mut self.cameras {
            for (level, tiles) in cam.levels.iter_mut().enumerate() {
                let level = level as u8;
                let mut i = 0;
                while i < tiles.len() {
                    let key = TileKey { level, index: tiles[i].0 };
                    if key.end_s() <= settled_until_s {
                        let (_, tile) = tiles.swap_remove(i);
                        out.push((camera, key, tile));
                    } else {
                        i += 1;
                    }
                }
            }
        }
        out.sort_by_key(|(c, k, _)| (k.level, *c, k.index));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_tiles_match_direct_marks_and_settle() {
        let mut live = LiveTiler::new();
        live.observe(1, 7, 1_700_000_000, 1_700_000_100);
        live.observe(1, 8, 1_700_000_050, 1_700_000_050);
        for level in 0..=L_MAX {
            let key = TileKey::containing(level, 1_700_000_000);
            let mut expect = Tile::new();
            expect.mark(key, 7, 1_700_000_000, 1_700_000_100);
            expect.mark(key, 8, 1_700_000_050, 1_700_000_050);
            let mut got = live.snapshot(1, key).cloned().unwrap_or_default();
            // A span crossing a tile boundary also lives in the next tile.
            if let Some(next) = live.snapshot(1, TileKey { level, index: key.index + 1 }) {
                assert!(!next.is_empty());
                got.or_assign(&Tile::new());
            }
            assert_eq!(got, expect, "level {level}");
        }
        let key0 = TileKey::containing(0, 1_700_000_000);
        let settled = live.take_settled(key0.end_s());
        assert!(settled.iter().all(|(_, k, _)| k.end_s() <= key0.end_s()));
        assert!(settled.iter().any(|(_, k, _)| *k == key0));
        assert!(live.snapshot(1, key0).is_none());
        assert!(live.snapshot(1, TileKey::containing(20, 1_700_000_000)).is_some());
    }
}
