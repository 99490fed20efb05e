//! Inserting and listing events. Inserts are one transaction with their tile updates.

use super::MAX_CLASSES_PER_CAMERA;
use super::db::{EventDb, EventsError};
use super::jsonl::NewEvent;
use rusqlite::{OptionalExtension, params};
use std::collections::BTreeMap;

/// An event as `events list` shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct EventRow {
    pub id: i64,
    pub camera: String,
    pub class: String,
    pub first_ms: i64,
    pub last_ms: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// An event reduced to what tiles need: class id and visible interval in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub class: u32,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl EventDb {
    /// Insert events (and update tiles) in one transaction; returns their ids. `now_s` is the
    /// clock that decides which tiles have settled.
    pub fn insert_events(&self, events: &[NewEvent], now_s: i64) -> Result<Vec<i64>, EventsError> {
        self.in_transaction(|db| db.insert_events_in_tx(events, now_s, None))
    }

    pub(crate) fn insert_events_in_tx(
        &self,
        events: &[NewEvent],
        now_s: i64,
        cyclops_ids: Option<&[i64]>,
    ) -> Result<Vec<i64>, EventsError> {
        let mut ids = Vec::with_capacity(events.len());
        let mut per_camera: BTreeMap<u32, (i64, Vec<Span>)> = BTreeMap::new();
        let mut insert = self
            .conn
            .prepare_cached("INSERT INTO event(camera, class, first_ms, last_ms, confidence, boxes, cyclops_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
            .map_err(|e| self.sql_error(e))?;
        for (i, e) in events.iter().enumerate() {
            e.validate().map_err(|p| self.invalid(format!("event {i}: {p}")))?;
            let camera = self.intern(&e.camera)?;
            let class = self.intern(&e.class)?;
            self.add_camera_class(camera, class, &e.camera)?;
            let boxes = if e.boxes.is_empty() { None } else { Some(serde_json::to_vec(&e.boxes).unwrap_or_default()) };
            let cyclops_id = cyclops_ids.and_then(|c| c.get(i).copied());
            insert
                .execute(params![camera, class, e.first_ms, e.last_ms, e.confidence, boxes, cyclops_id])
                .map_err(|err| self.sql_error(err))?;
            ids.push(self.conn.last_insert_rowid());
            let entry = per_camera.entry(camera).or_insert((0, Vec::new()));
            entry.0 = entry.0.max(e.last_ms - e.first_ms);
            entry.1.push(Span { class, first_ms: e.first_ms, last_ms: e.last_ms });
        }
        for (camera, (max_duration, spans)) in per_camera {
            let first = spans.iter().map(|s| s.first_ms).min();
            let last = spans.iter().map(|s| s.last_ms).max();
            self.conn
                .execute(
                    "INSERT INTO camera_state(camera, max_duration_ms, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(camera) DO UPDATE SET max_duration_ms = max(max_duration_ms, excluded.max_duration_ms),
                         first_ms = min(coalesce(first_ms, excluded.first_ms), excluded.first_ms),
                         last_ms = max(coalesce(last_ms, excluded.last_ms), excluded.last_ms)",
                    params![camera, max_duration, first, last],
                )
                .map_err(|e| self.sql_error(e))?;
            crate::tiles::service::on_events_inserted(self, camera, &spans, now_s)?;
        }
        Ok(ids)
    }

    fn add_camera_class(&self, camera: u32, class: u32, camera_name: &str) -> Result<(), EventsError> {
        let added = self
            .conn
            .execute("INSERT OR IGNORE INTO camera_class(camera, class) VALUES (?1, ?2)", [camera, class])
            .map_err(|e| self.sql_error(e))?;
        if added > 0 {
            let n: i64 = self
                .conn
                .query_row("SELECT count(*) FROM camera_class WHERE camera = ?1", [camera], |r| r.get(0))
                .map_err(|e| self.sql_error(e))?;
            if n as usize > MAX_CLASSES_PER_CAMERA {
                return Err(
                    self.invalid(format!("camera {camera_name} would have more than {MAX_CLASSES_PER_CAMERA} classes"))
                );
            }
        }
        Ok(())
    }

    /// Events of `camera` whose `[first, last]` overlaps `[from_ms, to_ms]`, by first time.
    pub fn list_events(&self, camera: &str, from_ms: i64, to_ms: i64) -> Result<Vec<EventRow>, EventsError> {
        let Some(camera_id) = self.string_id(camera)? else { return Ok(Vec::new()) };
        let max_duration = self.max_duration_ms(camera_id)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT e.id, c.value, e.first_ms, e.last_ms, e.confidence FROM event e JOIN strings c ON c.id = e.class
                 WHERE e.camera = ?1 AND e.first_ms >= ?2 AND e.first_ms <= ?3 AND e.last_ms >= ?4
                 ORDER BY e.first_ms, e.id",
            )
            .map_err(|e| self.sql_error(e))?;
        let rows = stmt
            .query_map(params![camera_id, from_ms.saturating_sub(max_duration), to_ms, from_ms], |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    camera: camera.to_owned(),
                    class: r.get(1)?,
                    first_ms: r.get(2)?,
                    last_ms: r.get(3)?,
                    confidence: r.get(4)?,
                })
            })
            .map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// Spans of `camera` overlapping `[from_ms, to_ms]` (for rasterising tiles).
    pub fn spans(&self, camera: u32, from_ms: i64, to_ms: i64) -> Result<Vec<Span>, EventsError> {
        let max_duration = self.max_duration_ms(camera)?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT class, first_ms, last_ms FROM event
                 WHERE camera = ?1 AND first_ms >= ?2 AND first_ms <= ?3 AND last_ms >= ?4",
            )
            .map_err(|e| self.sql_error(e))?;
        let rows = stmt
            .query_map(params![camera, from_ms.saturating_sub(max_duration), to_ms, from_ms], |r| {
                Ok(Span { class: r.get(0)?, first_ms: r.get(1)?, last_ms: r.get(2)? })
            })
            .map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// First and last ms of a camera's events (kept in `camera_state`: O(1)).
    pub fn event_bounds(&self, camera: u32) -> Result<Option<(i64, i64)>, EventsError> {
        self.conn
            .prepare_cached("SELECT first_ms, last_ms FROM camera_state WHERE camera = ?1")
            .and_then(|mut s| {
                s.query_row([camera], |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))).optional()
            })
            .map(Option::flatten)
            .map_err(|e| self.sql_error(e))
    }
}
