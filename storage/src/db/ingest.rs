//! Ingest = insert event rows + keep tiles current, in one transaction (all or nothing).
//!
//! Rows go in through one prepared statement; strings and (camera, class) pairs are
//! remembered in memory. Tiles are kept current per batch, not per event: each event is
//! marked into the in-memory tiles of every level that ended by the camera's watermark
//! ([`TileMarks`]), which are OR-ed into the store when [`MAX_MARKED_TILES`] are held and at
//! commit; then the watermark moves to `now − settle`, building what settled since. Memory is
//! bounded whatever the input: no list of events is kept, marks are flushed past their bound,
//! and one event touches at most ~190 tiles (24 h maximum).

use super::EventDb;
use crate::events::NewEvent;
use crate::sqlite::DbError;
use crate::tiles::TileMarks;
use crate::tiles::upkeep::{self, MAX_MARKED_TILES, SETTLE_EVENT_ROWS_S, ms_to_s};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::hash_map::Entry;

/// What an ingest stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestSummary {
    pub ingested: usize,
    pub first_id: Option<i64>,
    pub last_id: Option<i64>,
}

/// What this ingest has seen of a camera.
struct CameraBatch {
    /// Tiles ending by then are built: new events are OR-ed into them.
    built_until: i64,
    first_ms: i64,
    last_ms: i64,
    buckets: i64,
}

/// An open ingest transaction. Dropped without [`Ingest::commit`], it rolls back.
pub struct Ingest<'a> {
    db: &'a EventDb,
    insert: rusqlite::Statement<'a>,
    settled_until: i64,
    marks: TileMarks,
    cameras: FxHashMap<u32, CameraBatch>,
    /// Cameras without any stored tile (their first flush writes without reading).
    empty_cameras: FxHashSet<u32>,
    summary: IngestSummary,
    open: bool,
}

impl std::fmt::Debug for Ingest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("summary", &self.summary).finish()
    }
}

impl EventDb {
    /// Start an ingest (`BEGIN IMMEDIATE`: waits while another writer works). `now_s` is the
    /// clock that decides which tiles have settled.
    pub fn begin_ingest(&self, now_s: i64) -> Result<Ingest<'_>, DbError> {
        let insert = self.events().insert_statement()?;
        self.file().conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.file().sql_error(e))?;
        Ok(Ingest {
            db: self,
            insert,
            settled_until: now_s - SETTLE_EVENT_ROWS_S,
            marks: TileMarks::new(),
            cameras: FxHashMap::default(),
            empty_cameras: FxHashSet::default(),
            summary: IngestSummary::default(),
            open: true,
        })
    }
}

impl Ingest<'_> {
    /// The database this ingest writes (for bookkeeping in the same transaction).
    pub fn db(&self) -> &EventDb {
        self.db
    }

    /// Validate and insert one event; returns its id.
    pub fn add(&mut self, event: &NewEvent) -> Result<i64, DbError> {
        self.add_with(event, None)
    }

    /// [`Ingest::add`] for an event mirrored from a cyclops recording (keeps its id).
    pub fn add_with(&mut self, event: &NewEvent, cyclops_id: Option<i64>) -> Result<i64, DbError> {
        event.validate().map_err(|p| self.db.file().invalid(p))?;
        let row = self.db.events().insert_with(&mut self.insert, event, cyclops_id)?;
        let cam = match self.cameras.entry(row.camera) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let built_until = built_until(self.db, row.camera, self.settled_until)?;
                if !self.db.tiles().has_any(row.camera)? {
                    self.empty_cameras.insert(row.camera);
                }
                v.insert(CameraBatch { built_until, first_ms: i64::MAX, last_ms: i64::MIN, buckets: 0 })
            }
        };
        cam.first_ms = cam.first_ms.min(row.span.first_ms);
        cam.last_ms = cam.last_ms.max(row.span.last_ms);
        cam.buckets |= 1 << row.bucket.min(62);
        let until = cam.built_until;
        self.marks.mark(row.camera, row.span.class, ms_to_s(row.span.first_ms), ms_to_s(row.span.last_ms), until);
        if self.marks.len() >= MAX_MARKED_TILES {
            upkeep::flush(&self.db.tiles(), &mut self.marks, &mut self.empty_cameras)?;
        }
        self.summary.ingested += 1;
        self.summary.first_id.get_or_insert(row.id);
        self.summary.last_id = Some(row.id);
        Ok(row.id)
    }

    /// Store the camera state and tiles, move the watermarks, and commit.
    pub fn commit(mut self) -> Result<IngestSummary, DbError> {
        let events = self.db.events();
        let tiles = self.db.tiles();
        for (&camera, c) in &self.cameras {
            if c.first_ms <= c.last_ms {
                events.extend_camera_state(camera, c.first_ms, c.last_ms, c.buckets)?;
            }
        }
        let started = std::time::Instant::now();
        let marked = self.marks.len();
        upkeep::flush(&tiles, &mut self.marks, &mut self.empty_cameras)?;
        let flushed = started.elapsed();
        // Every camera's tiles settle with time, not only those of cameras in this batch.
        for (camera, _) in events.cameras()? {
            upkeep::advance(&tiles, &events, camera, self.settled_until)?;
        }
        tracing::debug!(
            "ingest commit: {marked} marked tiles OR-ed in {flushed:?}, watermarks moved in {:?}",
            started.elapsed() - flushed
        );
        self.db.file().conn.execute_batch("COMMIT").map_err(|e| self.db.file().sql_error(e))?;
        self.open = false;
        Ok(self.summary)
    }
}

/// A camera's watermark at its first event in this ingest: a camera whose tiles were never
/// built gets them built now from the rows it already has, up to the settled time.
fn built_until(db: &EventDb, camera: u32, settled_until: i64) -> Result<i64, DbError> {
    let tiles = db.tiles();
    match tiles.built_until(camera)? {
        Some(b) => Ok(b),
        None => {
            upkeep::build_all(&tiles, &db.events(), camera, settled_until)?;
            Ok(settled_until)
        }
    }
}

impl Drop for Ingest<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.file().conn.execute_batch("ROLLBACK");
            self.db.event_cache().clear(); // ids interned in the rolled-back transaction
        }
    }
}
