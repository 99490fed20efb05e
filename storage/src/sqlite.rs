//! The SQLite file under an archive's events and tiles (`<archive>/tessera.sqlite`): how it is
//! opened, transactions, and errors that name the file. It knows no table.
//!
//! - **Readers never write.** [`SqliteFile::open_read`] opens `SQLITE_OPEN_READ_ONLY` with
//!   `query_only`, so a reading command cannot change a byte of the file (no schema set-up, no
//!   `user_version`, no header change). In WAL mode readers proceed while a writer works.
//! - **Media nobody can write** (a `chmod -R a-w` copy, a mode-444 file): opened with
//!   `immutable=1`, so SQLite creates no `-wal`/`-shm` beside the file. A file that another
//!   user may be writing (a write bit set, or a `-wal` holding frames) is read through SQLite's
//!   locks instead, falling back to immutable only when no `-shm` exists or can be made (then
//!   no one is writing it).
//! - **Writers wait their turn**: a second writer waits for the first (with a progress line
//!   every few seconds) instead of failing after a fixed timeout.

use rusqlite::{Connection, OpenFlags};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Errors of the event database, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// Not `#[source]`: rusqlite's message already says it all; a chain would repeat it.
    #[error("{path}: {error}")]
    Sqlite { path: PathBuf, error: rusqlite::Error },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

/// How a file was opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read-write (creates the file when missing).
    Write,
    /// `SQLITE_OPEN_READ_ONLY`: sees writers' commits, writes nothing.
    Read,
    /// `immutable=1`: nothing can change the file while we read it.
    Immutable,
    /// A private in-memory database.
    Memory,
}

/// One open SQLite file.
pub struct SqliteFile {
    pub(crate) conn: Connection,
    path: PathBuf,
    access: Access,
}

impl std::fmt::Debug for SqliteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteFile").field("path", &self.path).field("access", &self.access).finish()
    }
}

/// How long a reader waits for a lock (only WAL recovery or a checkpoint's brief exclusive
/// moment hold one against readers).
const READER_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A waiting writer says so this often.
const WAIT_REPORT_EVERY: Duration = Duration::from_secs(5);
const WAIT_STEP: Duration = Duration::from_millis(25);

/// The busy handler of writers: wait for the other writer as long as it takes, saying so.
fn wait_for_writer(attempt: i32) -> bool {
    let per_report = (WAIT_REPORT_EVERY.as_millis() / WAIT_STEP.as_millis()) as i32;
    if attempt > 0 && attempt % per_report == 0 {
        let waited = WAIT_STEP * attempt as u32;
        tracing::warn!("another process is writing the event database; waiting ({} s)", waited.as_secs());
    }
    std::thread::sleep(WAIT_STEP);
    true
}

/// `-wal` of a database file.
fn wal_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push("-wal");
    PathBuf::from(s)
}

/// Whether this process may write `path` (for a directory: create files in it).
fn may_write(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
}

impl SqliteFile {
    /// Open for writing, creating the file when missing; WAL mode.
    pub fn open_write(path: &Path) -> Result<Self, DbError> {
        let sql = |error| DbError::Sqlite { path: path.to_owned(), error };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sql)?;
        conn.busy_handler(Some(wait_for_writer)).map_err(sql)?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).map_err(sql)?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)).map_err(sql)?;
        }
        // 64 MiB of page cache: a bulk ingest's index pages stay in memory.
        conn.execute_batch("PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; PRAGMA cell_size_check=ON;")
            .map_err(sql)?;
        Ok(Self { conn, path: path.to_owned(), access: Access::Write })
    }

    /// Open an existing file for reading only (see the module doc for the modes).
    pub fn open_read(path: &Path) -> Result<Self, DbError> {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let we_may_write = may_write(path) && may_write(dir);
        // Someone else (a recorder running as another user) may be writing when the file has
        // a write bit or its -wal holds frames: read through SQLite's locks then.
        let someone_may_write = std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o222 != 0);
        let wal_has_data = std::fs::metadata(wal_path(path)).is_ok_and(|m| m.len() > 0);
        if we_may_write || someone_may_write || wal_has_data {
            match Self::open_read_as(path, Access::Read) {
                Ok(file) => return Ok(file),
                // No -shm and no right to create one: nobody is writing it now.
                Err(e) if !we_may_write && !wal_has_data => {
                    tracing::debug!("{e}; reading {} as immutable", path.display());
                }
                Err(e) => return Err(e),
            }
        }
        Self::open_read_as(path, Access::Immutable)
    }

    /// Open read-only (`Access::Read`) or immutable, and probe that the file reads.
    fn open_read_as(path: &Path, access: Access) -> Result<Self, DbError> {
        let sql = |error| DbError::Sqlite { path: path.to_owned(), error };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(file_uri(path, access == Access::Immutable), flags).map_err(sql)?;
        conn.busy_timeout(READER_BUSY_TIMEOUT).map_err(sql)?;
        conn.execute_batch("PRAGMA query_only=ON; PRAGMA cell_size_check=ON;").map_err(sql)?;
        let file = Self { conn, path: path.to_owned(), access };
        file.user_version()?; // opening is lazy: this is where a missing -shm shows
        Ok(file)
    }

    /// A private in-memory database (tests, benchmarks, mirrors of read-only recordings).
    pub fn in_memory() -> Result<Self, DbError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|error| DbError::Sqlite { path: path.clone(), error })?;
        Ok(Self { conn, path, access: Access::Memory })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn access(&self) -> Access {
        self.access
    }

    pub fn sql_error(&self, error: rusqlite::Error) -> DbError {
        DbError::Sqlite { path: self.path.clone(), error }
    }

    pub fn invalid(&self, problem: impl Into<String>) -> DbError {
        DbError::Invalid { path: self.path.clone(), problem: problem.into() }
    }

    /// `PRAGMA user_version`.
    pub fn user_version(&self) -> Result<i64, DbError> {
        self.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(|e| self.sql_error(e))
    }

    /// Whether the file has any table yet.
    pub fn is_empty(&self) -> Result<bool, DbError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
            .map_err(|e| self.sql_error(e))?;
        Ok(n == 0)
    }

    /// Changes whenever the data may have: another connection committed (`PRAGMA
    /// data_version`) or this one changed rows. Caches drop their content when it moves.
    pub fn change_marker(&self) -> Result<(i64, u64), DbError> {
        let version = self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| self.sql_error(e))?;
        Ok((version, self.conn.total_changes()))
    }

    /// Run `f` in one `BEGIN IMMEDIATE` transaction: all of it lands, or none of it.
    pub fn in_transaction<T>(&self, f: impl FnOnce() -> Result<T, DbError>) -> Result<T, DbError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.sql_error(e))?;
        match f() {
            Ok(v) => {
                self.conn.execute_batch("COMMIT").map_err(|e| self.sql_error(e))?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// A `file:` URI for `path` (percent-encoding what URIs reserve).
fn file_uri(path: &Path, immutable: bool) -> String {
    let mut uri = b"file:".to_vec();
    for b in path.to_string_lossy().bytes() {
        match b {
            b'%' | b'?' | b'#' => uri.extend_from_slice(format!("%{b:02X}").as_bytes()),
            _ => uri.push(b),
        }
    }
    if immutable {
        uri.extend_from_slice(b"?immutable=1");
    }
    String::from_utf8_lossy(&uri).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_escape_reserved_characters() {
        assert_eq!(file_uri(Path::new("/a b/x%?#.sqlite"), false), "file:/a b/x%25%3F%23.sqlite");
        assert_eq!(file_uri(Path::new("/d/é.sqlite"), true), "file:/d/é.sqlite?immutable=1");
    }

    #[test]
    fn readers_write_nothing_and_see_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.sqlite");
        let w = SqliteFile::open_write(&path).expect("writer");
        w.conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);").expect("create");
        let r = SqliteFile::open_read(&path).expect("reader");
        assert_eq!(r.access(), Access::Read);
        assert!(r.conn.execute_batch("INSERT INTO t VALUES (2)").is_err(), "readers cannot write");
        w.conn.execute_batch("INSERT INTO t VALUES (3)").expect("insert");
        let n: i64 = r.conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0)).expect("count");
        assert_eq!(n, 2);
    }
}
