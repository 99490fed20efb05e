//! Inserting event rows, listing events and reading spans through the interval index
//! (see the module doc of [`super`]).

use super::jsonl::{BoxAt, NewEvent};
use super::tables::Events;
use super::{bucket_max_duration_ms, duration_bucket};
use crate::sqlite::DbError;
use crate::tiles::{EventSource, Span};
use rusqlite::params;

/// The box at `t_ms` of a track whose boxes are in time order: interpolated between the two
/// around it, or the nearest within `max_gap_ms` at either end.
pub fn box_at(boxes: &[BoxAt], t_ms: i64, max_gap_ms: i64) -> Option<BoxAt> {
    let after = boxes.partition_point(|b| b.t_ms <= t_ms);
    match (after.checked_sub(1).and_then(|i| boxes.get(i)), boxes.get(after)) {
        (Some(a), Some(b)) if b.t_ms - a.t_ms <= 2 * max_gap_ms.max(1) => {
            let k = if b.t_ms > a.t_ms { (t_ms - a.t_ms) as f64 / (b.t_ms - a.t_ms) as f64 } else { 0.0 };
            let lerp = |x: f64, y: f64| x + (y - x) * k;
            Some(BoxAt { t_ms, x1: lerp(a.x1, b.x1), y1: lerp(a.y1, b.y1), x2: lerp(a.x2, b.x2), y2: lerp(a.y2, b.y2) })
        }
        (Some(a), _) if t_ms - a.t_ms <= max_gap_ms => Some(BoxAt { t_ms, ..a.clone() }),
        (_, Some(b)) if b.t_ms - t_ms <= max_gap_ms => Some(BoxAt { t_ms, ..b.clone() }),
        _ => None,
    }
}

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

/// A row just inserted: its id, camera id, span and duration bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inserted {
    pub id: i64,
    pub camera: u32,
    pub span: Span,
    pub bucket: u32,
}

/// The first-time window a bucket's query covers for events overlapping `[from_ms, to_ms]`.
fn bucket_window(bucket: u32, from_ms: i64) -> i64 {
    from_ms.saturating_sub(bucket_max_duration_ms(bucket))
}

/// The buckets set in a mask.
fn buckets_of(mask: i64) -> impl Iterator<Item = u32> {
    (0..63u32).filter(move |b| mask >> b & 1 == 1)
}

impl<'a> Events<'a> {
    /// The statement [`Events::insert_with`] runs (prepared once per ingest).
    pub fn insert_statement(&self) -> Result<rusqlite::Statement<'a>, DbError> {
        self.file
            .conn
            .prepare(
                "INSERT INTO event(camera, class, first_ms, last_ms, bucket, confidence, boxes, cyclops_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .map_err(|e| self.sql(e))
    }

    /// Insert one validated event row with `statement` from [`Events::insert_statement`]
    /// (the caller keeps the camera state and tiles current).
    pub fn insert_with(
        &self,
        statement: &mut rusqlite::Statement<'_>,
        e: &NewEvent,
        cyclops_id: Option<i64>,
    ) -> Result<Inserted, DbError> {
        let camera = self.intern(&e.camera)?;
        let class = self.intern(&e.class)?;
        self.add_camera_class(camera, class)?;
        let boxes = super::boxes::encode(e.first_ms, &e.boxes);
        let bucket = duration_bucket(e.first_ms, e.last_ms);
        statement
            .execute(params![camera, class, e.first_ms, e.last_ms, bucket, e.confidence, boxes, cyclops_id])
            .map_err(|err| self.sql(err))?;
        let id = self.file.conn.last_insert_rowid();
        Ok(Inserted { id, camera, span: Span { class, first_ms: e.first_ms, last_ms: e.last_ms }, bucket })
    }

    /// Events of `camera` whose `[first, last]` overlaps `[from_ms, to_ms]`, by first time.
    pub fn list(&self, camera: &str, from_ms: i64, to_ms: i64) -> Result<Vec<EventRow>, DbError> {
        let Some(camera_id) = self.string_id(camera)? else { return Ok(Vec::new()) };
        if from_ms > to_ms {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        // Class names come from the connection's cache (`string`), not a join: one read per
        // class, however many events (and however long a name an old archive holds).
        let mut stmt = self
            .file
            .conn
            .prepare_cached(
                "SELECT e.id, e.class, e.first_ms, e.last_ms, e.confidence FROM event e
                 WHERE e.camera = ?1 AND e.bucket = ?2 AND e.first_ms BETWEEN ?3 AND ?4 AND e.last_ms >= ?5",
            )
            .map_err(|e| self.sql(e))?;
        for bucket in buckets_of(self.buckets(camera_id)?) {
            let rows = stmt
                .query_map(params![camera_id, bucket, bucket_window(bucket, from_ms), to_ms, from_ms], |r| {
                    Ok((r.get(0)?, r.get::<_, u32>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| self.sql(e))?;
            for row in rows {
                let (id, class, first_ms, last_ms, confidence) = row.map_err(|e| self.sql(e))?;
                let class = self.string(class)?;
                out.push(EventRow { id, camera: camera.to_owned(), class, first_ms, last_ms, confidence });
            }
        }
        out.sort_by_key(|e| (e.first_ms, e.id));
        Ok(out)
    }

    /// The boxes of `camera`'s events at `t_ms`: for each event spanning it that has boxes,
    /// its box at `t_ms` (linear between the recorded boxes around it; none when the nearest
    /// recorded box is more than `max_gap_ms` away).
    pub fn boxes_at(&self, camera: &str, t_ms: i64, max_gap_ms: i64) -> Result<Vec<(EventRow, BoxAt)>, DbError> {
        let mut out = Vec::new();
        for event in self.list(camera, t_ms, t_ms)? {
            let blob: Option<Vec<u8>> = self
                .file
                .conn
                .prepare_cached("SELECT boxes FROM event WHERE id = ?1")
                .and_then(|mut s| s.query_row([event.id], |r| r.get(0)))
                .map_err(|e| self.sql(e))?;
            let Some(blob) = blob else { continue };
            let boxes = super::boxes::decode(event.first_ms, &blob)
                .map_err(|e| self.file.invalid(format!("event {}: {e}", event.id)))?;
            if let Some(b) = box_at(&boxes, t_ms, max_gap_ms) {
                out.push((event, b));
            }
        }
        Ok(out)
    }

    /// The event of `camera` that starts first after `from_ms` (`forward`), or last before
    /// it, among `classes` (every class when empty). One indexed probe per duration bucket.
    pub fn step(
        &self,
        camera: &str,
        from_ms: i64,
        forward: bool,
        classes: &[String],
    ) -> Result<Option<EventRow>, DbError> {
        let Some(camera_id) = self.string_id(camera)? else { return Ok(None) };
        let mut class_ids = Vec::new();
        for class in classes {
            if let Some(id) = self.string_id(class)? {
                class_ids.push(id.to_string());
            }
        }
        if !classes.is_empty() && class_ids.is_empty() {
            return Ok(None);
        }
        let class_filter =
            if class_ids.is_empty() { String::new() } else { format!(" AND e.class IN ({})", class_ids.join(",")) };
        let (cmp, order) = if forward { (">", "ASC") } else { ("<", "DESC") };
        let mut stmt = self
            .file
            .conn
            .prepare_cached(&format!(
                "SELECT e.id, e.class, e.first_ms, e.last_ms, e.confidence FROM event e
                 WHERE e.camera = ?1 AND e.bucket = ?2 AND e.first_ms {cmp} ?3{class_filter}
                 ORDER BY e.first_ms {order} LIMIT 1"
            ))
            .map_err(|e| self.sql(e))?;
        let mut best: Option<EventRow> = None;
        for bucket in buckets_of(self.buckets(camera_id)?) {
            let mut rows = stmt.query(params![camera_id, bucket, from_ms]).map_err(|e| self.sql(e))?;
            if let Some(r) = rows.next().map_err(|e| self.sql(e))? {
                let row = EventRow {
                    id: r.get(0).map_err(|e| self.sql(e))?,
                    camera: camera.to_owned(),
                    class: self.string(r.get(1).map_err(|e| self.sql(e))?)?,
                    first_ms: r.get(2).map_err(|e| self.sql(e))?,
                    last_ms: r.get(3).map_err(|e| self.sql(e))?,
                    confidence: r.get(4).map_err(|e| self.sql(e))?,
                };
                let better = best
                    .as_ref()
                    .is_none_or(|b| if forward { row.first_ms < b.first_ms } else { row.first_ms > b.first_ms });
                if better {
                    best = Some(row);
                }
            }
        }
        Ok(best)
    }
}

impl EventSource for Events<'_> {
    fn spans(&self, camera: u32, from_ms: i64, to_ms: i64) -> Result<Vec<Span>, DbError> {
        let mut out = Vec::new();
        if from_ms > to_ms {
            return Ok(out);
        }
        let mut stmt = self
            .file
            .conn
            .prepare_cached(
                "SELECT class, first_ms, last_ms FROM event
                 WHERE camera = ?1 AND bucket = ?2 AND first_ms BETWEEN ?3 AND ?4 AND last_ms >= ?5",
            )
            .map_err(|e| self.sql(e))?;
        for bucket in buckets_of(self.buckets(camera)?) {
            let mut rows = stmt
                .query(params![camera, bucket, bucket_window(bucket, from_ms), to_ms, from_ms])
                .map_err(|e| self.sql(e))?;
            while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
                out.push(Span {
                    class: r.get(0).map_err(|e| self.sql(e))?,
                    first_ms: r.get(1).map_err(|e| self.sql(e))?,
                    last_ms: r.get(2).map_err(|e| self.sql(e))?,
                });
            }
        }
        Ok(out)
    }

    fn for_each_span(&self, camera: u32, f: &mut dyn FnMut(Span) -> Result<(), DbError>) -> Result<(), DbError> {
        let mut stmt = self
            .file
            .conn
            .prepare_cached("SELECT class, first_ms, last_ms FROM event WHERE camera = ?1")
            .map_err(|e| self.sql(e))?;
        let mut rows = stmt.query([camera]).map_err(|e| self.sql(e))?;
        while let Some(r) = rows.next().map_err(|e| self.sql(e))? {
            f(Span {
                class: r.get(0).map_err(|e| self.sql(e))?,
                first_ms: r.get(1).map_err(|e| self.sql(e))?,
                last_ms: r.get(2).map_err(|e| self.sql(e))?,
            })?;
        }
        Ok(())
    }

    fn bounds(&self, camera: u32) -> Result<Option<(i64, i64)>, DbError> {
        Events::bounds(self, camera)
    }
}
