//! Keeping persisted tiles current (format doc §7):
//!
//! - tiles are persisted only once settled (`end ≤ now − settle`); a persisted tile is final
//!   except that newly ingested events OR into it;
//! - per camera, the watermark (`tile_state.built_until_s`) says every tile ending by then is
//!   built: a missing one is empty;
//! - a camera's first build and `tiles rebuild` stream its spans through [`TileMarks`]
//!   (memory bounded by [`MAX_MARKED_TILES`]); moving the watermark forward builds the tiles
//!   that settled since, level 0 from the spans and each level above from the one below, in
//!   windows of [`ADVANCE_WINDOW_S`] so a watermark months behind costs bounded memory too.

use super::geometry::{L_MAX, TILE_BITS, TileKey};
use super::marks::TileMarks;
use super::store::TileStore;
use super::{EventSource, Tile};
use crate::sqlite::DbError;
use rustc_hash::FxHashSet;
use std::collections::{BTreeSet, HashMap};

/// Settle time for tiles built from flushed event rows: cyclops writes an event up to
/// ~5.5 min after it starts, so 6 min.
pub const SETTLE_EVENT_ROWS_S: i64 = 360;

/// Marked tiles held in memory before they are OR-ed into the store (~30 MB at most).
pub const MAX_MARKED_TILES: usize = 65_536;

/// Largest stretch one build step covers (≈ 3 days: one level-8 tile).
pub const ADVANCE_WINDOW_S: i64 = TILE_BITS << 8;

pub(crate) fn ms_to_s(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// OR every marked tile into the store. Cameras in `empty` have no stored tile yet: theirs
/// are written without reading first (a fresh camera's first flush costs one write a tile);
/// they leave the set once flushed.
pub fn flush(store: &TileStore, marks: &mut TileMarks, empty: &mut FxHashSet<u32>) -> Result<(), DbError> {
    let tiles = marks.take();
    for (camera, key, tile) in &tiles {
        if empty.contains(camera) { store.store(*camera, *key, tile)? } else { store.or_into(*camera, *key, tile)? }
    }
    for (camera, _, _) in &tiles {
        empty.remove(camera);
    }
    Ok(())
}

/// Build every tile of `camera` ending by `until_s` from all its spans (the store holds none
/// of them yet), and set the watermark there.
pub fn build_all(store: &TileStore, events: &dyn EventSource, camera: u32, until_s: i64) -> Result<(), DbError> {
    let mut marks = TileMarks::new();
    let mut empty = FxHashSet::default();
    if !store.has_any(camera)? {
        empty.insert(camera);
    }
    events.for_each_span(camera, &mut |s| {
        marks.mark(camera, s.class, ms_to_s(s.first_ms), ms_to_s(s.last_ms), until_s);
        if marks.len() >= MAX_MARKED_TILES { flush(store, &mut marks, &mut empty) } else { Ok(()) }
    })?;
    flush(store, &mut marks, &mut empty)?;
    store.set_built_until(camera, Some(until_s))
}

/// Move the watermark of `camera` to `until_s`, building the tiles that settle on the way
/// (a camera without a watermark is built from scratch).
pub fn advance(store: &TileStore, events: &dyn EventSource, camera: u32, until_s: i64) -> Result<(), DbError> {
    let Some(mut built) = store.built_until(camera)? else { return build_all(store, events, camera, until_s) };
    if built >= until_s {
        return Ok(());
    }
    while built < until_s {
        let to = built.saturating_add(ADVANCE_WINDOW_S).min(until_s);
        build_window(store, events, camera, built, to)?;
        built = to;
    }
    store.set_built_until(camera, Some(until_s))
}

/// Delete and rebuild every tile of a camera from its events.
pub fn rebuild(store: &TileStore, events: &dyn EventSource, camera: u32, now_s: i64) -> Result<(), DbError> {
    store.clear(camera)?;
    build_all(store, events, camera, now_s - SETTLE_EVENT_ROWS_S)
}

/// Compute and store every tile whose end lies in `(from, to]`: level 0 by rasterising the
/// spans once, each level above by merging the one below, with children that ended by `from`
/// read back from the store.
fn build_window(store: &TileStore, events: &dyn EventSource, camera: u32, from: i64, to: i64) -> Result<(), DbError> {
    let in_window = |key: TileKey| key.end_s() > from && key.end_s() <= to;
    let spans = events.spans(camera, (from - TILE_BITS) * 1000, to * 1000 - 1)?;
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
        store.store(camera, TileKey { level: 0, index }, tile)?;
    }
    for l in 1..=L_MAX {
        let child_level = l - 1;
        let mut parents: BTreeSet<i64> = level.keys().map(|i| i >> 1).collect();
        // Left children that ended by `from` (already stored) of parents ending in the window.
        let width = TILE_BITS << child_level;
        let lo = TileKey::containing(child_level, from - width).index;
        let hi = TileKey::containing(child_level, from).index;
        parents.extend(store.indexes(camera, child_level, lo, hi)?.into_iter().map(|i| i >> 1));
        let mut next = HashMap::new();
        for p in parents {
            let key = TileKey { level: l, index: p };
            if !in_window(key) {
                continue;
            }
            let child = |index: i64| -> Result<Option<Tile>, DbError> {
                let ck = TileKey { level: child_level, index };
                if in_window(ck) { Ok(level.get(&index).cloned()) } else { store.load(camera, ck) }
            };
            let (left, right) = (child(2 * p)?, child(2 * p + 1)?);
            if let Some(tile) = Tile::merge(left.as_ref(), right.as_ref()).filter(|t| !t.is_empty()) {
                store.store(camera, key, &tile)?;
                next.insert(p, tile);
            }
        }
        level = next;
    }
    Ok(())
}
