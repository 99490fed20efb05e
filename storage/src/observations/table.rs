//! The observation table, embedded backend: one SQLite file per project,
//! `<catalog>/observations/project-<id>.sqlite`, one row per object of every kept frame,
//! derived from the frames files and rebuilt by `populate`. Readers use a project's rows only
//! while the catalog says it is `ready`.
//!
//! A population writes a new file beside the old one — no journal (the file is not live
//! until renamed), rows appended in key order, the label index built once at the end (a
//! sort, not a million b-tree inserts) — then fsyncs it and renames it over the old one. A
//! populator that dies mid-run leaves the previous file untouched and a `.partial` that the
//! next run replaces; readers holding the old file keep reading it. Per-project files also
//! let projects populate side by side: there is no shared write lock.

use super::catalog::{Catalog, CatalogError, Classification};
use super::frames::{FrameObject, FrameRecord, FramesHeader, FramesReader, check_objects, label_index, push_object};
use super::rate::{Downsampler, Rate};
use crate::sqlite::DbError;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The folder of the catalog directory that holds the project files.
pub const TABLE_DIR: &str = "observations";
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// A project's rows; the project is the file.
const SCHEMA: &str = "
CREATE TABLE frame_observation (
  classification_id INTEGER NOT NULL,
  video_id INTEGER NOT NULL,
  frame_time INTEGER NOT NULL,
  t_us INTEGER NOT NULL,
  frame_index INTEGER NOT NULL,
  obj_index INTEGER NOT NULL,
  track_id INTEGER,
  label TEXT NOT NULL,
  confidence REAL,
  bbox_x REAL NOT NULL, bbox_y REAL NOT NULL, bbox_w REAL NOT NULL, bbox_h REAL NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  attrs TEXT,
  PRIMARY KEY (classification_id, frame_time, frame_index, obj_index)) WITHOUT ROWID;
";
/// Built after the load.
const LABEL_INDEX: &str = "CREATE INDEX frame_observation_label ON frame_observation (label, frame_time);";

/// One observation row as queries return it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Observation {
    pub classification: i64,
    pub frame_index: i64,
    /// µs since the classification's video start.
    pub t_us: i64,
    pub track_id: Option<i64>,
    pub label: String,
    pub confidence: Option<f64>,
    /// `x, y, w, h` in pixels.
    pub bbox: [f64; 4],
}

/// A query over one project's rows.
#[derive(Clone, Debug, Default)]
pub struct ObservationQuery {
    pub project: i64,
    pub classification: Option<i64>,
    /// UTC µs, inclusive.
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    pub label: Option<String>,
    /// Boxes overlapping this region `x, y, w, h`.
    pub bbox: Option<[f64; 4]>,
}

/// The embedded observation table of a catalog directory.
#[derive(Debug)]
pub struct ObservationTable {
    dir: PathBuf,
}

fn sql_error(path: &Path) -> impl Fn(rusqlite::Error) -> CatalogError + '_ {
    move |error| CatalogError::Db(DbError::Sqlite { path: path.to_path_buf(), error })
}

impl ObservationTable {
    pub fn open(catalog_dir: &Path) -> Result<Self, CatalogError> {
        Ok(ObservationTable { dir: catalog_dir.join(TABLE_DIR) })
    }

    /// The file of `project`'s rows.
    pub fn project_file(&self, project: i64) -> PathBuf {
        self.dir.join(format!("project-{project}.sqlite"))
    }

    /// `project`'s file, read-only; a missing one is an error saying to populate.
    fn read(&self, project: i64) -> Result<(Connection, PathBuf), CatalogError> {
        let path = self.project_file(project);
        if !path.is_file() {
            return Err(CatalogError::Invalid(format!(
                "{}: project {project} has no observation rows (run `tessera hypertable populate`)",
                path.display()
            )));
        }
        let conn =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .map_err(sql_error(&path))?;
        Ok((conn, path))
    }

    /// Replace `project`'s rows from its classifications' frames files, downsampled to
    /// `rate`; heartbeats go to the catalog. Returns the rows written.
    pub fn populate(
        &mut self,
        catalog: &Catalog,
        project: i64,
        rate: Rate,
        mut progress: impl FnMut(i64, f64),
    ) -> Result<i64, CatalogError> {
        let classifications = catalog.classifications(project)?;
        let total_bytes: u64 =
            classifications.iter().map(|c| std::fs::metadata(&c.frames).map_or(0, |m| m.len())).sum();
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| CatalogError::Invalid(format!("{}: cannot create: {e}", self.dir.display())))?;
        let target = self.project_file(project);
        let partial = target.with_extension("sqlite.partial");
        let io = |what: &str, path: &Path, e: std::io::Error| {
            CatalogError::Invalid(format!("{}: cannot {what}: {e}", path.display()))
        };
        match std::fs::remove_file(&partial) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove", &partial, e)),
        }
        // Any failure (a bad frames file, a full disk) removes the new file before the error
        // is recorded: nothing half-written stays behind, the space it took is free again for
        // the catalog's own write, and the previous rows are untouched.
        let result = (|| -> Result<i64, CatalogError> {
            let sql = sql_error(&partial);
            let mut conn = Connection::open(&partial).map_err(&sql)?;
            // Not live until renamed: no journal, no syncs until the end; big pages for appends.
            conn.execute_batch(
                "PRAGMA page_size = 65536; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; \
                 PRAGMA cache_size = -131072; PRAGMA locking_mode = EXCLUSIVE;",
            )
            .map_err(&sql)?;
            conn.execute_batch(SCHEMA).map_err(&sql)?;
            let tx = conn.transaction().map_err(&sql)?;
            let mut rows = 0i64;
            let mut last_beat = Instant::now();
            // Decoding and downsampling on the `populate-read` thread, inserting here: the two
            // overlap on two cores. Chunks of rows travel over a bounded channel.
            let (tx_chunks, chunks) = crossbeam_channel::bounded::<Result<Chunk, CatalogError>>(8);
            std::thread::scope(|scope| -> Result<(), CatalogError> {
                let reader = spawn_reader(scope, &classifications, rate, tx_chunks)?;
                let mut batch = RowBatch::default();
                let mut recorded: Option<usize> = None;
                let result = (|| {
                    for chunk in chunks.iter() {
                        let chunk = chunk?;
                        let c = &classifications[chunk.classification];
                        if c.kind == "video" && recorded != Some(chunk.classification) {
                            catalog.record_video(c.id, &chunk.header)?;
                            recorded = Some(chunk.classification);
                        }
                        for row in chunk.rows {
                            batch.rows.push(row);
                            if batch.rows.len() == BATCH_ROWS {
                                batch.flush(&tx, c.id, &chunk.header).map_err(&sql)?;
                            }
                        }
                        batch.flush(&tx, c.id, &chunk.header).map_err(&sql)?;
                        rows += chunk.n_rows as i64;
                        if last_beat.elapsed() >= HEARTBEAT_EVERY {
                            last_beat = Instant::now();
                            let done = chunk.bytes_before + chunk.bytes_read;
                            let fraction = if total_bytes == 0 { 0.0 } else { done as f64 / total_bytes as f64 };
                            catalog.heartbeat(project, rows, fraction.min(1.0))?;
                            progress(rows, fraction);
                        }
                    }
                    Ok(())
                })();
                drop(chunks); // a reader still sending stops at its next chunk
                let _ = reader.join();
                result
            })?;
            tx.execute_batch(LABEL_INDEX).map_err(&sql)?;
            tx.commit().map_err(&sql)?;
            conn.close().map_err(|(_, e)| sql(e))?;
            // Durable before it replaces the old rows.
            std::fs::File::open(&partial).and_then(|f| f.sync_all()).map_err(|e| io("sync", &partial, e))?;
            std::fs::rename(&partial, &target).map_err(|e| io("rename", &partial, e))?;
            if let Ok(dir) = std::fs::File::open(&self.dir) {
                let _ = dir.sync_all();
            }
            progress(rows, 1.0);
            Ok(rows)
        })();
        if result.is_err() {
            remove_partial(&partial);
        }
        result
    }

    /// The rows of one classification as frame records (for `rebuild-msgpacks`), in frame
    /// order, with the label table `labels` extended by any label it lacks.
    pub fn frames_of(
        &self,
        project: i64,
        classification: i64,
        labels: &mut Vec<String>,
    ) -> Result<Vec<FrameRecord>, CatalogError> {
        let (conn, path) = self.read(project)?;
        let sql = sql_error(&path);
        let mut stmt = conn
            .prepare(
                "SELECT frame_index, t_us, track_id, label, confidence, bbox_x, bbox_y, bbox_w, bbox_h, flags, attrs \
                 FROM frame_observation WHERE classification_id = ?1 \
                 ORDER BY frame_time, frame_index, obj_index",
            )
            .map_err(&sql)?;
        let mut rows = stmt.query([classification]).map_err(&sql)?;
        let mut out: Vec<FrameRecord> = Vec::new();
        while let Some(r) = rows.next().map_err(&sql)? {
            let read = |r: &rusqlite::Row<'_>| -> rusqlite::Result<(u32, i64, FrameObject, String)> {
                let attrs: Option<String> = r.get(10)?;
                let object = FrameObject {
                    tid: r.get(2)?,
                    c: 0,
                    s: r.get::<_, Option<f64>>(4)?.map(|v| v as f32),
                    b: [
                        r.get::<_, f64>(5)? as f32,
                        r.get::<_, f64>(6)? as f32,
                        r.get::<_, f64>(7)? as f32,
                        r.get::<_, f64>(8)? as f32,
                    ],
                    f: r.get(9)?,
                    a: attrs.and_then(|a| serde_json::from_str(&a).ok()),
                };
                Ok((r.get(0)?, r.get(1)?, object, r.get(3)?))
            };
            let (i, t_us, mut object, label) = read(r).map_err(&sql)?;
            object.c =
                label_index(labels, label).map_err(|e| CatalogError::Invalid(format!("{}: {e}", path.display())))?;
            push_object(&mut out, i, t_us, object);
        }
        Ok(out)
    }

    /// Rows per time chunk of `interval_s` seconds (aligned to the Unix epoch) over every
    /// project file: (start µs, end µs, rows), for `configure --show`.
    pub fn chunks(&self, interval_s: i64) -> Result<Vec<(i64, i64, i64)>, CatalogError> {
        let width = interval_s.max(1) * 1_000_000;
        let mut total = std::collections::BTreeMap::<i64, i64>::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Ok(Vec::new()) };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(project) =
                name.to_str().and_then(|n| n.strip_prefix("project-")?.strip_suffix(".sqlite")?.parse::<i64>().ok())
            else {
                continue;
            };
            let (conn, path) = self.read(project)?;
            let mut stmt = conn
                .prepare("SELECT (frame_time - (frame_time % ?1 + ?1) % ?1) AS start, count(*) FROM frame_observation GROUP BY start")
                .map_err(sql_error(&path))?;
            let rows = stmt
                .query_map([width], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(sql_error(&path))?;
            for (start, n) in rows {
                *total.entry(start).or_default() += n;
            }
        }
        Ok(total.into_iter().map(|(start, n)| (start, start + width, n)).collect())
    }

    /// Rows of a project (which the caller has checked is ready), in time order.
    pub fn query(&self, q: &ObservationQuery) -> Result<Vec<Observation>, CatalogError> {
        let (conn, path) = self.read(q.project)?;
        let mut sql = String::from(
            "SELECT classification_id, frame_index, t_us, track_id, label, confidence, bbox_x, bbox_y, bbox_w, bbox_h \
             FROM frame_observation WHERE 1",
        );
        let mut values: Vec<rusqlite::types::Value> = Vec::new();
        let mut add = |cond: &str, v: rusqlite::types::Value| {
            sql.push_str(cond);
            values.push(v);
        };
        if let Some(c) = q.classification {
            add(" AND classification_id = ?", c.into());
        }
        if let Some(t) = q.from_us {
            add(" AND frame_time >= ?", t.into());
        }
        if let Some(t) = q.to_us {
            add(" AND frame_time <= ?", t.into());
        }
        if let Some(l) = &q.label {
            add(" AND label = ?", l.clone().into());
        }
        if let Some([x, y, w, h]) = q.bbox {
            // Overlap: the box starts before the region ends and ends after it starts.
            add(" AND bbox_x < ?", (x + w).into());
            add(" AND bbox_x + bbox_w > ?", x.into());
            add(" AND bbox_y < ?", (y + h).into());
            add(" AND bbox_y + bbox_h > ?", y.into());
        }
        sql.push_str(" ORDER BY frame_time, classification_id, frame_index, obj_index");
        let mut stmt = conn.prepare(&sql).map_err(sql_error(&path))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(values), |r| {
                Ok(Observation {
                    classification: r.get(0)?,
                    frame_index: r.get(1)?,
                    t_us: r.get(2)?,
                    track_id: r.get(3)?,
                    label: r.get(4)?,
                    confidence: r.get(5)?,
                    bbox: [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?],
                })
            })
            .and_then(|rows| rows.collect())
            .map_err(sql_error(&path))?;
        Ok(rows)
    }
}

/// Remove a failed population's file (and any journal SQLite left beside it).
fn remove_partial(partial: &Path) {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        let mut path = partial.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(&path);
    }
}

/// Rows decoded per chunk sent from the reader thread.
const CHUNK_ROWS: usize = 8192;

/// Decoded rows of one classification.
pub(super) struct Chunk {
    pub(super) classification: usize,
    pub(super) header: std::sync::Arc<FramesHeader>,
    pub(super) rows: Vec<Row>,
    pub(super) n_rows: usize,
    /// Bytes of the earlier classifications' files, and of this one read so far.
    pub(super) bytes_before: u64,
    pub(super) bytes_read: u64,
}

/// Start the `populate-read` thread ([`read_chunks`]) in `scope`.
pub(super) fn spawn_reader<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    classifications: &'scope [Classification],
    rate: Rate,
    out: crossbeam_channel::Sender<Result<Chunk, CatalogError>>,
) -> Result<std::thread::ScopedJoinHandle<'scope, ()>, CatalogError> {
    std::thread::Builder::new()
        .name("populate-read".into())
        .spawn_scoped(scope, move || read_chunks(classifications, rate, out))
        .map_err(|e| CatalogError::Invalid(format!("cannot start the reader thread: {e}")))
}

/// The reader thread: every classification's kept frames as chunks of rows, in order; the
/// first error ends it.
fn read_chunks(
    classifications: &[Classification],
    rate: Rate,
    out: crossbeam_channel::Sender<Result<Chunk, CatalogError>>,
) {
    let mut bytes_before = 0u64;
    for (index, c) in classifications.iter().enumerate() {
        let send = |header: &std::sync::Arc<FramesHeader>, rows: Vec<Row>, bytes_read: u64| {
            let n_rows = rows.len();
            out.send(Ok(Chunk {
                classification: index,
                header: header.clone(),
                rows,
                n_rows,
                bytes_before,
                bytes_read,
            }))
            .is_ok()
        };
        let frames = match open_frames(c) {
            Ok(f) => f,
            Err(e) => {
                let _ = out.send(Err(e));
                return;
            }
        };
        match frames {
            Frames::Image(header, record) => {
                let header = std::sync::Arc::new(header);
                let mut rows = Vec::new();
                push_rows(&header, record, &mut rows);
                if !send(&header, rows, 0) {
                    return;
                }
            }
            Frames::File(mut reader) => {
                let header = std::sync::Arc::new(reader.header.clone());
                let mut keep = Downsampler::new(rate);
                let mut rows = Vec::with_capacity(CHUNK_ROWS);
                loop {
                    match reader.next_record() {
                        Ok(Some(record)) => {
                            if keep.keep(record.t_us) {
                                push_rows(&header, record, &mut rows);
                            }
                            if rows.len() >= CHUNK_ROWS {
                                let full = std::mem::replace(&mut rows, Vec::with_capacity(CHUNK_ROWS));
                                if !send(&header, full, reader.bytes_read()) {
                                    return;
                                }
                            }
                        }
                        Ok(None) => break,
                        Err(e) => {
                            let _ = out.send(Err(CatalogError::Invalid(e.to_string())));
                            return;
                        }
                    }
                }
                if !send(&header, rows, reader.bytes_read()) {
                    return;
                }
            }
        }
        bytes_before += std::fs::metadata(&c.frames).map_or(0, |m| m.len());
    }
}

/// The objects of a kept frame as rows.
fn push_rows(header: &FramesHeader, record: FrameRecord, rows: &mut Vec<Row>) {
    let frame_time = header.start_utc_us.saturating_add(record.t_us);
    for (k, object) in record.o.into_iter().enumerate() {
        rows.push(Row { frame_time, t_us: record.t_us, frame_index: record.i, obj_index: k as u16, object });
    }
}

/// Rows per INSERT statement (15 values each; SQLite allows 32,766 variables).
const BATCH_ROWS: usize = 256;

/// One object of a kept frame, waiting for its INSERT.
pub(super) struct Row {
    pub(super) frame_time: i64,
    pub(super) t_us: i64,
    pub(super) frame_index: u32,
    pub(super) obj_index: u16,
    pub(super) object: FrameObject,
}

/// Rows inserted many per statement (one `step` per 64 rows instead of per row).
#[derive(Default)]
struct RowBatch {
    rows: Vec<Row>,
}

impl RowBatch {
    fn flush(&mut self, conn: &Connection, classification: i64, header: &FramesHeader) -> rusqlite::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let n = self.rows.len();
        let mut sql = String::from(
            "INSERT INTO frame_observation (classification_id, video_id, frame_time, t_us, \
             frame_index, obj_index, track_id, label, confidence, bbox_x, bbox_y, bbox_w, bbox_h, flags, attrs) VALUES ",
        );
        for r in 0..n {
            if r > 0 {
                sql.push(',');
            }
            sql.push_str("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        }
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut at = 1;
        let mut bind = |stmt: &mut rusqlite::CachedStatement<'_>, v: &dyn rusqlite::ToSql| -> rusqlite::Result<()> {
            stmt.raw_bind_parameter(at, v)?;
            at += 1;
            Ok(())
        };
        for r in &self.rows {
            let o = &r.object;
            let attrs = o.a.as_ref().map(|a| serde_json::Value::Object(a.clone()).to_string());
            bind(&mut stmt, &classification)?;
            bind(&mut stmt, &header.video_id)?;
            bind(&mut stmt, &r.frame_time)?;
            bind(&mut stmt, &r.t_us)?;
            bind(&mut stmt, &r.frame_index)?;
            bind(&mut stmt, &r.obj_index)?;
            bind(&mut stmt, &o.tid)?;
            bind(&mut stmt, &header.labels[usize::from(o.c)].as_str())?; // index checked by the reader
            bind(&mut stmt, &o.s.map(f64::from))?;
            for v in o.b {
                bind(&mut stmt, &f64::from(v))?;
            }
            bind(&mut stmt, &o.f)?;
            bind(&mut stmt, &attrs)?;
        }
        stmt.raw_execute()?;
        self.rows.clear();
        Ok(())
    }
}

/// A classification's frames: its file, or an image's one frame from its `dyn_attrs`.
enum Frames {
    File(FramesReader),
    Image(FramesHeader, FrameRecord),
}

fn open_frames(c: &Classification) -> Result<Frames, CatalogError> {
    if c.kind == "image" && !c.frames.exists() {
        let Some(attrs) = &c.dyn_attrs else {
            return Err(CatalogError::Invalid(format!(
                "classification {}: {} is missing and it has no dyn_attrs",
                c.id,
                c.frames.display()
            )));
        };
        let (header, record) = image_frame(c.id, attrs)
            .map_err(|e| CatalogError::Invalid(format!("classification {}: dyn_attrs: {e}", c.id)))?;
        return Ok(Frames::Image(header, record));
    }
    let reader = FramesReader::open(&c.frames).map_err(|e| CatalogError::Invalid(e.to_string()))?;
    if c.kind == "image" {
        // An image is one frame: its first record.
        let mut reader = reader;
        let header = reader.header.clone();
        let record = reader.next_record().map_err(|e| CatalogError::Invalid(e.to_string()))?.unwrap_or(FrameRecord {
            i: 0,
            t_us: 0,
            o: Vec::new(),
        });
        return Ok(Frames::Image(header, record));
    }
    Ok(Frames::File(reader))
}

/// An image's objects from its `dyn_attrs` JSON as one frame (`i = 0`, `t_us = 0`), labels in
/// order of first appearance; the source digest is the CRC-32 of the JSON text.
pub fn image_frame(classification: i64, dyn_attrs: &str) -> Result<(FramesHeader, FrameRecord), String> {
    #[derive(serde::Deserialize)]
    struct Attrs {
        width: u32,
        height: u32,
        #[serde(default)]
        objects: Vec<Obj>,
    }
    #[derive(serde::Deserialize)]
    struct Obj {
        label: String,
        bbox: [f32; 4],
        #[serde(default)]
        confidence: Option<f32>,
        #[serde(default)]
        track_id: Option<i64>,
    }
    let attrs: Attrs = serde_json::from_str(dyn_attrs).map_err(|e| e.to_string())?;
    check_objects(0, attrs.objects.len())?;
    let mut labels: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for o in attrs.objects {
        let c = label_index(&mut labels, o.label)?;
        objects.push(FrameObject { tid: o.track_id, c, s: o.confidence, b: o.bbox, f: 0, a: None });
    }
    let mut header = FramesHeader::new(classification, classification, attrs.width, attrs.height, labels);
    header.frame_count = 1;
    header.source_digest = Some(format!("dyn_attrs-crc32:{:08x}", crc32fast::hash(dyn_attrs.as_bytes())));
    Ok((header, FrameRecord { i: 0, t_us: 0, o: objects }))
}
