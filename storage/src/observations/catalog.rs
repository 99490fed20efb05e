//! The labelling catalog, `<catalog>/catalog.sqlite`: projects, their classifications (a
//! labelled video or image and its frames file) and each project's population state
//! (`pending | populating | ready | failed`, target rate, rows written, progress, times,
//! error, the populating process).
//!
//! A claim is atomic (`BEGIN IMMEDIATE`, then `UPDATE … WHERE status <> 'populating'`). A
//! populator writes a heartbeat at least every second; a `populating` project whose process
//! is gone, or whose heartbeat is older than [`STALE_AFTER_MS`], is *stale*: reported as
//! failed ("populator lost") and cleared by `populate --reset`.

use crate::sqlite::DbError;
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

    fn sql(&self) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
        |error| CatalogError::Db(DbError::Sqlite { path: self.path.clone(), error })
    }

    /// Add or update the manifest's projects and classifications (relative frames paths are
    /// relative to `base`). Returns (projects, classifications).
    pub fn import(&mut self, manifest: &Manifest, base: &Path) -> Result<(usize, usize), CatalogError> {
        let path = self.path.clone();
        let sql = |error| CatalogError::Db(DbError::Sqlite { path: path.clone(), error });
        let tx = self.conn.transaction().map_err(sql)?;
        let mut n = 0;
        for p in &manifest.projects {
            tx.execute(
                "INSERT INTO project (id, name) VALUES (?1, ?2) ON CONFLICT(id) DO UPDATE SET name = excluded.name",
                params![p.id, p.name],
            )
            .map_err(sql)?;
            tx.execute("INSERT INTO frame_table_project (project_id) VALUES (?1) ON CONFLICT DO NOTHING", [p.id])
                .map_err(sql)?;
            for c in &p.classifications {
                if c.kind != "video" && c.kind != "image" {
                    return Err(CatalogError::Invalid(format!(
                        "classification {}: kind {:?} is neither \"video\" nor \"image\"",
                        c.id, c.kind
                    )));
                }
                let frames = if c.frames.is_absolute() { c.frames.clone() } else { base.join(&c.frames) };
                let dyn_attrs = c.dyn_attrs.as_ref().map(|v| v.to_string());
                tx.execute(
                    "INSERT INTO classification (id, project_id, kind, frames, dyn_attrs, stream, start_us) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(id) DO UPDATE SET project_id = excluded.project_id, \
                     kind = excluded.kind, frames = excluded.frames, dyn_attrs = excluded.dyn_attrs, \
                     stream = excluded.stream, start_us = excluded.start_us",
                    params![c.id, p.id, c.kind, frames.to_string_lossy(), dyn_attrs, c.stream, c.start_us],
                )
                .map_err(sql)?;
                n += 1;
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
                    frames: PathBuf::from(r.get::<_, String>(3)?),
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

    /// The end of a run: `ready` with its rows, or `failed` with the error.
    pub fn finish(&self, project: i64, result: Result<i64, String>) -> Result<(), CatalogError> {
        let (status, rows, error) = match result {
            Ok(rows) => ("ready", Some(rows), None),
            Err(e) => ("failed", None, Some(e)),
        };
        self.conn
            .execute(
                "UPDATE frame_table_project SET status = ?2, rows_written = coalesce(?3, rows_written), \
                 progress = CASE WHEN ?2 = 'ready' THEN 1 ELSE progress END, error = ?4, finished_at = ?5, \
                 heartbeat_at = ?5, worker_pid = NULL WHERE project_id = ?1",
                params![project, status, rows, error, now_ms()],
            )
            .map_err(self.sql())?;
        Ok(())
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
