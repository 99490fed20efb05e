//! The archive's event database, `<archive>/tessera.sqlite`: the layer above [`crate::events`]
//! and [`crate::tiles`] that opens the file for the job at hand, sets the schema up (writers
//! only) and owns "ingest = insert + tile upkeep" ([`ingest`]) and the mirroring of cyclops
//! recordings ([`cyclops`]).
//!
//! - [`EventDb::open_read`]: for commands that only read (`events list`, `tiles get`,
//!   `render-timeline`, the GUI). Never writes a byte: a directory that holds no archive is
//!   refused; an archive without events reads as empty; an archive that no one can write is
//!   opened immutable. A cyclops recording is mirrored first — into `tessera.sqlite` when the
//!   archive is writable, else into memory for this session.
//! - [`EventDb::open_write`]: for commands that write (`events ingest`, `tiles rebuild`, the
//!   demo). Creates or upgrades the schema; waits for another writer instead of failing.

pub mod bookmarks;
pub mod cyclops;
pub mod ingest;

use crate::events::tables::EventCache;
use crate::events::{EventRow, Events, NewEvent};
use crate::sqlite::{Access, DbError, SqliteFile};
use crate::tiles::{TileService, TileStore, upkeep};
use rusqlite::OptionalExtension;
use std::path::Path;

pub use ingest::{Ingest, IngestSummary};

/// Tessera's own database file in an archive directory.
pub const DB_FILE: &str = "tessera.sqlite";

/// Schema version in `PRAGMA user_version`: 2 = duration-bucket interval index, `tile_state`,
/// CRC-checked tile blobs.
pub const SCHEMA_VERSION: i64 = 2;

/// A camera id and a span of its events, `[first_ms, last_ms]`.
pub type CameraSpan = (u32, i64, i64);

const KV_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT);";

/// A stream's sky camera as stored (`kv` key `sky/<stream>`): the camera file's TOML text
/// (kept in the archive, so moving the camera file does not break it) and the feder store.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SkyLinkText {
    pub camera_toml: String,
    pub store: std::path::PathBuf,
}

fn sky_key(stream: &str) -> String {
    format!("sky/{stream}")
}

/// The event and tile database of one archive.
pub struct EventDb {
    file: SqliteFile,
    cache: EventCache,
}

impl std::fmt::Debug for EventDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventDb").field("file", &self.file).finish()
    }
}

fn not_a_dir(root: &Path) -> DbError {
    DbError::Invalid { path: root.to_owned(), problem: "archive directory does not exist".into() }
}

fn not_an_archive(root: &Path) -> DbError {
    DbError::Invalid {
        path: root.to_owned(),
        problem: format!("not a Tessera archive (no {DB_FILE}, fsv/ or {})", cyclops::CYCLOPS_DB),
    }
}

/// Whether `root` holds an archive: Tessera's database, an `fsv/` directory or a cyclops
/// recording. Commands that would otherwise create one by accident (`tiles rebuild`) ask.
pub fn is_archive(root: &Path) -> bool {
    root.join(DB_FILE).is_file() || root.join("fsv").is_dir() || root.join(cyclops::CYCLOPS_DB).is_file()
}

/// Refuse a directory that holds no archive, naming it.
pub fn require_archive(root: &Path) -> Result<(), DbError> {
    if !root.is_dir() {
        return Err(not_a_dir(root));
    }
    if is_archive(root) { Ok(()) } else { Err(not_an_archive(root)) }
}

/// Whether this process may create and write `tessera.sqlite` in `root`.
fn may_write_db(root: &Path) -> bool {
    let writable = |p: &Path| rustix::fs::access(p, rustix::fs::Access::WRITE_OK).is_ok();
    let db = root.join(DB_FILE);
    writable(root) && (!db.exists() || writable(&db))
}

impl EventDb {
    /// Open the database of the archive at `root` for reading (see the module doc).
    pub fn open_read(root: &Path) -> Result<Self, DbError> {
        if !root.is_dir() {
            return Err(not_a_dir(root));
        }
        let path = root.join(DB_FILE);
        let cyclops = root.join(cyclops::CYCLOPS_DB);
        if cyclops.exists() {
            let mut db = if may_write_db(root) { Self::open_write_file(&path)? } else { Self::open_in_memory()? };
            cyclops::sync(&mut db, &cyclops, crate::UnixMicros::now().secs_floor())?;
            return Ok(db);
        }
        if !path.exists() {
            if root.join("fsv").is_dir() {
                return Self::open_in_memory(); // an archive without events yet
            }
            return Err(not_an_archive(root));
        }
        let file = SqliteFile::open_read(&path)?;
        let version = file.user_version()?;
        if version == SCHEMA_VERSION {
            return Ok(Self { file, cache: EventCache::default() });
        }
        if version == 0 && file.is_empty()? {
            return Self::open_in_memory(); // created by a writer that has not set it up yet
        }
        if version > SCHEMA_VERSION {
            return Err(file.invalid(format!(
                "schema version {version} was written by a newer Tessera (this one reads {SCHEMA_VERSION})"
            )));
        }
        if !may_write_db(root) {
            return Err(file.invalid(format!(
                "schema version {version} predates this Tessera ({SCHEMA_VERSION}) and the file is read-only; \
                 upgrade a writable copy with `tessera tiles rebuild --archive DIR`"
            )));
        }
        drop(file);
        drop(Self::open_write_file(&path)?); // the one-time upgrade
        Ok(Self { file: SqliteFile::open_read(&path)?, cache: EventCache::default() })
    }

    /// Open (creating if needed) the database of the archive at `root` for writing. When `root`
    /// holds a cyclops `videos.sqlite`, its new events and tiles are mirrored in first.
    pub fn open_write(root: &Path) -> Result<Self, DbError> {
        if !root.is_dir() {
            return Err(not_a_dir(root));
        }
        let mut db = Self::open_write_file(&root.join(DB_FILE))?;
        let cyclops = root.join(cyclops::CYCLOPS_DB);
        if cyclops.exists() {
            cyclops::sync(&mut db, &cyclops, crate::UnixMicros::now().secs_floor())?;
        }
        Ok(db)
    }

    fn open_write_file(path: &Path) -> Result<Self, DbError> {
        let db = Self { file: SqliteFile::open_write(path)?, cache: EventCache::default() };
        db.set_up()?;
        Ok(db)
    }

    /// A private in-memory database (tests, benchmarks, archives without events).
    pub fn open_in_memory() -> Result<Self, DbError> {
        let db = Self { file: SqliteFile::in_memory()?, cache: EventCache::default() };
        db.set_up()?;
        Ok(db)
    }

    /// Create the schema or bring it up to [`SCHEMA_VERSION`] (writers only; nothing is
    /// written when it is current).
    fn set_up(&self) -> Result<(), DbError> {
        if self.file.user_version()? == SCHEMA_VERSION {
            return Ok(());
        }
        self.file.in_transaction(|| {
            // Decided again under the write lock: another writer may have done it meanwhile.
            let version = self.file.user_version()?;
            let fresh = self.file.is_empty()?;
            if version > SCHEMA_VERSION {
                return Err(self.file.invalid(format!(
                    "schema version {version} was written by a newer Tessera (this one writes {SCHEMA_VERSION})"
                )));
            }
            if version == SCHEMA_VERSION {
                return Ok(());
            }
            if !fresh {
                if version < 1 {
                    crate::events::tables::migrate_to_v1(&self.file)?;
                }
                crate::events::tables::migrate_to_v2(&self.file)?;
                crate::tiles::store::migrate_to_v2(&self.file)?;
            }
            let sql = |e| self.file.sql_error(e);
            self.file.conn.execute_batch(crate::events::tables::SCHEMA).map_err(sql)?;
            self.file.conn.execute_batch(crate::tiles::store::SCHEMA).map_err(sql)?;
            self.file.conn.execute_batch(KV_SCHEMA).map_err(sql)?;
            self.file.conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}")).map_err(sql)
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// How the file is open (tests check that readers never write).
    pub fn access(&self) -> Access {
        self.file.access()
    }

    /// The event tables.
    pub fn events(&self) -> Events<'_> {
        Events::new(&self.file, &self.cache)
    }

    /// The tile tables.
    pub fn tiles(&self) -> TileStore<'_> {
        TileStore::new(&self.file)
    }

    /// A tile service reading this database.
    pub fn tile_service(&self) -> TileService<'_, Events<'_>> {
        TileService::new(self.tiles(), self.events())
    }

    /// Id of an existing string (a camera or class name).
    pub fn string_id(&self, value: &str) -> Result<Option<u32>, DbError> {
        self.events().string_id(value)
    }

    /// The string with id `id`.
    pub fn string(&self, id: u32) -> Result<String, DbError> {
        self.events().string(id)
    }

    /// Cameras that have events, by name.
    pub fn cameras(&self) -> Result<Vec<(u32, String)>, DbError> {
        self.events().cameras()
    }

    /// Events of `camera` overlapping `[from_ms, to_ms]`, by first time.
    pub fn list_events(&self, camera: &str, from_ms: i64, to_ms: i64) -> Result<Vec<EventRow>, DbError> {
        self.events().list(camera, from_ms, to_ms)
    }

    /// Boxes of `camera`'s events at `t_ms` (see [`crate::events::store::box_at`]).
    pub fn boxes_at(
        &self,
        camera: &str,
        t_ms: i64,
        max_gap_ms: i64,
    ) -> Result<Vec<(EventRow, crate::events::BoxAt)>, DbError> {
        self.events().boxes_at(camera, t_ms, max_gap_ms)
    }

    /// The next (`forward`) or previous event start of `camera` from `from_ms` (exclusive)
    /// among `classes` (all when empty).
    pub fn step_event(
        &self,
        camera: &str,
        from_ms: i64,
        forward: bool,
        classes: &[String],
    ) -> Result<Option<EventRow>, DbError> {
        self.events().step(camera, from_ms, forward, classes)
    }

    /// Insert events (and update tiles) in one transaction; returns their ids. `now_s` is the
    /// clock that decides which tiles have settled.
    pub fn insert_events(&self, events: &[NewEvent], now_s: i64) -> Result<Vec<i64>, DbError> {
        let mut ingest = self.begin_ingest(now_s)?;
        let mut ids = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            ids.push(ingest.add(e).map_err(|err| self.file.invalid(format!("event {i}: {err}")))?);
        }
        ingest.commit()?;
        Ok(ids)
    }

    /// Delete and rebuild every camera's tiles from its events (and re-mirror a cyclops
    /// recording's tiles). Returns `(camera, tiles stored)` per camera.
    pub fn rebuild_tiles(&self, now_s: i64) -> Result<Vec<(String, usize)>, DbError> {
        let cameras = self.cameras()?;
        let mut out = Vec::new();
        self.in_transaction(|| {
            for (id, name) in &cameras {
                upkeep::rebuild(&self.tiles(), &self.events(), *id, now_s)?;
                out.push((name.clone(), self.tiles().count(*id)?));
            }
            Ok(())
        })?;
        if let Some(root) = self.path().parent() {
            let cyclops_db = root.join(cyclops::CYCLOPS_DB);
            if cyclops_db.exists() {
                self.set_kv(cyclops::TILES_SYNCED_KEY, &i64::MIN.to_string())?;
                cyclops::sync_tiles_from(self, &cyclops_db, now_s)?;
            }
        }
        Ok(out)
    }

    /// Move a camera's tile watermark to `until_s`, building what settles (tests, benches).
    pub fn advance_tiles(&self, camera: u32, until_s: i64) -> Result<(), DbError> {
        self.in_transaction(|| upkeep::advance(&self.tiles(), &self.events(), camera, until_s))
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction: all of it lands, or none of it.
    pub fn in_transaction<T, E: From<DbError>>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.file.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| E::from(self.file.sql_error(e)))?;
        match f() {
            Ok(v) => {
                self.file.conn.execute_batch("COMMIT").map_err(|e| E::from(self.file.sql_error(e)))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.file.conn.execute_batch("ROLLBACK");
                self.cache.clear(); // ids interned in the rolled-back transaction
                Err(e)
            }
        }
    }

    pub(crate) fn file(&self) -> &SqliteFile {
        &self.file
    }

    pub(crate) fn event_cache(&self) -> &EventCache {
        &self.cache
    }

    /// The sky camera tied to `stream` (`tessera traj attach`), if any: the camera file's
    /// text and the feder store's path, as stored.
    pub fn sky_link(&self, stream: &str) -> Result<Option<SkyLinkText>, DbError> {
        let Some(json) = self.kv_if_present(&sky_key(stream))? else { return Ok(None) };
        serde_json::from_str(&json).map(Some).map_err(|e| self.file.invalid(format!("sky link of {stream}: {e}")))
    }

    /// Tie a sky camera and a feder store to `stream` (writers only).
    pub fn set_sky_link(&self, stream: &str, link: &SkyLinkText) -> Result<(), DbError> {
        let json = serde_json::to_string(link).map_err(|e| self.file.invalid(e.to_string()))?;
        self.set_kv(&sky_key(stream), &json)
    }

    /// `PRAGMA data_version`: changes when another connection commits to the file (a
    /// follower's cheap "anything new?").
    pub fn data_version(&self) -> Result<i64, DbError> {
        self.file.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| self.file.sql_error(e))
    }

    /// The newest event's id (0 without events).
    pub fn newest_event_id(&self) -> Result<i64, DbError> {
        if !self.has_table("event")? {
            return Ok(0);
        }
        self.file
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM event", [], |r| r.get(0))
            .map_err(|e| self.file.sql_error(e))
    }

    /// The events added after event id `after` (events are only appended, so ids only grow):
    /// per camera id, the span `[first_ms, last_ms]` they cover, and the newest id (`after`
    /// when there is none; 0 for a file without events yet).
    pub fn events_after(&self, after: i64) -> Result<(Vec<CameraSpan>, i64), DbError> {
        if !self.has_table("event")? {
            return Ok((Vec::new(), after));
        }
        let mut stmt = self
            .file
            .conn
            .prepare_cached(
                "SELECT camera, min(first_ms), max(last_ms), max(id) FROM event WHERE id > ?1 GROUP BY camera",
            )
            .map_err(|e| self.file.sql_error(e))?;
        let rows = stmt
            .query_map([after], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?, r.get::<_, i64>(3)?))
            })
            .map_err(|e| self.file.sql_error(e))?;
        let mut spans = Vec::new();
        let mut newest = after;
        for row in rows {
            let (camera, first, last, id) = row.map_err(|e| self.file.sql_error(e))?;
            spans.push((camera, first, last));
            newest = newest.max(id);
        }
        Ok((spans, newest))
    }

    /// Whether the file has table `name` (a reader may open it before any writer set it up).
    fn has_table(&self, name: &str) -> Result<bool, DbError> {
        self.file
            .conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?1", [name], |r| r.get(0))
            .map_err(|e| self.file.sql_error(e))
    }

    /// A key's value; `None` also when the file has no `kv` table (an archive a reader opened
    /// before any writer set it up).
    fn kv_if_present(&self, key: &str) -> Result<Option<String>, DbError> {
        if self.has_table("kv")? { self.kv(key) } else { Ok(None) }
    }

    pub(crate) fn kv(&self, key: &str) -> Result<Option<String>, DbError> {
        self.file
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.file.sql_error(e))
    }

    pub(crate) fn set_kv(&self, key: &str, value: &str) -> Result<(), DbError> {
        self.file
            .conn
            .execute(
                "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| self.file.sql_error(e))
    }
}

#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;
