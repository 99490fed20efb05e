//! `<archive>/tessera.sqlite`: schema, connection settings, string interning, camera state.

use rusqlite::{Connection, OptionalExtension, params};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Tessera's own database file in an archive directory.
pub const DB_FILE: &str = "tessera.sqlite";

/// Schema version in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS event(
    id INTEGER PRIMARY KEY,
    camera INTEGER NOT NULL,
    class INTEGER NOT NULL,
    first_ms INTEGER NOT NULL,
    last_ms INTEGER NOT NULL,
    confidence REAL,
    boxes BLOB,
    cyclops_id INTEGER
);
CREATE INDEX IF NOT EXISTS idx_event_camera_time ON event(camera, first_ms);
CREATE TABLE IF NOT EXISTS tile(
    camera INTEGER NOT NULL,
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    blob BLOB NOT NULL,
    PRIMARY KEY(camera, level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS camera_state(
    camera INTEGER PRIMARY KEY,
    max_duration_ms INTEGER NOT NULL DEFAULT 0,
    first_ms INTEGER,
    last_ms INTEGER,
    tiles_built_until_s INTEGER
);
CREATE TABLE IF NOT EXISTS camera_class(camera INTEGER NOT NULL, class INTEGER NOT NULL, PRIMARY KEY(camera, class)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT);
";

#[derive(Debug, thiserror::Error)]
pub enum EventsError {
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

/// The event and tile database of one archive.
pub struct EventDb {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    strings: RefCell<HashMap<u32, String>>,
}

impl std::fmt::Debug for EventDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDb").field("path", &self.path).finish()
    }
}

impl EventDb {
    /// Open (creating if needed) the database of the archive at `root`. When `root` holds a
    /// cyclops `videos.sqlite`, its new events and tiles are mirrored in first.
    pub fn open(root: &Path) -> Result<Self, EventsError> {
        if !root.is_dir() {
            return Err(EventsError::Invalid {
                path: root.to_owned(),
                problem: "archive directory does not exist".into(),
            });
        }
        let path = root.join(DB_FILE);
        let cyclops = root.join(super::cyclops::CYCLOPS_DB);
        let opened = Connection::open(&path)
            .map_err(|source| EventsError::Sqlite { path: path.clone(), source })
            .and_then(|conn| Self::with_connection(conn, path.clone()));
        let mut db = match opened {
            Ok(db) => db,
            // A cyclops recording on read-only media: mirror it in memory for this session.
            Err(e) if cyclops.exists() => {
                tracing::warn!("{e}; mirroring {} in memory instead", cyclops.display());
                Self::open_in_memory()?
            }
            Err(e) => return Err(e),
        };
        if cyclops.exists() {
            super::cyclops::sync(&mut db, &cyclops, crate::UnixMicros::now().secs_floor())?;
        }
        Ok(db)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Self, EventsError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| EventsError::Sqlite { path: path.clone(), source })?;
        Self::with_connection(conn, path)
    }

    fn with_connection(conn: Connection, path: PathBuf) -> Result<Self, EventsError> {
        let db = Self { conn, path, strings: RefCell::new(HashMap::new()) };
        db.conn
            .execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;")
            .and_then(|()| db.conn.execute_batch(SCHEMA))
            .and_then(|()| db.migrate())
            .map_err(|e| db.sql_error(e))?;
        Ok(db)
    }

    /// Bring a database written by an earlier Tessera up to [`SCHEMA_VERSION`].
    fn migrate(&self) -> rusqlite::Result<()> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < 1 {
            // v1: camera_state keeps each camera's event bounds (O(1) tile requests).
            let has_bounds = self.conn.prepare("SELECT first_ms FROM camera_state LIMIT 0").is_ok();
            if !has_bounds {
                self.conn.execute_batch(
                    "ALTER TABLE camera_state ADD COLUMN first_ms INTEGER;
                     ALTER TABLE camera_state ADD COLUMN last_ms INTEGER;",
                )?;
            }
            self.conn.execute_batch(
                "UPDATE camera_state SET
                     first_ms = (SELECT min(first_ms) FROM event WHERE event.camera = camera_state.camera),
                     last_ms = (SELECT max(last_ms) FROM event WHERE event.camera = camera_state.camera);",
            )?;
        }
        self.conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn sql_error(&self, source: rusqlite::Error) -> EventsError {
        EventsError::Sqlite { path: self.path.clone(), source }
    }

    pub(crate) fn invalid(&self, problem: impl Into<String>) -> EventsError {
        EventsError::Invalid { path: self.path.clone(), problem: problem.into() }
    }

    /// Id of a string, creating it.
    pub fn intern(&self, value: &str) -> Result<u32, EventsError> {
        if let Some(id) = self.string_id(value)? {
            return Ok(id);
        }
        self.conn.execute("INSERT INTO strings(value) VALUES (?1)", [value]).map_err(|e| self.sql_error(e))?;
        let id = self.conn.last_insert_rowid() as u32;
        self.strings.borrow_mut().insert(id, value.to_owned());
        Ok(id)
    }

    /// Id of an existing string.
    pub fn string_id(&self, value: &str) -> Result<Option<u32>, EventsError> {
        self.conn
            .query_row("SELECT id FROM strings WHERE value = ?1", [value], |r| r.get::<_, u32>(0))
            .optional()
            .map_err(|e| self.sql_error(e))
    }

    /// The string with id `id` (cached).
    pub fn string(&self, id: u32) -> Result<String, EventsError> {
        if let Some(s) = self.strings.borrow().get(&id) {
            return Ok(s.clone());
        }
        let value: String = self
            .conn
            .query_row("SELECT value FROM strings WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql_error(e))?
            .ok_or_else(|| self.invalid(format!("strings has no id {id}")))?;
        self.strings.borrow_mut().insert(id, value.clone());
        Ok(value)
    }

    /// Longest event of a camera, in ms (bounds the overlap query).
    pub fn max_duration_ms(&self, camera: u32) -> Result<i64, EventsError> {
        self.conn
            .query_row("SELECT max_duration_ms FROM camera_state WHERE camera = ?1", [camera], |r| r.get(0))
            .optional()
            .map(|v| v.unwrap_or(0))
            .map_err(|e| self.sql_error(e))
    }

    /// Tiles ending at or before this second are built and persisted (absent = empty).
    pub fn tiles_built_until(&self, camera: u32) -> Result<Option<i64>, EventsError> {
        self.conn
            .query_row("SELECT tiles_built_until_s FROM camera_state WHERE camera = ?1", [camera], |r| r.get(0))
            .optional()
            .map(Option::flatten)
            .map_err(|e| self.sql_error(e))
    }

    pub(crate) fn set_tiles_built_until(&self, camera: u32, until_s: Option<i64>) -> Result<(), EventsError> {
        self.conn
            .execute(
                "INSERT INTO camera_state(camera, tiles_built_until_s) VALUES (?1, ?2)
                 ON CONFLICT(camera) DO UPDATE SET tiles_built_until_s = excluded.tiles_built_until_s",
                params![camera, until_s],
            )
            .map(|_| ())
            .map_err(|e| self.sql_error(e))
    }

    /// Forget the watermark (benchmarks force the synthesis path with it).
    pub fn set_tiles_built_until_for_bench(&self, camera: u32, until_s: Option<i64>) -> Result<(), EventsError> {
        self.set_tiles_built_until(camera, until_s)
    }

    /// A camera's classes as `(class id, name)` by id: the order new classes are added in,
    /// so a class's rank (its row bit in the timeline) never changes.
    pub fn camera_classes(&self, camera: u32) -> Result<Vec<(u32, String)>, EventsError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT cc.class, s.value FROM camera_class cc JOIN strings s ON s.id = cc.class WHERE cc.camera = ?1 ORDER BY cc.class")
            .map_err(|e| self.sql_error(e))?;
        let rows = stmt.query_map([camera], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// Cameras that have events, by name.
    pub fn cameras(&self) -> Result<Vec<(u32, String)>, EventsError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT e.camera, s.value FROM camera_state e JOIN strings s ON s.id = e.camera ORDER BY s.value")
            .map_err(|e| self.sql_error(e))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(|e| self.sql_error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.sql_error(e))
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction: all of it lands, or none of it.
    pub fn in_transaction<T>(&self, f: impl FnOnce(&Self) -> Result<T, EventsError>) -> Result<T, EventsError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.sql_error(e))?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.sql_error(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                self.strings.borrow_mut().clear(); // ids interned in the rolled-back transaction
                Err(e)
            }
        }
    }

    pub(crate) fn kv(&self, key: &str) -> Result<Option<String>, EventsError> {
        self.conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql_error(e))
    }

    pub(crate) fn set_kv(&self, key: &str, value: &str) -> Result<(), EventsError> {
        self.conn
            .execute(
                "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.sql_error(e))
    }
}
