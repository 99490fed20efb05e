//! The labelling catalog, `<catalog>/catalog.sqlite`: projects, their classifications (a
//! labelled video or image and its frames file) and each project's population state
//! (`pending | populating | ready | failed`, target rate, rows written, progress, times,
//! error, the populating process).
//!
//! A claim is atomic (`BEGIN IMMEDIATE`, then `UPDATE … WHERE status <> 'populating'`). A
//! populator writes a heartbeat at least every second; a `populating` project whose process
//! is gone, or whose heartbeat is older than [`STALE_AFTER_MS`], is *stale*: reported as
//! failed ("populator lost") and cleared by `populate --reset`. A failed run of a project
//! that was `ready` when claimed (its rate and rows remembered in `frame_table_last_ready`)
//! leaves it `ready` with those rows and the error; one that had none is `failed`.
//!
//! Readers (`status`, `query`, `rebuild-msgpacks`, the GUI) open it with [`Catalog::open_read`]:
//! read-only, or immutable on media nobody can write (as `tessera.sqlite`, see
//! [`crate::sqlite`]), so they work on a catalog another user owns and never change a byte.
//! Schema set-up happens only in writers; a reader of an older catalog treats a table it
//! lacks as empty.
//!
//! Frames paths inside the catalog's folder are stored relative to it (see
//! [`super::frames_path`]) and resolved against the catalog directory when read.

use super::frames_path;
use crate::sqlite::{DbError, SqliteFile};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use std::path::{Path, PathBuf};

pub const CATALOG_FILE: &str = "catalog.sqlite";
/// A heartbeat older than this means the populator is gone.
pub const STALE_AFTER_MS: i64 = 60_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS project (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS classification (
  id INTEGER PRIMARY KEY,
  project_id INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('video', 'image')),
  frames TEXT NOT NULL,
  dyn_attrs TEXT,
  stream TEXT,
  start_us INTEGER);
CREATE INDEX IF NOT EXISTS classification_project ON classification(project_id);
CREATE TABLE IF NOT EXISTS frame_table_config (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  chunk_interval TEXT NOT NULL DEFAULT '1 day',
  compress_after TEXT,
  compress_segmentby TEXT NOT NULL DEFAULT 'project_id,classification_id',
  compress_orderby TEXT NOT NULL DEFAULT 'frame_time');
INSERT OR IGNORE INTO frame_table_config (singleton) VALUES (1);
CREATE TABLE IF NOT EXISTS video_record (
  classification_id INTEGER PRIMARY KEY,
  header TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frame_table_project (
  project_id INTEGER PRIMARY KEY,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'populating', 'ready', 'failed')),
  target_fps TEXT NOT NULL DEFAULT '1',
  rows_written INTEGER NOT NULL DEFAULT 0,
  progress REAL NOT NULL DEFAULT 0,
  started_at INTEGER, finished_at INTEGER, heartbeat_at INTEGER,
  error TEXT,
  worker_pid INTEGER);
CREATE TABLE IF NOT EXISTS frame_table_last_ready (
  project_id INTEGER PRIMARY KEY,
  target_fps TEXT NOT NULL,
  rows_written INTEGER NOT NULL,
  finished_at INTEGER);
";

/// What a catalog operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("{0}")]
    Invalid(String),
    /// A targeted project is being populated (exit code 3 in the CLI).
    #[error("{0}")]
    Busy(String),
}

/// The catalog database of a catalog directory.
#[derive(Debug)]
pub struct Catalog {
    conn: Connection,
    path: PathBuf,
    pub dir: PathBuf,
}

/// The manifest `catalog import` reads.
#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub projects: Vec<ManifestProject>,
}

impl Manifest {
    /// Check every entry before anything is written, naming the first bad one: ids unique
    /// (projects among projects, classifications across the manifest), kinds known, frames
    /// paths neither empty nor holding a NUL byte nor naming a directory or other non-regular
    /// file. Returns each classification's frames path resolved against `base` (the
    /// manifest's folder), absolute, in manifest order.
    pub fn check(&self, base: &Path) -> Result<Vec<Vec<PathBuf>>, String> {
        let base = base.canonicalize().map_err(|e| format!("{}: {e}", base.display()))?;
        let mut projects = std::collections::HashSet::new();
        let mut classifications = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(self.projects.len());
        for p in &self.projects {
            if !projects.insert(p.id) {
                return Err(format!("project {} appears twice", p.id));
            }
            let mut paths = Vec::with_capacity(p.classifications.len());
            for c in &p.classifications {
                let entry = format!("project {}, classification {}", p.id, c.id);
                if let Some(first) = classifications.insert(c.id, p.id) {
                    return Err(format!("{entry}: classification {} appears twice (first in project {first})", c.id));
                }
                if c.kind != "video" && c.kind != "image" {
                    return Err(format!("{entry}: kind {:?} is neither \"video\" nor \"image\"", c.kind));
                }
                paths.push(frames_path::resolve_entry(&c.frames, &base).map_err(|e| format!("{entry}: {e}"))?);
            }
            out.push(paths);
        }
        Ok(out)
    }
}

#[derive(Debug, Deserialize)]
pub struct ManifestProject {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub classifications: Vec<ManifestClassification>,
}

#[derive(Debug, Deserialize)]
pub struct ManifestClassification {
    pub id: i64,
    pub kind: String,
    pub frames: PathBuf,
    #[serde(default)]
    pub stream: Option<String>,
    #[serde(default)]
    pub start_us: Option<i64>,
    #[serde(default)]
    pub dyn_attrs: Option<serde_json::Value>,
}

/// One classification as catalogued.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    pub id: i64,
    pub project_id: i64,
    pub kind: String,
    pub frames: PathBuf,
    pub dyn_attrs: Option<String>,
    pub stream: Option<String>,
}

/// A project's population state.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProjectState {
    pub id: i64,
    pub name: String,
    /// `pending`, `populating`, `ready` or `failed` (a stale `populating` reads `failed`).
    pub status: String,
    pub fps: String,
    pub rows: i64,
    pub progress: f64,
    pub error: Option<String>,
    /// A `populating` claim whose process is gone.
    pub stale: bool,
    pub started_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
    pub heartbeat_at_ms: Option<i64>,
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Whether process `pid` exists on this machine.
fn alive(pid: i64) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) else { return false };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM, // exists, owned by someone else
    }
}

impl Catalog {
    /// Open (creating when `create`) the catalog of `dir`.
    pub fn open(dir: &Path, create: bool) -> Result<Self, CatalogError> {
        let path = dir.join(CATALOG_FILE);
        if !create && !path.is_file() {
            return Err(CatalogError::Invalid(format!(
                "{}: no catalog here (create one with `tessera catalog import`)",
                dir.display()
            )));
        }
        if create {
            std::fs::create_dir_all(dir)
                .map_err(|e| CatalogError::Invalid(format!("{}: cannot create: {e}", dir.display())))?;
        }
        let sql = |error| DbError::Sqlite { path: path.clone(), error };
        let conn = Connection::open(&path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(sql)?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        Ok(Catalog { conn, path, dir: dir.to_path_buf() })
    }

    /// Open the catalog of `dir` for reading only: nothing is created or changed, and it
    /// works on a catalog this user cannot write.
    pub fn open_read(dir: &Path) -> Result<Self, CatalogError> {
        let path = dir.join(CATALOG_FILE);
        if !path.is_file() {
            return Err(CatalogError::Invalid(format!(
                "{}: no catalog here (create one with `tessera catalog import`)",
                dir.display()
            )));
        }
        let file = SqliteFile::open_read(&path)?;
        Ok(Catalog { conn: file.conn, path, dir: dir.to_path_buf() })
    }

    /// Whether the catalog has table `name` (a reader of an older catalog may miss one).
    fn has_table(&self, name: &str) -> Result<bool, CatalogError> {
        self.conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
            .map_err(self.sql())
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
        |error| CatalogError::Db(DbError::Sqlite { path: self.path.clone(), error })
    }

    /// Add the manifest's projects and classifications (relative frames paths are relative
    /// to `base`, the manifest's folder), all or nothing. The manifest is checked first
    /// ([`Manifest::check`]); a project already in the catalog must come with the same name
    /// and the same classifications (then their fields are updated), and a classification
    /// may not move to another project: a manifest never renames or merges silently. Frames
    /// paths inside the catalog's folder are stored relative to it (older absolute ones are
    /// converted too). Returns (projects, classifications).
    pub fn import(&mut self, manifest: &Manifest, base: &Path) -> Result<(usize, usize), CatalogError> {
        let resolved = manifest.check(base).map_err(CatalogError::Invalid)?;
        let dir = self.dir.canonicalize().map_err(|e| CatalogError::Invalid(format!("{}: {e}", self.dir.display())))?;
        let path = self.path.clone();
        let sql = |error| CatalogError::Db(DbError::Sqlite { path: path.clone(), error });
        let tx = self.conn.transaction().map_err(sql)?;
        let mut n = 0;
        for (p, frames) in manifest.projects.iter().zip(&resolved) {
            let name: Option<String> =
                tx.query_row("SELECT name FROM project WHERE id = ?1", [p.id], |r| r.get(0)).optional().map_err(sql)?;
            if let Some(name) = name {
                if name != p.name {
                    return Err(CatalogError::Invalid(format!(
                        "project {} is already in the catalog as {name:?}; the manifest names it {:?} \
                         (a manifest never renames a project)",
                        p.id, p.name
                    )));
                }
                let mut have: Vec<i64> = tx
                    .prepare("SELECT id FROM classification WHERE project_id = ?1 ORDER BY id")
                    .and_then(|mut st| st.query_map([p.id], |r| r.get(0))?.collect())
                    .map_err(sql)?;
                let mut want: Vec<i64> = p.classifications.iter().map(|c| c.id).collect();
                have.sort();
                want.sort();
                if have != want {
                    return Err(CatalogError::Invalid(format!(
                        "project {} is already in the catalog with classifications {have:?}; the manifest lists \
                         {want:?} (a manifest never merges into an existing project)",
                        p.id
                    )));
                }
            }
            tx.execute(
                "INSERT INTO project (id, name) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
                params![p.id, p.name],
            )
            .map_err(sql)?;
            tx.execute("INSERT INTO frame_table_project (project_id) VALUES (?1) ON CONFLICT DO NOTHING", [p.id])
                .map_err(sql)?;
            for (c, resolved) in p.classifications.iter().zip(frames) {
                let owner: Option<i64> = tx
                    .query_row("SELECT project_id FROM classification WHERE id = ?1", [c.id], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                if let Some(owner) = owner.filter(|&o| o != p.id) {
                    return Err(CatalogError::Invalid(format!(
                        "project {}, classification {}: already in the catalog under project {owner} \
                         (a manifest never moves a classification)",
                        p.id, c.id
                    )));
                }
                let frames = frames_path::stored_form(resolved, &dir);
                let dyn_attrs = c.dyn_attrs.as_ref().map(|v| v.to_string());
                tx.execute(
                    "INSERT INTO classification (id, project_id, kind, frames, dyn_attrs, stream, start_us) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE SET \
                     kind = excluded.kind, frames = excluded.frames, dyn_attrs = excluded.dyn_attrs, \
                     stream = excluded.stream, start_us = excluded.start_us",
                    params![c.id, p.id, c.kind, frames.to_string_lossy(), dyn_attrs, c.stream, c.start_us],
                )
                .map_err(sql)?;
                n += 1;
            }
        }
        // Catalogs imported before paths were stored relative: their own files become relative.
        let stored: Vec<(i64, String)> = tx
            .prepare("SELECT id, frames FROM classification")
            .and_then(|mut st| st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect())
            .map_err(sql)?;
        for (id, frames) in stored {
            let path = Path::new(&frames);
            let relative = frames_path::stored_form(&frames_path::normalize(path), &dir);
            if path.is_absolute() && relative.is_relative() {
                tx.execute(
                    "UPDATE classification SET frames = ?2 WHERE id = ?1",
                    params![id, relative.to_string_lossy()],
                )
                .map_err(sql)?;
            }
        }
        tx.commit().map_err(sql)?;
        Ok((manifest.projects.len(), n))
    }

    /// Every project id.
    pub fn project_ids(&self) -> Result<Vec<i64>, CatalogError> {
        let mut stmt = self.conn.prepare_cached("SELECT id FROM project ORDER BY id").map_err(self.sql())?;
        let ids = stmt.query_map([], |r| r.get(0)).and_then(|rows| rows.collect()).map_err(self.sql())?;
        Ok(ids)
    }

    /// Every project's id and name, by id.
    pub fn project_names(&self) -> Result<Vec<(i64, String)>, CatalogError> {
        let mut stmt = self.conn.prepare_cached("SELECT id, name FROM project ORDER BY id").map_err(self.sql())?;
        let rows =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).and_then(|rows| rows.collect()).map_err(self.sql())?;
        Ok(rows)
    }

    /// The classifications of a project, by id.
    pub fn classifications(&self, project: i64) -> Result<Vec<Classification>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, project_id, kind, frames, dyn_attrs, stream FROM classification WHERE project_id = ?1 ORDER BY id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([project], |r| {
                Ok(Classification {
                    id: r.get(0)?,
                    project_id: r.get(1)?,
                    kind: r.get(2)?,
                    frames: frames_path::resolve_stored(Path::new(&r.get::<_, String>(3)?), &self.dir),
                    dyn_attrs: r.get(4)?,
                    stream: r.get(5)?,
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(self.sql())?;
        Ok(rows)
    }

    /// Every project's state (stale claims read as failed).
    pub fn states(&self) -> Result<Vec<ProjectState>, CatalogError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT p.id, p.name, s.status, s.target_fps, s.rows_written, s.progress, s.error, \
                 s.started_at, s.finished_at, s.heartbeat_at, s.worker_pid \
                 FROM project p JOIN frame_table_project s ON s.project_id = p.id ORDER BY p.id",
            )
            .map_err(self.sql())?;
        let now = now_ms();
        let rows = stmt
            .query_map([], |r| {
                let mut state = ProjectState {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    status: r.get(2)?,
                    fps: r.get(3)?,
                    rows: r.get(4)?,
                    progress: r.get(5)?,
                    error: r.get(6)?,
                    stale: false,
                    started_at_ms: r.get(7)?,
                    finished_at_ms: r.get(8)?,
                    heartbeat_at_ms: r.get(9)?,
                };
                let pid: Option<i64> = r.get(10)?;
                if state.status == "populating" {
                    let silent_ms = now - state.heartbeat_at_ms.unwrap_or(0);
                    if pid.is_some_and(|p| !alive(p)) || silent_ms > STALE_AFTER_MS {
                        state.stale = true;
                        state.status = "failed".into();
                        state.error = Some(format!(
                            "populator lost (no heartbeat for {} s); `tessera hypertable populate --reset` clears it",
                            silent_ms / 1000
                        ));
                    }
                }
                Ok(state)
            })
            .and_then(|rows| rows.collect())
            .map_err(self.sql())?;
        Ok(rows)
    }

    /// Claim `projects` for populating at `fps`, all or none. A project being populated is
    /// refused ([`CatalogError::Busy`]); with `reset`, a stale claim is first marked failed.
    pub fn claim(&mut self, projects: &[i64], fps: &str, reset: bool) -> Result<(), CatalogError> {
        let states = self.states()?;
        let path = self.path.clone();
        let sql = |error| CatalogError::Db(DbError::Sqlite { path: path.clone(), error });
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(sql)?;
        for &id in projects {
            let Some(state) = states.iter().find(|s| s.id == id) else {
                return Err(CatalogError::Invalid(format!("no project {id} in the catalog")));
            };
            let status: String = tx
                .query_row("SELECT status FROM frame_table_project WHERE project_id = ?1", [id], |r| r.get(0))
                .map_err(sql)?;
            if status == "populating" {
                if state.stale && reset {
                    tx.execute(
                        "UPDATE frame_table_project SET status = 'failed', error = 'populator lost', worker_pid = NULL \
                         WHERE project_id = ?1",
                        [id],
                    )
                    .map_err(sql)?;
                } else if state.stale {
                    return Err(CatalogError::Busy(format!(
                        "project {id} is marked populating but its populator is gone; run again with --reset"
                    )));
                } else {
                    return Err(CatalogError::Busy(format!("project {id} is already populating")));
                }
            }
        }
        let now = now_ms();
        for &id in projects {
            // A ready project's rows stay live until a run succeeds: remember what they are, so
            // a failed run can return the project to `ready` (see `finish`).
            tx.execute(
                "INSERT INTO frame_table_last_ready (project_id, target_fps, rows_written, finished_at) \
                 SELECT project_id, target_fps, rows_written, finished_at FROM frame_table_project \
                 WHERE project_id = ?1 AND status = 'ready' ON CONFLICT(project_id) DO UPDATE SET \
                 target_fps = excluded.target_fps, rows_written = excluded.rows_written, finished_at = excluded.finished_at",
                [id],
            )
            .map_err(sql)?;
            let claimed = tx
                .query_row(
                    "UPDATE frame_table_project SET status = 'populating', target_fps = ?2, started_at = ?3, \
                     heartbeat_at = ?3, finished_at = NULL, error = NULL, rows_written = 0, progress = 0, \
                     worker_pid = ?4 WHERE project_id = ?1 AND status <> 'populating' RETURNING project_id",
                    params![id, fps, now, i64::from(std::process::id())],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map_err(sql)?;
            if claimed.is_none() {
                return Err(CatalogError::Busy(format!("project {id} is already populating")));
            }
        }
        tx.commit().map_err(sql)?;
        Ok(())
    }

    /// Hand a claim to another process (the background worker).
    pub fn set_worker(&self, project: i64, pid: u32) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "UPDATE frame_table_project SET worker_pid = ?2, heartbeat_at = ?3 WHERE project_id = ?1",
                params![project, i64::from(pid), now_ms()],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// The populator is alive: rows so far and progress (0–1).
    pub fn heartbeat(&self, project: i64, rows: i64, progress: f64) -> Result<(), CatalogError> {
        self.conn
            .execute(
                "UPDATE frame_table_project SET heartbeat_at = ?2, rows_written = ?3, progress = ?4 \
                 WHERE project_id = ?1 AND status = 'populating'",
                params![project, now_ms(), rows, progress],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// Remember a video's frames header (size, rate, start, labels): `rebuild-msgpacks` writes
    /// headers from it once the table is all that is left.
    pub fn record_video(&self, classification: i64, header: &super::frames::FramesHeader) -> Result<(), CatalogError> {
        let json = serde_json::to_string(header).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        self.conn
            .execute(
                "INSERT INTO video_record (classification_id, header) VALUES (?1, ?2) \
                 ON CONFLICT(classification_id) DO UPDATE SET header = excluded.header",
                params![classification, json],
            )
            .map_err(self.sql())?;
        Ok(())
    }

    /// A video's frames header as last populated.
    pub fn video_record(&self, classification: i64) -> Result<Option<super::frames::FramesHeader>, CatalogError> {
        if !self.has_table("video_record")? {
            return Ok(None);
        }
        let json: Option<String> = self
            .conn
            .query_row("SELECT header FROM video_record WHERE classification_id = ?1", [classification], |r| r.get(0))
            .optional()
            .map_err(self.sql())?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| CatalogError::Invalid(format!("video record {classification}: {e}")))
        })
        .transpose()
    }

    /// Every classification of the catalog, or of one project.
    pub fn all_classifications(&self) -> Result<Vec<Classification>, CatalogError> {
        let mut out = Vec::new();
        for p in self.project_ids()? {
            out.extend(self.classifications(p)?);
        }
        Ok(out)
    }

    /// The table's settings: chunk interval, compress-after (None = off), segment-by, order-by.
    pub fn config(&self) -> Result<TableConfig, CatalogError> {
        if !self.has_table("frame_table_config")? {
            return Ok(TableConfig {
                chunk_interval: "1 day".into(),
                compress_after: None,
                compress_segmentby: "project_id,classification_id".into(),
                compress_orderby: "frame_time".into(),
            });
        }
        self.conn
            .query_row(
                "SELECT chunk_interval, compress_after, compress_segmentby, compress_orderby FROM frame_table_config",
                [],
                |r| {
                    Ok(TableConfig {
                        chunk_interval: r.get(0)?,
                        compress_after: r.get(1)?,
                        compress_segmentby: r.get(2)?,
                        compress_orderby: r.get(3)?,
                    })
                },
            )
            .map_err(self.sql())
    }

    /// Run configuration statements (from [`TableConfig::changes`]) in one transaction.
    pub fn apply(&mut self, statements: &[String]) -> Result<(), CatalogError> {
        let path = self.path.clone();
        let sql = |error| CatalogError::Db(DbError::Sqlite { path: path.clone(), error });
        let tx = self.conn.transaction().map_err(sql)?;
        for s in statements {
            tx.execute_batch(s).map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// The end of a run: `ready` with its rows, or the error. A failed run of a project whose
    /// earlier rows are still live (it was ready when claimed) leaves it `ready` with those
    /// rows and their rate, the error beside them; otherwise it is `failed`.
    pub fn finish(&self, project: i64, result: Result<i64, String>) -> Result<(), CatalogError> {
        let tx = self.conn.unchecked_transaction().map_err(self.sql())?;
        let previous: Option<(String, i64)> = match &result {
            Ok(_) => {
                tx.execute("DELETE FROM frame_table_last_ready WHERE project_id = ?1", [project])
                    .map_err(self.sql())?;
                None
            }
            Err(_) => tx
                .query_row(
                    "SELECT target_fps, rows_written FROM frame_table_last_ready WHERE project_id = ?1",
                    [project],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(self.sql())?,
        };
        let (status, fps, rows, error) = match (result, previous) {
            (Ok(rows), _) => ("ready", None, Some(rows), None),
            (Err(e), Some((fps, rows))) => ("ready", Some(fps), Some(rows), Some(e)),
            (Err(e), None) => ("failed", None, None, Some(e)),
        };
        tx.execute(
            "UPDATE frame_table_project SET status = ?2, rows_written = coalesce(?3, rows_written), \
             target_fps = coalesce(?6, target_fps), \
             progress = CASE WHEN ?2 = 'ready' THEN 1 ELSE progress END, error = ?4, finished_at = ?5, \
             heartbeat_at = ?5, worker_pid = NULL WHERE project_id = ?1",
            params![project, status, rows, error, now_ms(), fps],
        )
        .map_err(self.sql())?;
        tx.commit().map_err(self.sql())
    }
}

/// The observation table's settings (the `frame_table_config` row).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TableConfig {
    pub chunk_interval: String,
    pub compress_after: Option<String>,
    pub compress_segmentby: String,
    pub compress_orderby: String,
}

/// A PostgreSQL-style interval (`30 days`, `12 hours`, `1 week`) in seconds, and its canonical
/// text.
pub fn parse_interval(text: &str) -> Result<(i64, String), String> {
    let bad = || format!("{text:?} is not an interval (like \"1 day\", \"12 hours\", \"30 days\")");
    let mut parts = text.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else { return Err(bad()) };
    let n: i64 = n.parse().map_err(|_| bad())?;
    let (secs, name) = match unit.trim_end_matches('s') {
        "second" | "sec" => (1, "second"),
        "minute" | "min" => (60, "minute"),
        "hour" => (3600, "hour"),
        "day" => (86_400, "day"),
        "week" => (7 * 86_400, "week"),
        _ => return Err(bad()),
    };
    if n <= 0 || n > 100_000 {
        return Err(bad());
    }
    Ok((n * secs, format!("{n} {name}{}", if n == 1 { "" } else { "s" })))
}

/// What `configure` asked to change, after comparing with the current settings (intervals
/// by their length, so "1 week" equals "7 days"): canonical texts, `None` = unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigDiff {
    pub chunk_interval: Option<String>,
    /// `Some(None)` turns compression off.
    pub compress_after: Option<Option<String>>,
    /// Comma-separated columns.
    pub segmentby: Option<String>,
}

impl TableConfig {
    /// The settings asked for that differ from these.
    pub fn diff(
        &self,
        chunk_interval: Option<&str>,
        compress_after: Option<&str>,
        segmentby: Option<&str>,
    ) -> Result<ConfigDiff, String> {
        let seconds = |text: &str| parse_interval(text).map(|(s, _)| s).ok();
        let mut diff = ConfigDiff::default();
        if let Some(i) = chunk_interval {
            let (secs, canonical) = parse_interval(i)?;
            if Some(secs) != seconds(&self.chunk_interval) {
                diff.chunk_interval = Some(canonical);
            }
        }
        if let Some(a) = compress_after {
            let wanted = if a.trim() == "off" { None } else { Some(parse_interval(a)?) };
            if wanted.as_ref().map(|w| w.0) != self.compress_after.as_deref().and_then(seconds) {
                diff.compress_after = Some(wanted.map(|w| w.1));
            }
        }
        if let Some(s) = segmentby {
            let columns: Vec<&str> = s.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
            let allowed = ["project_id", "classification_id", "video_id", "label", "track_id"];
            if let Some(c) = columns.iter().find(|c| !allowed.contains(c)) {
                return Err(format!(
                    "--compress-segmentby: {c:?} is not a column of frame_observation ({})",
                    allowed.join(", ")
                ));
            }
            let canonical = columns.join(",");
            if canonical != self.compress_segmentby {
                diff.segmentby = Some(canonical);
            }
        }
        Ok(diff)
    }

    /// The statements that take this configuration (embedded: the catalog's settings row) to
    /// the one asked for (none when equal).
    pub fn changes(
        &self,
        chunk_interval: Option<&str>,
        compress_after: Option<&str>,
        segmentby: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let diff = self.diff(chunk_interval, compress_after, segmentby)?;
        let mut out = Vec::new();
        if let Some(i) = &diff.chunk_interval {
            out.push(format!("UPDATE frame_table_config SET chunk_interval = {}", quote(i)));
        }
        if let Some(a) = &diff.compress_after {
            let value = a.as_deref().map_or("NULL".to_string(), quote);
            out.push(format!("UPDATE frame_table_config SET compress_after = {value}"));
        }
        if let Some(c) = &diff.segmentby {
            out.push(format!("UPDATE frame_table_config SET compress_segmentby = {}", quote(c)));
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A catalog from before `video_record` and `frame_table_config` existed is read as it
    /// is: nothing created, nothing changed.
    #[test]
    fn readers_of_an_older_catalog_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CATALOG_FILE);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE project (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE classification (id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, kind TEXT NOT NULL,
               frames TEXT NOT NULL, dyn_attrs TEXT, stream TEXT, start_us INTEGER);
             CREATE TABLE frame_table_project (project_id INTEGER PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending',
               target_fps TEXT NOT NULL DEFAULT '1', rows_written INTEGER NOT NULL DEFAULT 0,
               progress REAL NOT NULL DEFAULT 0, started_at INTEGER, finished_at INTEGER, heartbeat_at INTEGER,
               error TEXT, worker_pid INTEGER);
             INSERT INTO project VALUES (1, 'old');
             INSERT INTO frame_table_project (project_id) VALUES (1);
             INSERT INTO classification VALUES (7, 1, 'video', 'frames/7.msgpack', NULL, 'cam', NULL);",
        )
        .unwrap();
        drop(conn);
        let before = std::fs::read(&path).unwrap();
        let cat = Catalog::open_read(dir.path()).unwrap();
        assert_eq!(cat.states().unwrap()[0].name, "old");
        assert_eq!(cat.config().unwrap().chunk_interval, "1 day");
        assert_eq!(cat.video_record(7).unwrap(), None);
        assert_eq!(cat.classifications(1).unwrap()[0].frames, dir.path().join("frames/7.msgpack"));
        drop(cat);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![CATALOG_FILE.to_string()], "no -wal or -shm left behind");
    }
}
