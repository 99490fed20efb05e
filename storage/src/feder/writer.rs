//! Writing feder day files byte-for-byte as feder's ingester lays them out (schema names and
//! column order, R-tree extents, `0x01` + LZ4 frame blobs), so Python feder reads what we
//! write. Tessera never writes into a store it reads; this is for test fixtures, the demo's
//! synthetic traffic and `tessera traj synth`.

use super::points::{self, Point};
use super::query::Extent;
use super::store::{FederError, FederStore};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;
use std::path::Path;

/// feder's schema (§2 of the format notes; names and column order must not change).
const SCHEMA: &str = "
CREATE VIRTUAL TABLE IF NOT EXISTS trajectory_index USING rtree(
  id, min_timestamp, max_timestamp, min_latitude, max_latitude,
  min_longitude, max_longitude, min_altitude, max_altitude);
CREATE TABLE IF NOT EXISTS trajectories (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source INTEGER NOT NULL,
  source_id TEXT NOT NULL,
  transponder_id TEXT,
  orig TEXT,
  dest TEXT,
  callsign TEXT NOT NULL,
  aircraft_type TEXT,
  points BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS trajectory_source_id_index ON trajectories(source, source_id);
";

/// A trajectory to write.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTrajectory {
    pub source: i64,
    pub source_id: String,
    pub transponder_id: Option<String>,
    pub orig: Option<String>,
    pub dest: Option<String>,
    pub callsign: String,
    pub aircraft_type: Option<String>,
    /// Time-ordered, 1 ..= 65 535 of them.
    pub points: Vec<Point>,
}

/// Write trajectories into `store`, each into the file of the UTC day of its first point
/// (created when missing). Trajectories without points are skipped.
pub fn write(store: &FederStore, trajectories: &[NewTrajectory]) -> Result<(), FederError> {
    let mut by_day: BTreeMap<i64, Vec<&NewTrajectory>> = BTreeMap::new();
    for t in trajectories {
        if let Some(first) = t.points.first() {
            by_day.entry(i64::from(first.time).div_euclid(86_400)).or_default().push(t);
        }
    }
    for (day, ts) in by_day {
        let path = store.day_path(day);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|error| FederError::Io { path: dir.to_path_buf(), error })?;
        }
        write_day(&path, &ts).map_err(FederError::sqlite(&path))?;
    }
    Ok(())
}

fn write_day(path: &Path, trajectories: &[&NewTrajectory]) -> rusqlite::Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = WAL;")?;
    conn.execute_batch(SCHEMA)?;
    let tx = conn.transaction()?;
    {
        let mut row = tx.prepare(
            "INSERT INTO trajectories (source, source_id, transponder_id, orig, dest, callsign, aircraft_type, points) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut index = tx.prepare("INSERT INTO trajectory_index VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
        for t in trajectories {
            let Some(e) = Extent::of(t.points.iter().copied()) else { continue };
            row.execute(params![
                t.source,
                t.source_id,
                t.transponder_id,
                t.orig,
                t.dest,
                t.callsign,
                t.aircraft_type,
                points::encode(&t.points)
            ])?;
            let id = tx.last_insert_rowid();
            index.execute(params![
                id, e.min_ts, e.max_ts, e.min_lat, e.max_lat, e.min_lon, e.max_lon, e.min_alt, e.max_alt
            ])?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")?;
    Ok(())
}
