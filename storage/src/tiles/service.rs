//! Tile persistence and the format's rules (event-tiles.md §7):
//!
//! - tiles are persisted only once settled (`end ≤ now − settle`); a persisted tile is final
//!   except that newly ingested events OR into it;
//! - per camera, `tiles_built_until_s` (the watermark) says every tile ending by then is built:
//!   a missing one is empty, so a request costs O(1) there;
//! - a tile not persisted is synthesized: level 0 from event rows, level L by OR-merging its
//!   children — only the chain of tiles past the watermark recurses, so O(levels) merges;
//! - a request with `now` in the past sees only what was known then: no bit at or after `now`.

use super::bitmap::Tile;
use super::codec;
use super::geometry::{L_MAX, TILE_BITS, TileKey};
use crate::events::store::Span;
use crate::events::{EventDb, EventsError};
use rusqlite::{OptionalExtension, params};
use std::collections::{BTreeSet, HashMap};

/// Settle time for tiles built from flushed event rows: cyclops writes an event up to
/// ~5.5 min after it starts, so 6 min.
pub const SETTLE_EVENT_ROWS_S: i64 = 360;
/// Finest drawable level (rasterised on request, never stored): 2^-10 s per bit.
pub const L_FINE_MIN: i8 = -10;

/// Settle time for tiles fed by the live tiler.
pub const SETTLE_LIVE_S: i64 = 10;

fn ms_to_s(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

impl EventDb {
    pub fn load_tile(&self, camera: u32, key: TileKey) -> Result<Option<Tile>, EventsError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT blob FROM tile WHERE camera = ?1 AND level = ?2 AND idx = ?3")
            .and_then(|mut s| s.query_row(params![camera, key.level, key.index], |r| r.get(0)).optional())
            .map_err(|e| self.sql_error(e))?;
        blob.map(|b| {
            codec::decode_tile(&b).map_err(|e| self.invalid(format!("tile {camera}/{}/{}: {e}", key.level, key.index)))
        })
        .transpose()
    }

    /// Upsert a tile (an empty tile is deleted: absent means empty).
    pub fn store_tile(&self, camera: u32, key: TileKey, tile: &Tile) -> Result<(), EventsError> {
        let result = if tile.is_empty() {
            self.conn
                .prepare_cached("DELETE FROM tile WHERE camera = ?1 AND level = ?2 AND idx = ?3")
                .and_then(|mut s| s.execute(params![camera, key.level, key.index]))
        } else {
            self.conn
                .prepare_cached(
                    "INSERT INTO tile(camera, level, idx, blob) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(camera, level, idx) DO UPDATE SET blob = excluded.blob",
                )
                .and_then(|mut s| s.execute(params![camera, key.level, key.index, codec::encode_tile(tile)]))
        };
        result.map(|_| ()).map_err(|e| self.sql_error(e))
    }

    /// OR `tile` into the stored tile.
    pub fn or_into_stored(&self, camera: u32, key: TileKey, tile: &Tile) -> Result<(), EventsError> {
        let mut stored = self.load_tile(camera, key)?.unwrap_or_default();
        stored.or_assign(tile);
        self.store_tile(camera, key, &stored)
    }

    fn stored_indexes(&self, camera: u32, level: u8, lo: i64, hi: i64) -> Result<Vec<i64>, EventsError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx FROM tile WHERE camera = ?1 AND level = ?2 AND idx BETWEEN ?3 AND ?4")
            .map_err(|e| self.sql_error(e))?;
        let rows = stmt.query_map(params![camera, level, lo, hi], |r| r.get(0)).map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// Every stored tile of a camera as `(level, index, blob)` (tests compare stores with it).
    pub fn stored_tiles(&self, camera: u32) -> Result<Vec<(u8, i64, Vec<u8>)>, EventsError> {
        let mut stmt = self
            .conn
            .prepare("SELECT level, idx, blob FROM tile WHERE camera = ?1 ORDER BY level, idx")
            .map_err(|e| self.sql_error(e))?;
        let rows =
            stmt.query_map([camera], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }
}

/// Rasterise spans into tile `key` (format doc §3; ms → s by floor).
fn rasterize(key: TileKey, spans: &[Span]) -> Tile {
    let mut tile = Tile::new();
    for s in spans {
        tile.mark(key, s.class, ms_to_s(s.first_ms), ms_to_s(s.last_ms));
    }
    tile
}

/// Keep tiles current after events were inserted (inside the insert's transaction):
/// OR the new spans into tiles already built, then build the tiles that settled since.
pub fn on_events_inserted(db: &EventDb, camera: u32, spans: &[Span], now_s: i64) -> Result<(), EventsError> {
    let built = db.tiles_built_until(camera)?;
    if let Some(built) = built {
        let mut touched: HashMap<TileKey, Tile> = HashMap::new();
        for s in spans {
            let (first, last) = (ms_to_s(s.first_ms), ms_to_s(s.last_ms));
            for level in 0..=L_MAX {
                for index in TileKey::span(level, first, last) {
                    let key = TileKey { level, index };
                    if key.end_s() > built {
                        break;
                    }
                    touched.entry(key).or_default().mark(key, s.class, first, last);
                }
            }
        }
        for (key, tile) in touched {
            db.or_into_stored(camera, key, &tile)?;
        }
    }
    advance(db, camera, now_s - SETTLE_EVENT_ROWS_S)
}

/// Build and persist the tiles that settle between the watermark and `until_s`.
pub fn advance(db: &EventDb, camera: u32, until_s: i64) -> Result<(), EventsError> {
    let built = db.tiles_built_until(camera)?;
    if built.is_some_and(|b| b >= until_s) {
        return Ok(());
    }
    build_window(db, camera, built, until_s)?;
    db.set_tiles_built_until(camera, Some(until_s))
}

/// Delete and rebuild every tile of a camera from its events.
pub fn rebuild(db: &EventDb, camera: u32, now_s: i64) -> Result<(), EventsError> {
    db.conn.execute("DELETE FROM tile WHERE camera = ?1", [camera]).map_err(|e| db.sql_error(e))?;
    db.set_tiles_built_until(camera, None)?;
    advance(db, camera, now_s - SETTLE_EVENT_ROWS_S)
}

/// Rebuild every camera's tiles (and re-mirror a cyclops recording's tiles). Returns
/// `(camera, tiles stored)` per camera.
pub fn rebuild_all(db: &EventDb, now_s: i64) -> Result<Vec<(String, usize)>, EventsError> {
    let cameras = db.cameras()?;
    let mut out = Vec::new();
    db.in_transaction(|db| {
        for (id, name) in &cameras {
            rebuild(db, *id, now_s)?;
            out.push((name.clone(), db.stored_tiles(*id)?.len()));
        }
        Ok(())
    })?;
    if let Some(root) = db.path().parent() {
        let cyclops = root.join(crate::events::cyclops::CYCLOPS_DB);
        if cyclops.exists() {
            db.set_kv("cyclops_tiles_synced_until_s", &i64::MIN.to_string())?;
            crate::events::cyclops::sync_tiles_from(db, &cyclops, now_s)?;
        }
    }
    Ok(out)
}

/// Compute and store every tile whose end lies in `(from, to]` (`from = None`: all time):
/// level 0 by rasterising the events once, each level above by merging the one below, with
/// children that ended by `from` read back from the store.
fn build_window(db: &EventDb, camera: u32, from: Option<i64>, to: i64) -> Result<(), EventsError> {
    let in_window = |key: TileKey| from.is_none_or(|f| key.end_s() > f) && key.end_s() <= to;
    let first_s = match from {
        Some(f) => f - TILE_BITS,
        None => match db.event_bounds(camera)? {
            Some((first_ms, _)) => ms_to_s(first_ms),
            None => return Ok(()),
        },
    };
    let spans = db.spans(camera, first_s * 1000, to * 1000 - 1)?;
    let mut level: HashMap<i64, Tile> = HashMap::new();
    for s in &spans {
        let (first, last) = (ms_to_s(s.first_ms), ms_to_s(s.last_ms));
        for index in TileKey::span(0, first, last) {
            let key = TileKey { level: 0, index };
            if in_window(key) {
                level.entry(index).or_default().mark(key, s.class, first, last);
            }
        }
    }
    for (&index, tile) in &level {
        db.store_tile(camera, TileKey { level: 0, index }, tile)?;
    }
    for l in 1..=L_MAX {
        let child_level = l - 1;
        let mut parents: BTreeSet<i64> = level.keys().map(|i| i >> 1).collect();
        if let Some(f) = from {
            // Left children that ended by `from` (already stored) of parents ending in the window.
            let width = TILE_BITS << child_level;
            let lo = TileKey::containing(child_level, f - width).index;
            let hi = TileKey::containing(child_level, f).index;
            parents.extend(db.stored_indexes(camera, child_level, lo, hi)?.into_iter().map(|i| i >> 1));
        }
        let mut next = HashMap::new();
        for p in parents {
            let key = TileKey { level: l, index: p };
            if !in_window(key) {
                continue;
            }
            let child = |index: i64| -> Result<Option<Tile>, EventsError> {
                let ck = TileKey { level: child_level, index };
                if in_window(ck) { Ok(level.get(&index).cloned()) } else { db.load_tile(camera, ck) }
            };
            let (left, right) = (child(2 * p)?, child(2 * p + 1)?);
            if let Some(tile) = Tile::merge(left.as_ref(), right.as_ref()).filter(|t| !t.is_empty()) {
                db.store_tile(camera, key, &tile)?;
                next.insert(p, tile);
            }
        }
        level = next;
    }
    Ok(())
}

/// Answers tile requests (`tiles get`, the GUI's tile feed).
pub struct TileService<'a> {
    db: &'a EventDb,
    /// The real clock (decides what may be persisted).
    real_now_s: i64,
    /// Persist settled tiles synthesized on demand (off for read-only use).
    pub persist: bool,
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

impl<'a> TileService<'a> {
    pub fn new(db: &'a EventDb, real_now_s: i64) -> Self {
        Self { db, real_now_s, persist: true }
    }

    /// A tile at any drawable level: 0..=20 as [`TileService::get`]; below 0 (down to
    /// [`L_FINE_MIN`], ≈ 1 ms per bit) rasterised from the event rows with millisecond
    /// precision — never stored, so zooming past one second per pixel still places a
    /// 5-ms detection in the right column. Returns the tile and whether it ended by `now_s`.
    pub fn get_any(&self, camera: &str, level: i8, index: i64, now_s: i64) -> Result<(Tile, bool), EventsError> {
        if let Ok(level) = u8::try_from(level) {
            let key = TileKey { level, index };
            return Ok((self.get(camera, key, now_s)?.0, key.end_s() <= now_s));
        }
        if level < L_FINE_MIN {
            return Err(self.db.invalid(format!("level {level} is below {L_FINE_MIN}")));
        }
        // Tiles below level 0 span 1000·2^(L+10) ms: a whole number of ms.
        let tile_ms = 1000i64 << (i32::from(level) + 10);
        let start_ms = index * tile_ms;
        let now_ms = now_s.saturating_mul(1000);
        let mut tile = Tile::new();
        if let Some(id) = self.db.string_id(camera)? {
            for s in self.db.spans(id, start_ms, start_ms + tile_ms - 1)? {
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

    /// Tile `key` of `camera` as known at `now_s`.
    pub fn get(&self, camera: &str, key: TileKey, now_s: i64) -> Result<(Tile, TileStats), EventsError> {
        let mut stats = TileStats::default();
        let Some(id) = self.db.string_id(camera)? else { return Ok((Tile::new(), stats)) };
        let Some((first_ms, last_ms)) = self.db.event_bounds(id)? else { return Ok((Tile::new(), stats)) };
        let view =
            CameraView { id, built: self.db.tiles_built_until(id)?, events_s: (ms_to_s(first_ms), ms_to_s(last_ms)) };
        let tile = self.get_in(&view, key, now_s, &mut stats)?;
        Ok((tile, stats))
    }

    fn get_in(&self, cam: &CameraView, key: TileKey, now_s: i64, stats: &mut TileStats) -> Result<Tile, EventsError> {
        // Nothing is known at or after now.
        if key.start_s() >= now_s {
            return Ok(Tile::new());
        }
        let complete = key.end_s() <= now_s;
        if complete {
            stats.loads += 1;
            if let Some(tile) = self.db.load_tile(cam.id, key)? {
                return Ok(tile);
            }
            if cam.built.is_some_and(|b| key.end_s() <= b) {
                return Ok(Tile::new());
            }
        }
        // Outside the events' span there is nothing to synthesize from.
        if key.start_s() > cam.events_s.1 || key.end_s() <= cam.events_s.0 {
            return Ok(Tile::new());
        }
        let tile = match key.children() {
            None => {
                stats.rasterized += 1;
                let spans = self.db.spans(cam.id, key.start_s() * 1000, key.end_s() * 1000 - 1)?;
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
        if self.persist && complete && key.end_s() <= self.real_now_s - SETTLE_EVENT_ROWS_S && !tile.is_empty() {
            // A read must not fail because the store is read-only; the tile is still correct.
            if let Err(e) = self.db.store_tile(cam.id, key, &tile) {
                tracing::debug!("not persisting synthesized tile: {e}");
            }
        }
        Ok(tile)
    }
}
