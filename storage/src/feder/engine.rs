//! Running a [`Query`] over a store's day files on worker threads.
//!
//! Per day file (`date(from) − 1 ..= date(to) + 1`): candidate ids come from the sidecar when
//! it is fresh for that day ([`super::sidecar`]), else from feder's R-tree with float32-safe
//! bounds. Candidates are split into one chunk per worker; each worker fetches its rows in
//! batches (`id IN rarray(?)`, no variable limit), decodes blobs into a reused buffer and
//! filters records before it allocates points. A blob that cannot be decoded is a warning
//! naming the day file and trajectory, not an error: the rest of the query still answers.
//! Likewise a day file that cannot be read at all (0 bytes, truncated, not SQLite, no R-tree,
//! a directory) is a warning naming it, and the other days answer. Only days that exist are
//! visited (listed once for a long window), so a window over all of time stays cheap.

use super::points::{self, Point, Records};
use super::query::{Query, SpaceOp, evaluate};
use super::sidecar::{Sidecar, broken_warning};
use super::store::{FederError, FederStore};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ToSql};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows fetched per statement.
const FETCH_BATCH: usize = 5000;

/// One matching trajectory.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// The UTC day of its file and its id there.
    pub day: i64,
    pub id: i64,
    pub source: i64,
    pub source_id: String,
    pub callsign: String,
    pub orig: Option<String>,
    pub dest: Option<String>,
    pub points: Vec<Point>,
}

/// A query's answer.
#[derive(Debug, Default)]
pub struct QueryOutput {
    /// Sorted by `(source, source_id, day, id)`.
    pub trajectories: Vec<Trajectory>,
    /// Trajectories that could not be decoded, one line each.
    pub warnings: Vec<String>,
    pub stats: QueryStats,
}

/// What a query touched.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueryStats {
    pub day_files: usize,
    /// Day files answered from the sidecar.
    pub sidecar_days: usize,
    pub candidates: usize,
    /// Point records decoded (read past the time/lat/lon check).
    pub points_read: usize,
}

/// Options of [`run`].
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    /// Use the sidecar index where it is fresh.
    pub use_sidecar: bool,
    /// Worker threads (at least 1).
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
        RunOptions { use_sidecar: true, threads }
    }
}

/// A unit of work: some candidate ids of one day file.
enum Task {
    Direct { day: i64, path: PathBuf, ids: Vec<i64> },
    Sidecar { day: i64, path: PathBuf, ids: Vec<i64> },
}

/// Open connections kept between queries (the GUI and `--repeat` reuse them). A connection
/// serves one thread at a time.
#[derive(Default)]
pub struct Connections {
    idle: Mutex<Vec<(PathBuf, Connection)>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Connections")
    }
}

const MAX_IDLE_CONNECTIONS: usize = 64;

impl Connections {
    fn take(
        &self,
        path: &Path,
        open: impl FnOnce() -> Result<Connection, FederError>,
    ) -> Result<Connection, FederError> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = idle.iter().position(|(p, _)| p == path) {
            return Ok(idle.swap_remove(i).1);
        }
        drop(idle);
        open()
    }

    fn give(&self, path: &Path, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE_CONNECTIONS {
            idle.push((path.to_path_buf(), conn));
        }
    }

    /// Run `f` with a connection to `path`.
    pub(crate) fn with<R>(
        &self,
        path: &Path,
        open: impl FnOnce() -> Result<Connection, FederError>,
        f: impl FnOnce(&Connection) -> Result<R, FederError>,
    ) -> Result<R, FederError> {
        let conn = self.take(path, open)?;
        let result = f(&conn);
        self.give(path, conn);
        result
    }
}

/// Run `q` over `store`. A day file that cannot be read (not a file, not SQLite, no R-tree,
/// corrupt pages) is skipped with a warning naming it, and none of its trajectories are
/// returned; the other days still answer. Errors are only for the store itself.
pub fn run(
    store: &FederStore,
    connections: &Connections,
    sidecar: Option<&Sidecar>,
    q: &Query,
    options: RunOptions,
) -> Result<QueryOutput, FederError> {
    let mut stats = QueryStats::default();
    let workers = options.threads.max(1);
    let mut tasks = Vec::new();
    // Days skipped, with the first reason (one warning per day file).
    let mut skipped: BTreeMap<i64, String> = BTreeMap::new();
    for (day, path) in store.days_in(q.days())? {
        if !path.is_file() {
            skipped.insert(day, format!("{}: day file skipped: not a regular file", path.display()));
            continue;
        }
        stats.day_files += 1;
        let fresh = sidecar.filter(|s| options.use_sidecar && Sidecar::answers(q) && s.is_fresh(day, &path));
        let ids = match fresh {
            Some(s) => connections.with(s.path(), || s.connect(), |conn| s.candidates(conn, day, q)),
            None => connections.with(&path, || store.open_day(day, &path), |conn| rtree_candidates(conn, &path, q)),
        };
        let ids = match ids {
            Ok(ids) => ids,
            Err(e) => {
                skipped.insert(day, skip_warning(&path, &e));
                continue;
            }
        };
        stats.sidecar_days += usize::from(fresh.is_some());
        stats.candidates += ids.len();
        let chunk = ids.len().div_ceil(workers).max(1);
        for part in ids.chunks(chunk) {
            tasks.push(match fresh {
                Some(_) => Task::Sidecar { day, path: path.clone(), ids: part.to_vec() },
                None => Task::Direct { day, path: path.clone(), ids: part.to_vec() },
            });
        }
    }

    let next = AtomicUsize::new(0);
    let results: Vec<Worked> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(tasks.len()))
            .map(|i| {
                let (tasks, next) = (&tasks, &next);
                std::thread::Builder::new().name(format!("traj-query-{i}")).spawn_scoped(scope, move || {
                    let mut worked = Worked::default();
                    while let Some(task) = tasks.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let (day, path, done) = match task {
                            Task::Direct { day, path, ids } => (
                                *day,
                                path,
                                connections.with(
                                    path,
                                    || store.open_day(*day, path),
                                    |conn| scan_blobs(conn, path, *day, ids, q, &mut worked),
                                ),
                            ),
                            Task::Sidecar { day, path, ids } => {
                                let s = sidecar.expect("sidecar tasks only exist with a sidecar");
                                (
                                    *day,
                                    path,
                                    connections.with(
                                        s.path(),
                                        || s.connect(),
                                        |conn| s.scan(conn, *day, path, ids, q, &mut worked),
                                    ),
                                )
                            }
                        };
                        if let Err(e) = done {
                            worked.skipped.push((day, skip_warning(path, &e)));
                        }
                    }
                    worked
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| FederError::Io { path: store.root().to_path_buf(), error: e })?;
        Ok::<_, FederError>(
            handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect(),
        )
    })?;

    let mut out = QueryOutput { stats, ..QueryOutput::default() };
    for worked in results {
        out.trajectories.extend(worked.trajectories);
        out.warnings.extend(worked.warnings);
        out.stats.points_read += worked.points_read;
        for (day, warning) in worked.skipped {
            skipped.entry(day).or_insert(warning);
        }
    }
    // A day that failed part-way answers nothing: what its other chunks found is dropped, so
    // a damaged file never yields a partial, order-dependent answer.
    out.trajectories.retain(|t| !skipped.contains_key(&t.day));
    out.warnings.extend(skipped.into_values());
    out.trajectories.sort_by(|a, b| (a.source, &a.source_id, a.day, a.id).cmp(&(b.source, &b.source_id, b.day, b.id)));
    out.warnings.sort();
    out.warnings.dedup();
    Ok(out)
}

/// The warning for a day file a query or `traj index` skips.
pub(crate) fn skip_warning(day_path: &Path, e: &FederError) -> String {
    if e.path() == day_path {
        format!("{}: day file skipped: {}", day_path.display(), e.problem())
    } else {
        format!("{}: day file skipped: {e}", day_path.display())
    }
}

/// What one worker found.
#[derive(Default)]
pub(crate) struct Worked {
    pub trajectories: Vec<Trajectory>,
    pub warnings: Vec<String>,
    pub points_read: usize,
    /// Days whose file failed part-way, with the warning.
    pub skipped: Vec<(i64, String)>,
    /// Reused decompression buffer.
    pub scratch: Vec<u8>,
}

/// Candidate ids from feder's R-tree (bounds widened for float32; exact checks follow).
fn rtree_candidates(conn: &Connection, path: &Path, q: &Query) -> Result<Vec<i64>, FederError> {
    let (sql, params) = q.rtree_sql("trajectory_index");
    let mut stmt = conn.prepare_cached(&sql).map_err(FederError::sqlite(path))?;
    let ids = stmt
        .query_map(rusqlite::params_from_iter(params), |r| r.get::<_, i64>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(FederError::sqlite(path))?;
    Ok(ids)
}

/// The `id IN rarray(?1)` parameter of a batch of ids.
pub(crate) fn id_array(ids: &[i64]) -> Rc<Vec<Value>> {
    Rc::new(ids.iter().map(|&id| Value::Integer(id)).collect())
}

/// Fetch, decode and check the rows of `ids` in a day file.
fn scan_blobs(
    conn: &Connection,
    path: &Path,
    day: i64,
    ids: &[i64],
    q: &Query,
    w: &mut Worked,
) -> Result<(), FederError> {
    let (meta_sql, meta_params) = q.metadata_sql();
    let sql = format!(
        "SELECT id, source, source_id, callsign, orig, dest, points FROM trajectories WHERE id IN rarray(?1){meta_sql}"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(FederError::sqlite(path))?;
    for batch in ids.chunks(FETCH_BATCH) {
        let array = id_array(batch);
        let params: Vec<&dyn ToSql> =
            std::iter::once(&array as &dyn ToSql).chain(meta_params.iter().map(|v| v as &dyn ToSql)).collect();
        let mut rows = stmt.query(params.as_slice()).map_err(FederError::sqlite(path))?;
        while let Some(row) = rows.next().map_err(FederError::sqlite(path))? {
            let header = match read_header(row, day) {
                Ok(header) => header,
                Err(e) => {
                    w.warnings.push(bad_row_warning(path, row, &e));
                    continue;
                }
            };
            let blob = match points_blob(row, 6).map_err(FederError::sqlite(path))? {
                Ok(blob) => blob,
                Err(problem) => {
                    w.warnings.push(broken_warning(path, &header, &problem));
                    continue;
                }
            };
            match points::payload(blob, &mut w.scratch) {
                Ok(records) => {
                    w.points_read += records.len();
                    let mut kept = Vec::new();
                    if select(q, records, &mut kept) {
                        w.trajectories.push(Trajectory { points: kept, ..header });
                    }
                }
                Err(e) => w.warnings.push(broken_warning(path, &header, &e.to_string())),
            }
        }
    }
    Ok(())
}

/// The `points` column of a row, or why it is not a blob (a wrong type is the trajectory's
/// problem, not the day file's).
pub(crate) fn points_blob<'r>(row: &'r rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Result<&'r [u8], String>> {
    Ok(match row.get_ref(at)? {
        ValueRef::Blob(blob) => Ok(blob),
        other => Err(format!("points is {}, not a blob", other.data_type())),
    })
}

/// The warning for a row whose metadata columns cannot be read (its id where it has one).
pub(crate) fn bad_row_warning(day_path: &Path, row: &rusqlite::Row<'_>, e: &rusqlite::Error) -> String {
    match row.get::<_, i64>(0) {
        Ok(id) => format!("{}: trajectory {id}: {e}", day_path.display()),
        Err(_) => format!("{}: a trajectory row: {e}", day_path.display()),
    }
}

/// A trajectory without points from a row `id, source, source_id, callsign, orig, dest, …`.
pub(crate) fn read_header(row: &rusqlite::Row<'_>, day: i64) -> rusqlite::Result<Trajectory> {
    Ok(Trajectory {
        day,
        id: row.get(0)?,
        source: row.get(1)?,
        source_id: row.get(2)?,
        callsign: row.get(3)?,
        orig: row.get(4)?,
        dest: row.get(5)?,
        points: Vec::new(),
    })
}

/// Check one trajectory's records against `q`, leaving the points to return in `out`.
/// With `filter_waypoints` (and not `within`) one pass decides, decoding only the records
/// inside the time window and the lat/lon box; otherwise every point is decoded and
/// [`evaluate`] decides. Both give what [`evaluate`] gives (a property test holds them equal).
pub fn select(q: &Query, records: Records<'_>, out: &mut Vec<Point>) -> bool {
    out.clear();
    if q.filter_waypoints && q.space != Some(SpaceOp::Within) {
        let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
        records.select(
            |t, lat, lon| {
                let t = i64::from(t);
                min_ts = min_ts.min(t);
                max_ts = max_ts.max(t);
                t >= q.from && t <= q.to && q.lat_lon_in_space(lat, lon)
            },
            out,
        );
        if q.filters_altitude() {
            out.retain(|p| q.point_in_space(p));
        }
        // A kept point is in the box, so `crosses` holds; only the exact time relation is left.
        if out.is_empty() || !q.time_matches(min_ts, max_ts) {
            out.clear();
            return false;
        }
        return true;
    }
    let all: Vec<Point> = records.points().collect();
    match evaluate(q, &all) {
        Some(points) => {
            *out = points;
            true
        }
        None => false,
    }
}
