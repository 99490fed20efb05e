//! cyclops recordings (`<dir>/videos.sqlite` + `fsv/`): the videodb is opened read-only and its
//! events and settled `event_tile` blobs are mirrored into Tessera's own `tessera.sqlite`
//! beside it (a derived index; cyclops' file is never written). Mirroring is an explicit,
//! incremental step of opening a cyclops recording ([`super::EventDb::open_read`] /
//! [`super::EventDb::open_write`]): it resumes after the last event id mirrored. Camera id `N` becomes camera
//! `cam-N`, whose streams are `cam-N-HD` / `cam-N-LD`.
//!
//! Each object of a cyclops event row becomes one Tessera event over
//! `[event.time + positions[0].time, event.time + positions[last].time]` ms. A cyclops tile is
//! OR-ed into ours (and its ancestors) once settled: cyclops upserts tiles while in progress,
//! so unsettled ones are left to synthesis from the events (format doc §7 rule 7).

use super::EventDb;
use crate::events::{BoxAt, NewEvent};
use crate::sqlite::DbError as EventsError;
use crate::tiles::Tile;
use crate::tiles::codec;
use crate::tiles::geometry::{CYCLOPS_L_MAX, TileKey};
use crate::tiles::upkeep::SETTLE_EVENT_ROWS_S;
use rusqlite::{Connection, OpenFlags, params};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

pub const CYCLOPS_DB: &str = "videos.sqlite";

/// `kv` keys of the mirror's progress.
const EVENTS_SYNCED_KEY: &str = "cyclops_last_event_id";
pub(crate) const TILES_SYNCED_KEY: &str = "cyclops_tiles_synced_until_s";

#[derive(Deserialize, Default)]
struct Detections {
    #[serde(default)]
    objects: Vec<Object>,
}

#[derive(Deserialize)]
struct Object {
    class: u32,
    #[serde(default)]
    positions: Vec<Position>,
}

#[derive(Deserialize)]
struct Position {
    #[serde(rename = "box", default)]
    bbox: [f64; 4],
    time: i64,
    #[serde(default)]
    confidence: f64,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> EventsError + '_ {
    move |error| EventsError::Sqlite { path: path.to_owned(), error }
}

/// Open a cyclops videodb read-only and read its `strings` table.
fn open_source(path: &Path) -> Result<(Connection, HashMap<u32, String>), EventsError> {
    let src = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sql(path))?;
    let strings = {
        let mut stmt = src.prepare("SELECT id, value FROM strings").map_err(sql(path))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(sql(path))?;
        rows.collect::<Result<_, _>>().map_err(sql(path))?
    };
    Ok((src, strings))
}

/// Cyclops events read and inserted per transaction: memory stays bounded (a batch of events
/// with their boxes is a few MB) however large the recording, and an interrupted mirror
/// resumes after the last committed batch.
pub const MIRROR_BATCH_EVENTS: i64 = 5_000;

/// Mirror new cyclops events (in batches of [`MIRROR_BATCH_EVENTS`]) and settled tiles into `db`.
pub fn sync(db: &mut EventDb, path: &Path, now_s: i64) -> Result<(), EventsError> {
    let (src, strings) = open_source(path)?;
    let class_name = |id: u32| strings.get(&id).cloned().unwrap_or_else(|| format!("class-{id}"));
    let mut last_id: i64 = db.kv(EVENTS_SYNCED_KEY)?.and_then(|v| v.parse().ok()).unwrap_or(0);
    loop {
        let (events, ids, max_id) = read_event_batch(&src, path, &class_name, last_id)?;
        if max_id == last_id {
            break;
        }
        let mut ingest = db.begin_ingest(now_s)?;
        for (event, id) in events.iter().zip(&ids) {
            // A recording's bad row is skipped, not allowed to stop the mirror.
            if let Err(problem) = event.validate() {
                tracing::warn!("{}: event {id}: {problem}; skipped", path.display());
                continue;
            }
            ingest.add_with(event, Some(*id))?;
        }
        ingest.db().set_kv(EVENTS_SYNCED_KEY, &max_id.to_string())?;
        ingest.commit()?;
        last_id = max_id;
    }
    db.in_transaction(|| sync_tiles(db, &src, path, &class_name, now_s))
}

/// Up to [`MIRROR_BATCH_EVENTS`] events with id > `after`: their objects as our events, the
/// cyclops event id of each, and the largest id read (`after` when none).
fn read_event_batch(
    src: &Connection,
    path: &Path,
    class_name: &dyn Fn(u32) -> String,
    after: i64,
) -> Result<(Vec<NewEvent>, Vec<i64>, i64), EventsError> {
    let mut events = Vec::new();
    let mut ids = Vec::new();
    let mut max_id = after;
    let mut stmt = src
        .prepare("SELECT id, camera, time, duration, detections FROM event WHERE id > ?1 ORDER BY id LIMIT ?2")
        .map_err(sql(path))?;
    let mut rows = stmt.query([after, MIRROR_BATCH_EVENTS]).map_err(sql(path))?;
    while let Some(row) = rows.next().map_err(sql(path))? {
        let id: i64 = row.get(0).map_err(sql(path))?;
        let camera: i64 = row.get(1).map_err(sql(path))?;
        let time: i64 = row.get(2).map_err(sql(path))?;
        // Written from a Go []byte: BLOB despite the TEXT declaration; accept both.
        let raw: Vec<u8> = match row.get_ref(4).map_err(sql(path))? {
            rusqlite::types::ValueRef::Blob(b) | rusqlite::types::ValueRef::Text(b) => b.to_vec(),
            _ => Vec::new(),
        };
        max_id = max_id.max(id);
        let detections: Detections = match serde_json::from_slice(&raw) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("{}: event {id}: detections are not valid JSON ({e}); skipped", path.display());
                continue;
            }
        };
        for obj in detections.objects {
            let (Some(first), Some(last)) = (obj.positions.first(), obj.positions.last()) else { continue };
            let confidence = obj.positions.iter().map(|p| p.confidence).fold(0.0f64, f64::max).clamp(0.0, 1.0);
            events.push(NewEvent {
                camera: format!("cam-{camera}"),
                class: class_name(obj.class),
                first_ms: time + first.time,
                last_ms: time + last.time.max(first.time),
                confidence: Some(confidence),
                boxes: obj
                    .positions
                    .iter()
                    .map(|p| BoxAt { t_ms: time + p.time, x1: p.bbox[0], y1: p.bbox[1], x2: p.bbox[2], y2: p.bbox[3] })
                    .collect(),
            });
            ids.push(id);
        }
    }
    Ok((events, ids, max_id))
}

/// Re-mirror the settled tiles of a cyclops videodb (after a rebuild).
pub fn sync_tiles_from(db: &EventDb, path: &Path, now_s: i64) -> Result<(), EventsError> {
    let (src, strings) = open_source(path)?;
    let class_name = |id: u32| strings.get(&id).cloned().unwrap_or_else(|| format!("class-{id}"));
    db.in_transaction(|| sync_tiles(db, &src, path, &class_name, now_s))
}

/// OR settled cyclops tiles (levels 0..=13) not mirrored yet into ours and their ancestors.
fn sync_tiles(
    db: &EventDb,
    src: &Connection,
    path: &Path,
    class_name: &dyn Fn(u32) -> String,
    now_s: i64,
) -> Result<(), EventsError> {
    let settled_until = now_s - SETTLE_EVENT_ROWS_S;
    let synced_until: i64 = db.kv(TILES_SYNCED_KEY)?.and_then(|v| v.parse().ok()).unwrap_or(i64::MIN);
    let mut stmt = src.prepare("SELECT camera, level, start, tile FROM event_tile").map_err(sql(path))?;
    let mut rows = stmt.query(params![]).map_err(sql(path))?;
    while let Some(row) = rows.next().map_err(sql(path))? {
        let (camera, level, index): (i64, i64, i64) =
            (row.get(0).map_err(sql(path))?, row.get(1).map_err(sql(path))?, row.get(2).map_err(sql(path))?);
        let Ok(level) = u8::try_from(level) else { continue };
        if level > CYCLOPS_L_MAX {
            continue;
        }
        let key = TileKey { level, index };
        if key.end_s() > settled_until || key.end_s() <= synced_until {
            continue;
        }
        let blob: Vec<u8> = row.get(3).map_err(sql(path))?;
        let tile = match codec::decode_tile_strict(&blob) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(
                    "{}: event_tile camera {camera} level {level} start {index}: {e}; skipped",
                    path.display()
                );
                continue;
            }
        };
        let events = db.events();
        let camera_id = events.intern(&format!("cam-{camera}"))?;
        let mut rows_ours = Vec::new();
        for (class, line) in tile.rows() {
            rows_ours.push((events.intern(&class_name(*class))?, *line));
        }
        let mut current = Tile::from_rows(rows_ours);
        let mut current_key = key;
        let store = db.tiles();
        let built = store.built_until(camera_id)?.unwrap_or(i64::MIN);
        store.or_into(camera_id, current_key, &current)?;
        while let Some(parent) = current_key.parent() {
            let half = if current_key.index % 2 == 0 {
                Tile::merge(Some(&current), None)
            } else {
                Tile::merge(None, Some(&current))
            };
            current = half.unwrap_or_default();
            current_key = parent;
            if parent.end_s() > built {
                break; // synthesized from its children on request
            }
            store.or_into(camera_id, parent, &current)?;
        }
    }
    db.set_kv(TILES_SYNCED_KEY, &settled_until.to_string())
}
