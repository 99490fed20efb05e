//! The sidecar: Tessera's own derived index of a feder store, in a separate SQLite file
//! (`{root}/tessera-traj-index.sqlite`, or under the user's cache directory when the store is
//! read-only). feder files are never written. `tessera traj index` builds it incrementally:
//! a day file is re-indexed only when its fingerprint ([`fingerprint`]: size and mtime of the
//! file and its `-wal`, a hash of its first and last pages) changed, and a query uses the sidecar only for days whose fingerprint still holds,
//! reading the feder file directly otherwise, so results never depend on it.
//!
//! Per day it holds:
//! - `traj`: each trajectory's metadata and exact extent (feder's R-tree is float32);
//! - `cell`: a space-time grid (10-minute slots × 0.25° × 0.25°, plus one all-space cell per
//!   slot) whose cells hold `roaring` bitmaps of the trajectory ids with a point there;
//! - `run`: each trajectory's points per 10-minute slot as raw records with their time range
//!   and float64 lat/lon box (LZ4 block compressed), keyed by [`run_key`] so the runs of a
//!   trajectory over a window are one
//!   rowid range (a rowid table: a WITHOUT ROWID row of 1.4 KB would spill to an overflow
//!   page and double the file);
//! - `broken`: trajectories whose blob cannot be decoded, with their R-tree extent, so a query
//!   warns about exactly the ones the direct path would.
//!
//! It answers `filter_waypoints` queries (what the player's overlay and camera-sized queries
//! ask): only trajectories with a point in a cell the window touches are candidates, and of
//! those only the runs overlapping the window are read. Other queries read the day files.

use super::engine::{Trajectory, Worked, bad_row_warning, id_array, points_blob, read_header, skip_warning};
use super::points::{self, Point, RECORD_BYTES, Records};
use super::query::{Extent, Query};
use super::store::{FederError, FederStore, day_name, open_read_only};
use roaring::RoaringBitmap;
use rusqlite::{Connection, ToSql, params};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Seconds per time slot of the grid (the `slot` column counts them from the epoch).
const SLOT_S: i64 = 600;
/// Slots per UTC day; a run's `seq` is its slot counted from the start of its file's day.
const SLOTS_PER_DAY: i64 = 86_400 / SLOT_S;
/// Runs a trajectory may have (11 bits of the key): 14 days of slots.
const MAX_SEQ: i64 = 0x7ff;
/// The most bytes a run decompresses to (a blob holds at most 65 535 points).
const MAX_RUN_BYTES: usize = 65_535 * RECORD_BYTES;
/// Grid cells per degree of latitude and longitude.
const CELLS_PER_DEG: f64 = 4.0;
/// The `lat_cell`/`lon_cell` of a whole slot's all-space cell.
const ALL_SPACE: i64 = 1 << 40;
/// More (slot, latitude row) seeks than this in one query: use the slots' all-space cells.
const MAX_QUERY_SEEKS: i64 = 4096;
/// A sidecar of another version is not read (queries read the day files) and `traj index`
/// rebuilds it. 6: the grid's time column is `slot` (it was `hour`, holding 10-minute slots).
const SCHEMA_VERSION: i64 = 6;
const FILE_NAME: &str = "tessera-traj-index.sqlite";
/// Fingerprint prefix of a day the sidecar cannot answer for (queries read its file).
const UNUSABLE: &str = "!";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS day_file (
  day INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, n_traj INTEGER NOT NULL, n_points INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS traj (
  day INTEGER NOT NULL, id INTEGER NOT NULL, source INTEGER NOT NULL, source_id TEXT NOT NULL,
  callsign TEXT NOT NULL, orig TEXT, dest TEXT,
  min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, min_lat REAL NOT NULL, max_lat REAL NOT NULL,
  min_lon REAL NOT NULL, max_lon REAL NOT NULL, min_alt REAL NOT NULL, max_alt REAL NOT NULL,
  n_points INTEGER NOT NULL,
  PRIMARY KEY (day, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cell (
  day INTEGER NOT NULL, slot INTEGER NOT NULL, lat_cell INTEGER NOT NULL, lon_cell INTEGER NOT NULL,
  ids BLOB NOT NULL,
  PRIMARY KEY (day, slot, lat_cell, lon_cell)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run (
  key INTEGER PRIMARY KEY,
  min_ts INTEGER NOT NULL, max_ts INTEGER NOT NULL, min_lat REAL NOT NULL, max_lat REAL NOT NULL,
  min_lon REAL NOT NULL, max_lon REAL NOT NULL, points BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS broken (
  day INTEGER NOT NULL, id INTEGER NOT NULL, source INTEGER NOT NULL, source_id TEXT NOT NULL,
  callsign TEXT NOT NULL, orig TEXT, dest TEXT, problem TEXT NOT NULL,
  min_timestamp REAL, max_timestamp REAL, min_latitude REAL, max_latitude REAL,
  min_longitude REAL, max_longitude REAL, min_altitude REAL, max_altitude REAL,
  PRIMARY KEY (day, id)) WITHOUT ROWID;
";

/// An existing sidecar, with the fingerprints of the days it indexed.
#[derive(Debug)]
pub struct Sidecar {
    path: PathBuf,
    fingerprints: HashMap<i64, String>,
}

/// Where the sidecar of `store` lives: beside the day files when the store is writable, else
/// in the user's cache directory (named by a hash of the store's canonical path).
pub fn locations(store: &FederStore) -> [PathBuf; 2] {
    let root = store.root();
    [root.join(FILE_NAME), crate::user_cache::file_for(root, "traj-index", "sqlite")]
}

/// A day file's fingerprint: size and modification time of it and of its `-wal`, and a hash
/// of its first and last pages. The pages catch a file rewritten with the same size and
/// mtime (copied over with `cp -p`, or within a coarse mtime tick): page 1 holds SQLite's
/// change counter and the schema, the last page is where appended rows land. Two reads.
pub fn fingerprint(path: &Path) -> Option<String> {
    let stamp = |p: &Path| {
        std::fs::metadata(p).ok().map(|m| {
            let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
            format!("{}@{}", m.len(), mtime.map_or(0, |d| d.as_nanos()))
        })
    };
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let pages = pages_hash(path).ok()?;
    Some(format!("{}#{pages:016x}+{}", stamp(path)?, stamp(Path::new(&wal)).unwrap_or_default()))
}

/// FNV-1a of a day file's first and last pages (the page size from the SQLite header).
fn pages_hash(path: &Path) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let mut first = Vec::new();
    (&mut file).take(65_536).read_to_end(&mut first)?;
    let page = match first.get(16..18).map(|b| u16::from_be_bytes([b[0], b[1]])) {
        Some(1) => 65_536,
        Some(n) if n.is_power_of_two() && n >= 512 => u64::from(n),
        _ => 4096,
    };
    first.truncate(page as usize);
    let mut last = Vec::new();
    if len > page {
        file.seek(SeekFrom::Start(len - page))?;
        file.take(page).read_to_end(&mut last)?;
    }
    Ok(crate::user_cache::fnv1a(first.iter().chain(&last)))
}

impl Sidecar {
    /// The sidecar of `store`, if one was built (and is of this version).
    pub fn open(store: &FederStore) -> Result<Option<Sidecar>, FederError> {
        for path in locations(store) {
            if path.is_file() {
                return Self::open_at(&path).map(Some);
            }
        }
        Ok(None)
    }

    fn open_at(path: &Path) -> Result<Sidecar, FederError> {
        let conn = open_read_only(path, false)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(FederError::sqlite(path))?;
        let mut fingerprints = HashMap::new();
        if version == SCHEMA_VERSION {
            let mut stmt = conn.prepare("SELECT day, fingerprint FROM day_file").map_err(FederError::sqlite(path))?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(FederError::sqlite(path))?;
            for row in rows {
                let (day, fp) = row.map_err(FederError::sqlite(path))?;
                let fp: String = fp;
                if !fp.starts_with(UNUSABLE) {
                    fingerprints.insert(day, fp);
                }
            }
        }
        Ok(Sidecar { path: path.to_path_buf(), fingerprints })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A read connection.
    pub(crate) fn connect(&self) -> Result<Connection, FederError> {
        open_read_only(&self.path, false)
    }

    /// Whether the sidecar indexed this day file as it is now.
    pub fn is_fresh(&self, day: i64, day_path: &Path) -> bool {
        self.fingerprints.get(&day).is_some_and(|fp| fingerprint(day_path).as_deref() == Some(fp))
    }

    /// Whether the sidecar can answer `q` (see the module docs).
    pub fn answers(q: &Query) -> bool {
        q.filter_waypoints
    }

    /// Candidate ids of a day: trajectories with a point in a cell the query's window and box
    /// touch, plus broken ones the R-tree would have offered.
    pub(crate) fn candidates(&self, conn: &Connection, day: i64, q: &Query) -> Result<Vec<i64>, FederError> {
        let path = &self.path;
        // A day's cells lie in its own slots (a day with points beyond them is not indexed),
        // so a window wider than that (up to all of time) costs no more than the day.
        let day_slot = day * SLOTS_PER_DAY;
        let (s1, s2) = (q.from.div_euclid(SLOT_S).max(day_slot), q.to.div_euclid(SLOT_S).min(day_slot + MAX_SEQ));
        let b = &q.bounds;
        let cell = |deg: f64| (deg * CELLS_PER_DEG).floor() as i64;
        let (lat1, lat2) = (cell(b.min_lat.unwrap_or(-90.0)), cell(b.max_lat.unwrap_or(90.0)));
        let (lon1, lon2) = (cell(b.min_lon.unwrap_or(-180.0)), cell(b.max_lon.unwrap_or(180.0)));
        let seeks = (s2 - s1 + 1).saturating_mul(lat2 - lat1 + 1);
        let spatial = q.space.is_some()
            && (b.min_lat.is_some() || b.max_lat.is_some() || b.min_lon.is_some() || b.max_lon.is_some());
        let (lat1, lat2, lon1, lon2) = if spatial && seeks <= MAX_QUERY_SEEKS {
            (lat1, lat2, lon1, lon2)
        } else {
            (ALL_SPACE, ALL_SPACE, ALL_SPACE, ALL_SPACE)
        };
        // One index seek per (slot, latitude row): only the key's last column is a range.
        let mut stmt = conn
            .prepare_cached(
                "SELECT ids FROM cell WHERE day = ?1 AND slot = ?2 AND lat_cell = ?3 AND lon_cell BETWEEN ?4 AND ?5",
            )
            .map_err(FederError::sqlite(path))?;
        let mut ids = RoaringBitmap::new();
        for slot in s1..=s2 {
            for lat_cell in lat1..=lat2 {
                let mut rows =
                    stmt.query(params![day, slot, lat_cell, lon1, lon2]).map_err(FederError::sqlite(path))?;
                while let Some(row) = rows.next().map_err(FederError::sqlite(path))? {
                    let blob = row.get_ref(0).and_then(|v| Ok(v.as_blob()?)).map_err(FederError::sqlite(path))?;
                    let cell = RoaringBitmap::deserialize_from(blob).map_err(|e| FederError::Invalid {
                        path: path.clone(),
                        problem: format!("grid cell of day {day}: {e}"),
                    })?;
                    ids |= cell;
                }
            }
        }
        let mut out: Vec<i64> = ids.iter().map(i64::from).collect();
        // Broken trajectories, chosen by the same widened R-tree predicate as the direct path.
        let (sql, mut params) = q.rtree_sql("broken");
        params.push(day as f64);
        let mut stmt = conn.prepare_cached(&format!("{sql} AND day = ?")).map_err(FederError::sqlite(path))?;
        let broken = stmt
            .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, i64>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(FederError::sqlite(path))?;
        out.extend(broken);
        Ok(out)
    }

    /// Check candidates of a day against `q` from their extents and the runs they need.
    pub(crate) fn scan(
        &self,
        conn: &Connection,
        day: i64,
        day_path: &Path,
        ids: &[i64],
        q: &Query,
        w: &mut Worked,
    ) -> Result<(), FederError> {
        let path = &self.path;
        let sqlite = FederError::sqlite;
        let (meta_sql, meta_params) = q.metadata_sql();
        let array = id_array(ids);
        let params = day_ids_meta(&day, &array, &meta_params);

        // Broken ones first: the same warning as the direct path.
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT id, source, source_id, callsign, orig, dest, problem FROM broken WHERE day = ?1 AND id IN rarray(?2){meta_sql}"
            ))
            .map_err(sqlite(path))?;
        let mut rows = stmt.query(params.as_slice()).map_err(sqlite(path))?;
        while let Some(row) = rows.next().map_err(sqlite(path))? {
            let t = read_header(row, day).map_err(sqlite(path))?;
            let problem: String = row.get(6).map_err(sqlite(path))?;
            w.warnings.push(broken_warning(day_path, &t, &problem));
        }

        // The runs of every candidate that overlap the window and box, in one statement (a
        // rowid range per candidate), checked record by record.
        let b = &q.bounds;
        let box_ = [
            b.min_lat.filter(|_| q.space.is_some()).unwrap_or(f64::NEG_INFINITY),
            b.max_lat.filter(|_| q.space.is_some()).unwrap_or(f64::INFINITY),
            b.min_lon.filter(|_| q.space.is_some()).unwrap_or(f64::NEG_INFINITY),
            b.max_lon.filter(|_| q.space.is_some()).unwrap_or(f64::INFINITY),
        ];
        // The slots of the window, counted from the day's start: the same key range per
        // candidate, so one statement reads exactly the runs the window needs.
        let first_slot = (q.from.div_euclid(SLOT_S) - day * SLOTS_PER_DAY).max(0);
        let last_slot = (q.to.div_euclid(SLOT_S) - day * SLOTS_PER_DAY).min(MAX_SEQ);
        if first_slot > last_slot {
            return Ok(());
        }
        let first_keys: Vec<i64> = ids.iter().map(|&id| run_key(day, id, first_slot)).collect();
        let mut runs = conn
            .prepare_cached(
                "SELECT r.key, r.points FROM rarray(?1) AS a CROSS JOIN run AS r \
                 ON r.key BETWEEN a.value AND a.value + ?8 \
                 WHERE r.max_ts >= ?2 AND r.min_ts <= ?3 \
                 AND r.max_lat >= ?4 AND r.min_lat <= ?5 AND r.max_lon >= ?6 AND r.min_lon <= ?7 ORDER BY r.key",
            )
            .map_err(sqlite(path))?;
        let mut kept: HashMap<i64, Vec<Point>> = HashMap::new();
        let mut scratch = Vec::new();
        let span = last_slot - first_slot;
        let mut rows = runs
            .query(params![id_array(&first_keys), q.from, q.to, box_[0], box_[1], box_[2], box_[3], span])
            .map_err(sqlite(path))?;
        while let Some(run) = rows.next().map_err(sqlite(path))? {
            let key: i64 = run.get(0).map_err(sqlite(path))?;
            let id = (key >> 11) & 0x7fff_ffff;
            let packed = run.get_ref(1).and_then(|v| Ok(v.as_blob()?)).map_err(sqlite(path))?;
            let corrupt = || FederError::Invalid {
                path: path.clone(),
                problem: format!("run of trajectory {id} (day {day}) is corrupt; run `tessera traj index` again"),
            };
            // `compress_prepend_size`: a u32le size, then the block.
            let size = packed.first_chunk::<4>().map(|b| u32::from_le_bytes(*b) as usize).ok_or_else(corrupt)?;
            if size > MAX_RUN_BYTES {
                return Err(corrupt());
            }
            scratch.clear();
            scratch.resize(size, 0);
            let written = lz4_flex::block::decompress_into(&packed[4..], &mut scratch).map_err(|_| corrupt())?;
            let records = Records::from_raw(&scratch[..written]).filter(|_| written == size).ok_or_else(corrupt)?;
            w.points_read += records.len();
            let points = kept.entry(id).or_default();
            records.select(
                |t, lat, lon| {
                    let t = i64::from(t);
                    t >= q.from && t <= q.to && q.lat_lon_in_space(lat, lon)
                },
                points,
            );
            if q.filters_altitude() {
                points.retain(|p| q.point_in_space(p));
            }
        }
        kept.retain(|_, points| !points.is_empty());
        if kept.is_empty() {
            return Ok(());
        }

        // Metadata and the exact extent of those with points left.
        let with_points: Vec<i64> = kept.keys().copied().collect();
        let with_points = id_array(&with_points);
        let params = day_ids_meta(&day, &with_points, &meta_params);
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT id, source, source_id, callsign, orig, dest, \
                 min_ts, max_ts, min_lat, max_lat, min_lon, max_lon, min_alt, max_alt \
                 FROM traj WHERE day = ?1 AND id IN rarray(?2){meta_sql}"
            ))
            .map_err(sqlite(path))?;
        let mut rows = stmt.query(params.as_slice()).map_err(sqlite(path))?;
        while let Some(row) = rows.next().map_err(sqlite(path))? {
            let header = read_header(row, day).map_err(sqlite(path))?;
            let extent = read_extent(row, 6).map_err(sqlite(path))?;
            if q.extent_matches(&extent)
                && let Some(points) = kept.remove(&header.id)
            {
                w.trajectories.push(Trajectory { points, ..header });
            }
        }
        Ok(())
    }
}

/// The rowid of run `seq` (the slot counted from the day's start) of trajectory `id` in a day
/// file: `day` (since 1970, < 2^20), `id` (< 2^31) and `seq` (< 2^11) packed.
pub fn run_key(day: i64, id: i64, seq: i64) -> i64 {
    ((day & 0xf_ffff) << 42) | ((id & 0x7fff_ffff) << 11) | (seq & 0x7ff)
}

/// Parameters `?1` day, `?2` ids, then the query's metadata values.
fn day_ids_meta<'a>(
    day: &'a i64,
    ids: &'a Rc<Vec<rusqlite::types::Value>>,
    meta: &'a [rusqlite::types::Value],
) -> Vec<&'a dyn ToSql> {
    [day as &dyn ToSql, ids as &dyn ToSql].into_iter().chain(meta.iter().map(|v| v as &dyn ToSql)).collect()
}

/// The warning for a trajectory whose blob cannot be decoded (the same on both paths).
pub(crate) fn broken_warning(day_path: &Path, t: &Trajectory, problem: &str) -> String {
    format!("{}: trajectory {} (source_id {}): {problem}", day_path.display(), t.id, t.source_id)
}

fn read_extent(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Extent> {
    Ok(Extent {
        min_ts: row.get(at)?,
        max_ts: row.get(at + 1)?,
        min_lat: row.get(at + 2)?,
        max_lat: row.get(at + 3)?,
        min_lon: row.get(at + 4)?,
        max_lon: row.get(at + 5)?,
        min_alt: row.get(at + 6)?,
        max_alt: row.get(at + 7)?,
    })
}

/// What `traj index` did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct IndexReport {
    pub sidecar: PathBuf,
    pub day_files: usize,
    pub indexed: usize,
    pub unchanged: usize,
    pub trajectories: u64,
    pub points: u64,
    pub broken: u64,
    /// Day files that could not be indexed (queries read them directly), one line each.
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// Build or refresh the sidecar of `store`: index every day file whose fingerprint changed,
/// drop days whose file is gone. A day file that cannot be read is a warning (in the report
/// and through `progress`, which also hears about each day file as it is done) and is left to
/// queries, which read it directly; the other days are indexed. Each day is one transaction,
/// checkpointed when it commits, and the file is checkpointed and closed however the run ends,
/// so no `-wal` or `-shm` is left and the days indexed before a failure stay valid.
pub fn build(store: &FederStore, mut progress: impl FnMut(&str)) -> Result<IndexReport, FederError> {
    let started = std::time::Instant::now();
    let [beside, cache] = locations(store);
    let path = if beside.is_file() || rustix::fs::access(store.root(), rustix::fs::Access::WRITE_OK).is_ok() {
        beside
    } else {
        if let Some(dir) = cache.parent() {
            std::fs::create_dir_all(dir).map_err(|error| FederError::Io { path: dir.to_path_buf(), error })?;
        }
        cache
    };
    let mut conn = Connection::open(&path).map_err(FederError::sqlite(&path))?;
    let result = fill(&mut conn, &path, store, &mut progress);
    let closed = conn
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .and_then(|()| conn.close().map_err(|(_, e)| e))
        .map_err(FederError::sqlite(&path));
    let mut report = result?;
    closed?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The body of [`build`] on an open sidecar.
fn fill(
    conn: &mut Connection,
    path: &Path,
    store: &FederStore,
    progress: &mut impl FnMut(&str),
) -> Result<IndexReport, FederError> {
    let sqlite = FederError::sqlite;
    // 16 KiB pages: runs of ~1 KiB pack densely (4 KiB pages left a third empty).
    conn.execute_batch("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(sqlite(path))?;
    conn.busy_timeout(std::time::Duration::from_secs(60)).map_err(sqlite(path))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sqlite(path))?;
    if version != SCHEMA_VERSION {
        conn.execute_batch(
            "DROP TABLE IF EXISTS day_file; DROP TABLE IF EXISTS traj; DROP TABLE IF EXISTS cell;
             DROP TABLE IF EXISTS run; DROP TABLE IF EXISTS broken;",
        )
        .map_err(sqlite(path))?;
    }
    conn.execute_batch(SCHEMA).map_err(sqlite(path))?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(sqlite(path))?;

    let known: HashMap<i64, String> = {
        let mut stmt = conn.prepare("SELECT day, fingerprint FROM day_file").map_err(sqlite(path))?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<Result<_, _>>())
            .map_err(sqlite(path))?
    };
    let days = store.day_files()?;
    let mut report = IndexReport { sidecar: path.to_path_buf(), day_files: days.len(), ..IndexReport::default() };
    let present: std::collections::HashSet<i64> = days.iter().map(|(d, _)| *d).collect();
    // Commit one day and checkpoint it: a killed run leaves at most the day in progress.
    let commit = |conn: &mut Connection, day: i64, write: &dyn Fn(&Connection) -> rusqlite::Result<()>| {
        let tx = conn.transaction()?;
        delete_day(&tx, day)?;
        write(&tx)?;
        tx.commit()?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
    };
    for (&day, _) in known.iter().filter(|(d, _)| !present.contains(d)) {
        commit(conn, day, &|_| Ok(())).map_err(sqlite(path))?;
    }
    for (i, (day, day_path)) in days.iter().enumerate() {
        let day_started = std::time::Instant::now();
        let fp = match day_path.is_file() {
            true => fingerprint(day_path).ok_or("cannot be read"),
            false => Err("not a regular file"),
        };
        let indexed = match fp {
            Err(problem) => Err(FederError::Invalid { path: day_path.clone(), problem: problem.into() }),
            Ok(fp) if known.get(day).is_some_and(|k| *k == fp || *k == format!("{UNUSABLE}{fp}")) => {
                report.unchanged += 1;
                continue;
            }
            Ok(fp) => index_day(store, *day, day_path).map(|ix| (fp, ix)),
        };
        let (fp, mut day_index) = match indexed {
            Ok(indexed) => indexed,
            Err(e) => {
                // Forget what the sidecar held for it; queries read it (and warn) directly.
                commit(conn, *day, &|_| Ok(())).map_err(sqlite(path))?;
                let warning = skip_warning(day_path, &e);
                progress(&format!("warning: {warning}"));
                report.warnings.push(warning);
                continue;
            }
        };
        let fp = match &day_index.unindexable {
            Some(why) => {
                // Remember the file (so it is not re-read every time) but answer it directly.
                progress(&format!("{}: read directly by queries: {why}", day_name(*day)));
                day_index = DayIndex { n_traj: day_index.n_traj, n_points: day_index.n_points, ..DayIndex::default() };
                format!("{UNUSABLE}{fp}")
            }
            None => fp,
        };
        commit(conn, *day, &|tx| day_index.write(tx, *day, &fp)).map_err(sqlite(path))?;
        report.indexed += 1;
        report.trajectories += day_index.n_traj;
        report.points += day_index.n_points;
        report.broken += day_index.broken.len() as u64;
        progress(&format!(
            "indexed {} ({}/{}): {} trajectories, {} points, {:.1} s",
            day_name(*day),
            i + 1,
            days.len(),
            day_index.n_traj,
            day_index.n_points,
            day_started.elapsed().as_secs_f64()
        ));
    }
    Ok(report)
}

fn delete_day(conn: &Connection, day: i64) -> rusqlite::Result<()> {
    for table in ["day_file", "traj", "cell", "broken"] {
        conn.execute(&format!("DELETE FROM {table} WHERE day = ?1"), [day])?;
    }
    conn.execute(
        "DELETE FROM run WHERE key BETWEEN ?1 AND ?2",
        [run_key(day, 0, 0), run_key(day, 0x7fff_ffff, 0x7ff)],
    )?;
    Ok(())
}

/// One day file's index, built in memory before it is written.
#[derive(Default)]
struct DayIndex {
    trajs: Vec<(Trajectory, Extent, usize)>,
    runs: Vec<(i64, usize, Extent, Vec<u8>)>,
    cells: BTreeMap<(i64, i64, i64), RoaringBitmap>,
    broken: Vec<(Trajectory, String, [Option<f64>; 8])>,
    n_traj: u64,
    n_points: u64,
    /// Why the sidecar cannot answer for this day (then it is read directly).
    unindexable: Option<String>,
}

fn index_day(store: &FederStore, day: i64, day_path: &Path) -> Result<DayIndex, FederError> {
    let conn = store.open_day(day, day_path)?;
    let sqlite = FederError::sqlite;
    let mut stmt = conn
        .prepare(
            "SELECT t.id, t.source, t.source_id, t.callsign, t.orig, t.dest, t.points, \
             i.min_timestamp, i.max_timestamp, i.min_latitude, i.max_latitude, \
             i.min_longitude, i.max_longitude, i.min_altitude, i.max_altitude \
             FROM trajectories t LEFT JOIN trajectory_index i ON i.id = t.id",
        )
        .map_err(sqlite(day_path))?;
    let mut rows = stmt.query([]).map_err(sqlite(day_path))?;
    let mut index = DayIndex::default();
    let mut scratch = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while let Some(row) = rows.next().map_err(sqlite(day_path))? {
        index.n_traj += 1;
        let header = match read_header(row, day) {
            Ok(header) => header,
            Err(e) => {
                // No metadata to file it under `broken`: the direct path warns about it.
                index.unindexable = Some(bad_row_warning(day_path, row, &e));
                continue;
            }
        };
        if !seen.insert(header.id) {
            // A damaged file (a duplicated R-tree entry joins a trajectory twice): its index
            // is not to be trusted, and the sidecar's keys could not hold it anyway.
            index.unindexable = Some(format!("trajectory {} is listed twice (a damaged index?)", header.id));
            continue;
        }
        let decoded = points_blob(row, 6)
            .map_err(sqlite(day_path))?
            .and_then(|blob| points::payload(blob, &mut scratch).map_err(|e| e.to_string()))
            .map(|r| r.points().collect::<Vec<Point>>())
            .and_then(|pts| if u32::try_from(header.id).is_ok() { Ok(pts) } else { Err("id beyond 2^32".to_string()) });
        match decoded {
            Err(problem) => {
                let mut rtree = [None; 8];
                for (k, slot) in rtree.iter_mut().enumerate() {
                    *slot = row.get(7 + k).map_err(sqlite(day_path))?;
                }
                index.broken.push((header, problem, rtree));
            }
            Ok(pts) => {
                let Some(extent) = Extent::of(pts.iter().copied()) else { continue };
                index.n_points += pts.len() as u64;
                let id = header.id as u32; // checked above
                for p in &pts {
                    let slot = i64::from(p.time).div_euclid(SLOT_S);
                    let cell = |deg: f64| (deg * CELLS_PER_DEG).floor() as i64;
                    index.cells.entry((slot, cell(p.lat), cell(p.lon))).or_default().insert(id);
                    index.cells.entry((slot, ALL_SPACE, ALL_SPACE)).or_default().insert(id);
                }
                // Runs are slots: time-ordered points within the key's reach, else the day
                // is left to the direct path.
                let slot_of = |p: &Point| i64::from(p.time).div_euclid(SLOT_S) - day * SLOTS_PER_DAY;
                if pts.windows(2).any(|w| w[1].time < w[0].time)
                    || pts.iter().any(|p| !(0..=MAX_SEQ).contains(&slot_of(p)))
                {
                    index.unindexable =
                        Some(format!("trajectory {} has points out of order or far from its day", header.id));
                }
                for run in pts.chunk_by(|a, b| slot_of(a) == slot_of(b)) {
                    let Some(run_extent) = Extent::of(run.iter().copied()) else { continue };
                    let mut bytes = Vec::with_capacity(run.len() * RECORD_BYTES);
                    points::encode_raw(run, &mut bytes, false);
                    let seq = slot_of(&run[0]).clamp(0, MAX_SEQ) as usize;
                    index.runs.push((header.id, seq, run_extent, lz4_flex::block::compress_prepend_size(&bytes)));
                }
                index.trajs.push((header, extent, pts.len()));
            }
        }
    }
    Ok(index)
}

impl DayIndex {
    fn write(&self, conn: &Connection, day: i64, fingerprint: &str) -> rusqlite::Result<()> {
        conn.execute(
            "INSERT INTO day_file (day, fingerprint, n_traj, n_points) VALUES (?1, ?2, ?3, ?4)",
            params![day, fingerprint, self.n_traj as i64, self.n_points as i64],
        )?;
        let mut traj = conn.prepare(
            "INSERT INTO traj VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        for (t, e, n) in &self.trajs {
            let n = *n as i64;
            traj.execute(params![
                day,
                t.id,
                t.source,
                t.source_id,
                t.callsign,
                t.orig,
                t.dest,
                e.min_ts,
                e.max_ts,
                e.min_lat,
                e.max_lat,
                e.min_lon,
                e.max_lon,
                e.min_alt,
                e.max_alt,
                n
            ])?;
        }
        let mut run = conn.prepare("INSERT INTO run VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?;
        for (id, seq, e, bytes) in &self.runs {
            let key = run_key(day, *id, *seq as i64);
            run.execute(params![key, e.min_ts, e.max_ts, e.min_lat, e.max_lat, e.min_lon, e.max_lon, bytes])?;
        }
        let mut cell = conn.prepare("INSERT INTO cell VALUES (?1, ?2, ?3, ?4, ?5)")?;
        let mut bytes = Vec::new();
        for ((slot, lat, lon), ids) in &self.cells {
            bytes.clear();
            ids.serialize_into(&mut bytes).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            cell.execute(params![day, slot, lat, lon, bytes])?;
        }
        let mut broken = conn.prepare(
            "INSERT INTO broken VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        )?;
        for (t, problem, r) in &self.broken {
            broken.execute(params![
                day,
                t.id,
                t.source,
                t.source_id,
                t.callsign,
                t.orig,
                t.dest,
                problem,
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7]
            ])?;
        }
        Ok(())
    }
}
