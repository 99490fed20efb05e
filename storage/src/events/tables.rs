//! The event tables' schema, string interning and per-camera state.

use super::MAX_CLASSES_PER_CAMERA;
use crate::sqlite::{DbError, SqliteFile};
use rusqlite::{OptionalExtension, params};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use std::cell::RefCell;

/// The event tables as a fresh database gets them (schema version 2).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS event(
    id INTEGER PRIMARY KEY,
    camera INTEGER NOT NULL,
    class INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    bucket INTEGER NOT NULL DEFAULT 0,
    confidence REAL,
    boxes BLOB,
    cyclops_id INTEGER
);
CREATE INDEX IF NOT EXISTS idx_event_span ON event(camera, bucket, first_ms);
CREATE TABLE IF NOT EXISTS camera_state(
    camera INTEGER PRIMARY KEY,
    first_ms INTEGER,
    last_ms INTEGER,
    buckets INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS camera_class(camera INTEGER NOT NULL, class INTEGER NOT NULL, PRIMARY KEY(camera, class)) WITHOUT ROWID;
";

/// What readers and writers remember between calls: interned strings both ways and the
/// (camera, class) pairs known to exist. Cleared when a transaction rolls back.
#[derive(Default)]
pub struct EventCache {
    names: RefCell<HashMap<u32, String>>,
    ids: RefCell<HashMap<String, u32>>,
    camera_classes: RefCell<HashSet<(u32, u32)>>,
}

impl EventCache {
    pub fn clear(&self) {
        self.names.borrow_mut().clear();
        self.ids.borrow_mut().clear();
        self.camera_classes.borrow_mut().clear();
    }
}

/// The event tables of one open database (a cheap view).
#[derive(Clone, Copy)]
pub struct Events<'a> {
    pub(crate) file: &'a SqliteFile,
    pub(crate) cache: &'a EventCache,
}

impl std::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("file", &self.file.path()).finish()
    }
}

/// v0 → v1: `camera_state` keeps each camera's event bounds.
pub(crate) fn migrate_to_v1(file: &SqliteFile) -> Result<(), DbError> {
    let conn = &file.conn;
    let has_bounds = conn.prepare("SELECT first_ms FROM camera_state LIMIT 0").is_ok();
    let run = || -> rusqlite::Result<()> {
        if !has_bounds {
            conn.execute_batch(
                "ALTER TABLE camera_state ADD COLUMN first_ms INTEGER;
                 ALTER TABLE camera_state ADD COLUMN last_ms INTEGER;",
            )?;
        }
        conn.execute_batch(
            "UPDATE camera_state SET
                 first_ms = (SELECT min(first_ms) FROM event WHERE event.camera = camera_state.camera),
                 last_ms = (SELECT max(last_ms) FROM event WHERE event.camera = camera_state.camera);",
        )
    };
    run().map_err(|e| file.sql_error(e))
}

/// v1 → v2: the duration-bucket interval index replaces `(camera, first_ms)` widened by the
/// camera's longest event.
pub(crate) fn migrate_to_v2(file: &SqliteFile) -> Result<(), DbError> {
    let conn = &file.conn;
    let run = || -> rusqlite::Result<()> {
        conn.execute_batch(
            "ALTER TABLE event ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0;
             ALTER TABLE camera_state ADD COLUMN buckets INTEGER NOT NULL DEFAULT 0;",
        )?;
        let rows: Vec<(i64, i64, i64)> = {
            let mut stmt = conn.prepare("SELECT id, first_ms, last_ms FROM event WHERE last_ms > first_ms")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?
        };
        let mut update = conn.prepare("UPDATE event SET bucket = ?1 WHERE id = ?2")?;
        for (id, first, last) in rows {
            update.execute(params![super::duration_bucket(first, last), id])?;
        }
        conn.execute_batch(
            "DROP INDEX IF EXISTS idx_event_camera_time;
             CREATE INDEX IF NOT EXISTS idx_event_span ON event(camera, bucket, first_ms);",
        )?;
        let masks: Vec<(u32, u32)> = {
            let mut stmt = conn.prepare("SELECT DISTINCT camera, bucket FROM event")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
        };
        for (camera, bucket) in masks {
            conn.execute(
                "UPDATE camera_state SET buckets = buckets | ?1 WHERE camera = ?2",
                params![1i64 << bucket.min(62), camera],
            )?;
        }
        Ok(())
    };
    run().map_err(|e| file.sql_error(e))
}

impl<'a> Events<'a> {
    pub fn new(file: &'a SqliteFile, cache: &'a EventCache) -> Self {
        Self { file, cache }
    }

    pub(crate) fn sql(&self, e: rusqlite::Error) -> DbError {
        self.file.sql_error(e)
    }

    /// Id of a string, creating it.
    pub fn intern(&self, value: &str) -> Result<u32, DbError> {
        if let Some(&id) = self.cache.ids.borrow().get(value) {
            return Ok(id);
        }
        if let Some(id) = self.string_id(value)? {
            return Ok(id);
        }
        self.file
            .conn
            .prepare_cached("INSERT INTO strings(value) VALUES (?1)")
            .and_then(|mut s| s.execute([value]))
            .map_err(|e| self.sql(e))?;
        let id = self.file.conn.last_insert_rowid() as u32;
        self.remember(id, value);
        Ok(id)
    }

    fn remember(&self, id: u32, value: &str) {
        self.cache.ids.borrow_mut().insert(value.to_owned(), id);
        self.cache.names.borrow_mut().insert(id, value.to_owned());
    }

    /// Id of an existing string.
    pub fn string_id(&self, value: &str) -> Result<Option<u32>, DbError> {
        if let Some(&id) = self.cache.ids.borrow().get(value) {
            return Ok(Some(id));
        }
        let id = self
            .file
            .conn
            .prepare_cached("SELECT id FROM strings WHERE value = ?1")
            .and_then(|mut s| s.query_row([value], |r| r.get::<_, u32>(0)).optional())
            .map_err(|e| self.sql(e))?;
        if let Some(id) = id {
            self.remember(id, value);
        }
        Ok(id)
    }

    /// The string with id `id` (cached). Every name a reader hands out comes from here, read
    /// once per connection and clipped ([`crate::names::clip_stored`]): a huge name stored
    /// before names were bounded costs one bounded read, not a copy per event.
    pub fn string(&self, id: u32) -> Result<String, DbError> {
        if let Some(s) = self.cache.names.borrow().get(&id) {
            return Ok(s.clone());
        }
        let value: String = self
            .file
            .conn
            .prepare_cached("SELECT substr(value, 1, ?2) FROM strings WHERE id = ?1")
            .and_then(|mut s| s.query_row(params![id, crate::names::STORED_READ_CHARS as i64], |r| r.get(0)).optional())
            .map_err(|e| self.sql(e))?
            .ok_or_else(|| self.file.invalid(format!("strings has no id {id}")))?;
        let value = crate::names::clip_stored(value, crate::names::MAX_NAME_BYTES);
        self.remember(id, &value);
        Ok(value)
    }

    /// Record that `camera` has `class` (a new class gets the next tile row).
    pub(crate) fn add_camera_class(&self, camera: u32, class: u32) -> Result<(), DbError> {
        if self.cache.camera_classes.borrow().contains(&(camera, class)) {
            return Ok(());
        }
        let added = self
            .file
            .conn
            .prepare_cached("INSERT OR IGNORE INTO camera_class(camera, class) VALUES (?1, ?2)")
            .and_then(|mut s| s.execute([camera, class]))
            .map_err(|e| self.sql(e))?;
        if added > 0 {
            let n: i64 = self
                .file
                .conn
                .query_row("SELECT count(*) FROM camera_class WHERE camera = ?1", [camera], |r| r.get(0))
                .map_err(|e| self.sql(e))?;
            if n as usize > MAX_CLASSES_PER_CAMERA {
                let name = self.string(camera)?;
                return Err(self
                    .file
                    .invalid(format!("camera {name} would have more than {MAX_CLASSES_PER_CAMERA} classes")));
            }
        }
        self.cache.camera_classes.borrow_mut().insert((camera, class));
        Ok(())
    }

    /// A camera's classes as `(class id, name)` by id: the order new classes are added in,
    /// so a class's rank (its row bit in the timeline) never changes.
    pub fn camera_classes(&self, camera: u32) -> Result<Vec<(u32, String)>, DbError> {
        let mut stmt = self
            .file
            .conn
            .prepare_cached("SELECT class FROM camera_class WHERE camera = ?1 ORDER BY class")
            .map_err(|e| self.sql(e))?;
        let ids = stmt.query_map([camera], |r| r.get(0)).map_err(|e| self.sql(e))?;
        let ids: Vec<u32> = ids.collect::<Result<_, _>>().map_err(|e| self.sql(e))?;
        ids.into_iter().map(|id| Ok((id, self.string(id)?))).collect()
    }

    /// Cameras that have events, by name.
    pub fn cameras(&self) -> Result<Vec<(u32, String)>, DbError> {
        let mut stmt = self.file.conn.prepare("SELECT camera FROM camera_state").map_err(|e| self.sql(e))?;
        let ids = stmt.query_map([], |r| r.get(0)).map_err(|e| self.sql(e))?;
        let ids: Vec<u32> = ids.collect::<Result<_, _>>().map_err(|e| self.sql(e))?;
        let mut cameras = ids.into_iter().map(|id| Ok((id, self.string(id)?))).collect::<Result<Vec<_>, DbError>>()?;
        cameras.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(cameras)
    }

    /// Widen a camera's bounds and duration buckets by those of newly inserted events.
    pub(crate) fn extend_camera_state(
        &self,
        camera: u32,
        first_ms: i64,
        last_ms: i64,
        buckets: i64,
    ) -> Result<(), DbError> {
        self.file
            .conn
            .prepare_cached(
                "INSERT INTO camera_state(camera, first_ms, last_ms, buckets) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(camera) DO UPDATE SET
                     first_ms = min(coalesce(first_ms, excluded.first_ms), excluded.first_ms),
                     last_ms = max(coalesce(last_ms, excluded.last_ms), excluded.last_ms),
                     buckets = buckets | excluded.buckets",
            )
            .and_then(|mut s| s.execute(params![camera, first_ms, last_ms, buckets]))
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// The duration buckets a camera's events fall in, as a bit mask.
    pub fn buckets(&self, camera: u32) -> Result<i64, DbError> {
        self.file
            .conn
            .prepare_cached("SELECT buckets FROM camera_state WHERE camera = ?1")
            .and_then(|mut s| s.query_row([camera], |r| r.get(0)).optional())
            .map(|v| v.unwrap_or(0))
            .map_err(|e| self.sql(e))
    }

    /// First and last ms of a camera's events (kept in `camera_state`: O(1)).
    pub fn bounds(&self, camera: u32) -> Result<Option<(i64, i64)>, DbError> {
        self.file
            .conn
            .prepare_cached("SELECT first_ms, last_ms FROM camera_state WHERE camera = ?1")
            .and_then(|mut s| {
                s.query_row([camera], |r| Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))).optional()
            })
            .map(Option::flatten)
            .map_err(|e| self.sql(e))
    }
}
