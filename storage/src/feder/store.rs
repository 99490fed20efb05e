//! A feder store on disk: one SQLite file per UTC day, `{root}/{YYYY}/{YYYY}-{DDD}.sqlite`,
//! opened read-only. Days the ingester is done with (more than [`SETTLED_DAYS`] before today)
//! open `immutable=1` (no locks, no `-shm`); newer days open `mode=ro` through SQLite's locks,
//! because ingest lags by 2–3 days and may still be writing them.

use chrono::Datelike;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Days after which feder's ingester no longer touches a day file.
pub const SETTLED_DAYS: i64 = 4;

/// Errors reading a store, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum FederError {
    #[error("{path}: {error}")]
    Sqlite { path: PathBuf, error: rusqlite::Error },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl FederError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            FederError::Sqlite { path, .. } | FederError::Invalid { path, .. } | FederError::Io { path, .. } => path,
        }
    }

    /// What went wrong, without the path.
    pub fn problem(&self) -> String {
        match self {
            FederError::Sqlite { error, .. } => error.to_string(),
            FederError::Invalid { problem, .. } => problem.clone(),
            FederError::Io { error, .. } => error.to_string(),
        }
    }

    pub(crate) fn sqlite(path: &Path) -> impl FnOnce(rusqlite::Error) -> FederError + '_ {
        move |error| FederError::Sqlite { path: path.to_path_buf(), error }
    }
}

/// A feder store's root directory.
#[derive(Clone, Debug)]
pub struct FederStore {
    root: PathBuf,
}

impl FederStore {
    /// A store at `root` (which must be a directory).
    pub fn open(root: &Path) -> Result<Self, FederError> {
        if !root.is_dir() {
            return Err(FederError::Invalid {
                path: root.to_path_buf(),
                problem: "not a directory (a feder store holds {YYYY}/{YYYY}-{DDD}.sqlite day files)".into(),
            });
        }
        Ok(FederStore { root: root.to_path_buf() })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a UTC day (days since 1970-01-01), whether or not it exists.
    pub fn day_path(&self, day: i64) -> PathBuf {
        let name = day_name(day);
        self.root.join(&name[..4]).join(format!("{name}.sqlite"))
    }

    /// Every day file present, in day order.
    pub fn day_files(&self) -> Result<Vec<(i64, PathBuf)>, FederError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |error| FederError::Io { path, error }
        };
        let mut days = Vec::new();
        for year in std::fs::read_dir(&self.root).map_err(io(&self.root))? {
            let year = year.map_err(io(&self.root))?.path();
            let Some(y) = year.file_name().and_then(|n| n.to_str()).and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if !year.is_dir() {
                continue;
            }
            for file in std::fs::read_dir(&year).map_err(io(&year))? {
                let path = file.map_err(io(&year))?.path();
                let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
                if let Some(day) = parse_day_file_name(name).filter(|_| name.starts_with(&format!("{y:04}-"))) {
                    days.push((day, path));
                }
            }
        }
        days.sort();
        Ok(days)
    }

    /// The day entries (files, or whatever else holds a day file's name) of `days` that
    /// exist, in day order. A long range lists the store once instead of probing each day,
    /// so a query over all of time costs what the store holds, not what the range spans.
    pub fn days_in(&self, days: std::ops::RangeInclusive<i64>) -> Result<Vec<(i64, PathBuf)>, FederError> {
        const PROBE_MAX_DAYS: i64 = 64;
        let (first, last) = (*days.start(), *days.end());
        if last.saturating_sub(first) < PROBE_MAX_DAYS {
            return Ok(days
                .map(|day| (day, self.day_path(day)))
                .filter(|(_, path)| std::fs::symlink_metadata(path).is_ok())
                .collect());
        }
        let mut all = self.day_files()?;
        // Only the entries the probe would find (a year directory `02025` is not `2025`).
        all.retain(|(day, path)| days.contains(day) && *path == self.day_path(*day));
        Ok(all)
    }

    /// Open a day file read-only (see the module docs for when it is immutable).
    pub fn open_day(&self, day: i64, path: &Path) -> Result<Connection, FederError> {
        let today = chrono::Utc::now().timestamp().div_euclid(86_400);
        open_read_only(path, day < today - SETTLED_DAYS)
    }
}

/// Open an SQLite file read-only by URI; `immutable` skips locking entirely. A `mode=ro` open
/// that cannot take SQLite's shared memory (a read-only directory beside a WAL file) falls back
/// to immutable: then nobody can be writing it.
pub fn open_read_only(path: &Path, immutable: bool) -> Result<Connection, FederError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let uri = |immutable: bool| {
        format!("file:{}?mode=ro{}", uri_escape(&path.to_string_lossy()), if immutable { "&immutable=1" } else { "" })
    };
    let probe = |conn: &Connection| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get::<_, i64>(0));
    let open = |immutable: bool| -> Result<Connection, rusqlite::Error> {
        let conn = Connection::open_with_flags(uri(immutable), flags)?;
        probe(&conn)?;
        Ok(conn)
    };
    let conn = match open(immutable) {
        Ok(conn) => conn,
        Err(_) if !immutable => open(true).map_err(FederError::sqlite(path))?,
        Err(e) => return Err(FederError::sqlite(path)(e)),
    };
    rusqlite::vtab::array::load_module(&conn).map_err(FederError::sqlite(path))?;
    // Read through a memory map: no read() call and no copy per page (blob-heavy queries).
    conn.pragma_update(None, "mmap_size", 1i64 << 32).map_err(FederError::sqlite(path))?;
    Ok(conn)
}

/// Percent-escape what an SQLite URI path cannot hold literally.
fn uri_escape(path: &str) -> String {
    let literal = |b: u8| b.is_ascii() && !matches!(b, b'%' | b'?' | b'#');
    path.bytes().map(|b| if literal(b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `YYYY-DDD` of a UTC day (days since 1970-01-01).
pub fn day_name(day: i64) -> String {
    let date = day
        .checked_mul(86_400)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.date_naive())
        .unwrap_or_default();
    format!("{:04}-{:03}", date.year(), date.ordinal())
}

/// The day of `YYYY-DDD.sqlite`.
fn parse_day_file_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".sqlite")?;
    let (y, d) = stem.split_once('-')?;
    if y.len() != 4 || d.len() != 3 {
        return None;
    }
    let date = chrono::NaiveDate::from_yo_opt(y.parse().ok()?, d.parse().ok()?)?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp().div_euclid(86_400))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn day_names_follow_feder() {
        // 2025-05-22 is day 142.
        let day = 1_747_944_000 / 86_400;
        assert_eq!(day_name(day), "2025-142");
        assert_eq!(parse_day_file_name("2025-142.sqlite"), Some(day));
        assert_eq!(parse_day_file_name("2025-367.sqlite"), None);
        assert_eq!(parse_day_file_name("2024-366.sqlite").map(day_name).as_deref(), Some("2024-366"));
        let store = FederStore { root: PathBuf::from("/s") };
        assert_eq!(store.day_path(day), PathBuf::from("/s/2025/2025-142.sqlite"));
    }

    #[test]
    fn uris_escape_what_sqlite_would_misread() {
        assert_eq!(uri_escape("/a b/c?d#e%f"), "/a b/c%3Fd%23e%25f");
        assert_eq!(uri_escape("/é"), "/%C3%A9");
    }
}
