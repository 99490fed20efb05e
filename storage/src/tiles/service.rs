//! Answering tile requests (`tiles get`, the GUI's tile feed): a persisted tile is loaded; one
//! past the watermark is synthesized — level 0 rasterised from the spans, level L by OR-merging
//! its children, so only the chain of tiles past the watermark recurses: O(levels) merges.
//! A request with `now` in the past sees only what was known then: no bit at or after `now`.
//!
//! Requests never write: settled tiles are persisted by ingest ([`super::upkeep`]), and what a
//! reader synthesizes is kept in a small in-memory cache, dropped whenever another connection
//! commits (`PRAGMA data_version`).

use super::bitmap::Tile;
use super::geometry::{TILE_BITS, TileKey};
use super::store::TileStore;
use super::upkeep::ms_to_s;
use super::{EventSource, Span};
use crate::sqlite::DbError;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Finest drawable level (rasterised on request, never stored): 2^-10 s per bit.
pub use tessera_tile_geometry::L_FINE_MIN;

/// Synthesized tiles a service keeps (a few MB).
const CACHE_TILES: usize = 8192;

/// Rasterise spans into tile `key` (format doc §3; ms → s by floor).
fn rasterize(key: TileKey, spans: &[Span]) -> Tile {
    let mut tile = Tile::new();
    for s in spans {
        tile.mark(key, s.class, ms_to_s(s.first_ms), ms_to_s(s.last_ms));
    }
    tile
}

/// Answers tile requests (`tiles get`, the GUI's tile feed).
pub struct TileService<'a, E: EventSource> {
    store: TileStore<'a>,
    events: E,
    /// Synthesized complete tiles by (camera, key), valid while `cache_version` holds.
    cache: RefCell<HashMap<(u32, TileKey), Tile>>,
    cache_version: Cell<Option<(i64, u64)>>,
}

impl<E: EventSource> std::fmt::Debug for TileService<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TileService").field("store", &self.store).finish()
    }
}

/// Counters for one request (tests and benchmarks check the O(levels) rule with them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TileStats {
    pub loads: u32,
    pub merges: u32,
    pub rasterized: u32,
}

struct CameraView {
    id: u32,
    built: Option<i64>,
    events_s: (i64, i64),
}

impl<'a, E: EventSource> TileService<'a, E> {
    pub fn new(store: TileStore<'a>, events: E) -> Self {
        Self { store, events, cache: RefCell::new(HashMap::new()), cache_version: Cell::new(None) }
    }

    /// Drop the cache when another connection has committed since it was filled.
    fn check_cache(&self) -> Result<(), DbError> {
        let version = self.store.file().change_marker()?;
        if self.cache_version.get() != Some(version) {
            self.cache.borrow_mut().clear();
            self.cache_version.set(Some(version));
        }
        Ok(())
    }

    /// A tile at any drawable level: 0..=20 as [`TileService::get`]; below 0 (down to
    /// [`L_FINE_MIN`], ≈ 1 ms per bit) rasterised from the event rows with millisecond
    /// precision — never stored, so zooming past one second per pixel still places a
    /// 5-ms detection in the right column. Returns the tile and whether it ended by `now_s`.
    pub fn get_any(&self, camera: Option<u32>, level: i8, index: i64, now_s: i64) -> Result<(Tile, bool), DbError> {
        if let Ok(level) = u8::try_from(level) {
            let key = TileKey { level, index };
            return Ok((self.get(camera, key, now_s)?.0, key.end_s() <= now_s));
        }
        if level < L_FINE_MIN {
            return Err(self.store.file().invalid(format!("level {level} is below {L_FINE_MIN}")));
        }
        // Tiles below level 0 span 1000·2^(L+10) ms: a whole number of ms.
        let tile_ms = 1000i64 << (i32::from(level) + 10);
        let start_ms = index * tile_ms;
        let now_ms = now_s.saturating_mul(1000);
        let mut tile = Tile::new();
        if let Some(id) = camera {
            for s in self.events.spans(id, start_ms, start_ms + tile_ms - 1)? {
                let last = s.last_ms.min(now_ms - 1);
                if last < s.first_ms {
                    continue;
                }
                let bit = |t: i64| ((t - start_ms) * TILE_BITS).div_euclid(tile_ms).clamp(0, TILE_BITS - 1) as usize;
                tile.set_bits(s.class, bit(s.first_ms), bit(last));
            }
        }
        Ok((tile, start_ms + tile_ms <= now_ms))
    }

    /// Tile `key` of camera `camera` (an id; `None`: a camera without events) as known at
    /// `now_s`.
    pub fn get(&self, camera: Option<u32>, key: TileKey, now_s: i64) -> Result<(Tile, TileStats), DbError> {
        let mut stats = TileStats::default();
        let Some(id) = camera else { return Ok((Tile::new(), stats)) };
        let Some((first_ms, last_ms)) = self.events.bounds(id)? else { return Ok((Tile::new(), stats)) };
        self.check_cache()?;
        let view =
            CameraView { id, built: self.store.built_until(id)?, events_s: (ms_to_s(first_ms), ms_to_s(last_ms)) };
        let tile = self.get_in(&view, key, now_s, &mut stats)?;
        Ok((tile, stats))
    }

    fn get_in(&self, cam: &CameraView, key: TileKey, now_s: i64, stats: &mut TileStats) -> Result<Tile, DbError> {
        // Nothing is known at or after now.
        if key.start_s() >= now_s {
            return Ok(Tile::new());
        }
        let complete = key.end_s() <= now_s;
        if complete {
            stats.loads += 1;
            if let Some(tile) = self.store.load(cam.id, key)? {
                return Ok(tile);
            }
            if cam.built.is_some_and(|b| key.end_s() <= b) {
                return Ok(Tile::new());
            }
            if let Some(tile) = self.cache.borrow().get(&(cam.id, key)) {
                return Ok(tile.clone());
            }
        }
        // Outside the events' span there is nothing to synthesize from.
        if key.start_s() > cam.events_s.1 || key.end_s() <= cam.events_s.0 {
            return Ok(Tile::new());
        }
        let tile = match key.children() {
            None => {
                stats.rasterized += 1;
                let spans = self.events.spans(cam.id, key.start_s() * 1000, key.end_s() * 1000 - 1)?;
                let mut tile = rasterize(key, &spans);
                if !complete {
                    // Level 0: one bit per second; children carry the mask up the levels.
                    tile.clear_from((now_s - key.start_s()) as usize);
                }
                tile
            }
            Some((left, right)) => {
                stats.merges += 1;
                let l = self.get_in(cam, left, now_s, stats)?;
                let r = self.get_in(cam, right, now_s, stats)?;
                Tile::merge(Some(&l), Some(&r)).unwrap_or_default()
            }
        };
        if complete {
            let mut cache = self.cache.borrow_mut();
            if cache.len() >= CACHE_TILES {
                cache.clear();
            }
            cache.insert((cam.id, key), tile.clone());
        }
        Ok(tile)
    }
}
