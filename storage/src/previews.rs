//! The preview store: small JPEG pictures of keyframes (320 px wide) for skimming, in one SQLite
//! file of their own — `<archive>/previews.sqlite`, or, when we may not write the archive (another
//! user's, a read-only mount, a cyclops recording), `$XDG_CACHE_HOME/tessera/previews-<hash of
//! the archive's canonical path>.sqlite` (see [`crate::user_cache`]). Previews are derived and
//! rebuildable: deleting the file loses nothing.
//!
//! Schema (version 1, `PRAGMA user_version`):
//! - `preview(stream, t_us, width, height, jpeg)`: one row per keyframe previewed, keyed by
//!   (stream, the keyframe's presentation time in µs). A rowid table with a unique index: a
//!   JPEG of ~10 KB would spill out of a WITHOUT ROWID row anyway.
//! - `preview_file(stream, base, bytes, mtime_ns, entries, every_us)`: per rf1 file, what the
//!   last build covered — its size and modification time, its index entries, and the spacing
//!   it was built with — so a rerun skips unchanged files without reading their index, and a
//!   grown file (still being recorded) is scanned again for its new keyframes only.
//! - `preview_meta(key, value)`: `every_us` of the last build (what `previews get` and the
//!   GUI use to tell "not built" from "thinned out").
//!
//! Writers use WAL, and each batch is its own transaction ([`PreviewStore::insert_batch`]): a
//! killed build loses nothing it stored, and its rerun does the rest. A file's bookkeeping row
//! is written with the batch that stores its last preview, so a file is never marked done
//! before its previews are. Readers open read-only ([`PreviewStore::open_read`]) and write
//! nothing; a reader of an archive with no store yet has no previews.

use crate::sqlite::SqliteFile;
use crate::{DbError, user_cache};
use rusqlite::{OptionalExtension, params};
use std::path::{Path, PathBuf};

/// The store's name inside an archive.
pub const FILE_NAME: &str = "previews.sqlite";
/// Default spacing of previews: at most one per 10 s of video.
pub const DEFAULT_EVERY_US: i64 = 10_000_000;
/// Width of every preview; the height keeps the aspect, rounded to even.
pub const WIDTH: u32 = 320;
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS preview (
  stream TEXT NOT NULL, t_us INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
  jpeg BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS preview_at ON preview (stream, t_us);
CREATE TABLE IF NOT EXISTS preview_file (
  stream TEXT NOT NULL, base TEXT NOT NULL, bytes INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
  entries INTEGER NOT NULL, every_us INTEGER NOT NULL, PRIMARY KEY (stream, base)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS preview_meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
";

/// One stored preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// The keyframe's presentation time, µs since the epoch.
    pub t_us: i64,
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

/// What a build covered of one rf1 file (see the module doc).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMark {
    pub base: String,
    /// Size of the file's tracks on disk and the latest modification time among them.
    pub bytes: u64,
    pub mtime_ns: i64,
    /// Index entries of its video track that were scanned.
    pub entries: u64,
    /// The spacing the file was built with (a later build with a smaller one scans it again).
    pub every_us: i64,
}

/// Whether this process may write `path` (for a directory: create files in it). `access(2)`
/// answers for the real user, so root is refused only by a read-only mount.
pub fn may_write(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
}

/// The store in the archive and the one in the user's cache, in that order.
pub fn locations(archive: &Path) -> [PathBuf; 2] {
    [archive.join(FILE_NAME), user_cache::file_for(archive, "previews", "sqlite")]
}

/// Where previews of `archive` are written: in the archive when we may write it (and the store
/// there, if it exists), otherwise in the user's cache directory.
pub fn write_location(archive: &Path) -> PathBuf {
    let [inside, cache] = locations(archive);
    let writable = may_write(archive) && (!inside.exists() || may_write(&inside));
    if writable { inside } else { cache }
}

/// A preview store, open for reading or writing.
#[derive(Debug)]
pub struct PreviewStore {
    file: SqliteFile,
}

impl PreviewStore {
    /// Open (creating) the store previews of `archive` are written to ([`write_location`]).
    pub fn open_write(archive: &Path) -> Result<Self, DbError> {
        Self::open_write_at(&write_location(archive))
    }

    /// Open (creating) the store at `path`, creating its directory when missing (the cache's).
    pub fn open_write_at(path: &Path) -> Result<Self, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Invalid { path: dir.to_owned(), problem: format!("cannot create: {e}") })?;
        }
        let file = SqliteFile::open_write(path)?;
        let version = file.user_version()?;
        if version > SCHEMA_VERSION {
            return Err(file.invalid(format!("preview store version {version} is newer than this Tessera's")));
        }
        file.conn.execute_batch(SCHEMA).map_err(|e| file.sql_error(e))?;
        file.conn.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| file.sql_error(e))?;
        Ok(Self { file })
    }

    /// Open the store of `archive` for reading: the archive's own, else the cache's; `None`
    /// when neither exists or holds a store yet. Writes nothing.
    pub fn open_read(archive: &Path) -> Result<Option<Self>, DbError> {
        for path in locations(archive) {
            if let Some(store) = Self::open_read_at(&path)? {
                return Ok(Some(store));
            }
        }
        Ok(None)
    }

    /// Open the store at `path` for reading; `None` when there is none (or it is not set up).
    pub fn open_read_at(path: &Path) -> Result<Option<Self>, DbError> {
        if !path.is_file() {
            return Ok(None);
        }
        let file = SqliteFile::open_read(path)?;
        if file.user_version()? == 0 {
            return Ok(None); // created, not set up yet: no previews
        }
        Ok(Some(Self { file }))
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> DbError + '_ {
        |e| self.file.sql_error(e)
    }

    fn one(&self, sql: &str, stream: &str, t_us: i64) -> Result<Option<Preview>, DbError> {
        self.file
            .conn
            .prepare_cached(sql)
            .and_then(|mut s| {
                s.query_row(params![stream, t_us], |r| {
                    Ok(Preview { t_us: r.get(0)?, width: r.get(1)?, height: r.get(2)?, jpeg: r.get(3)? })
                })
                .optional()
            })
            .map_err(self.sql())
    }

    /// The latest preview of `stream` at or before `t_us`.
    pub fn at_or_before(&self, stream: &str, t_us: i64) -> Result<Option<Preview>, DbError> {
        self.one(
            "SELECT t_us, width, height, jpeg FROM preview WHERE stream = ?1 AND t_us <= ?2 ORDER BY t_us DESC LIMIT 1",
            stream,
            t_us,
        )
    }

    /// The first preview of `stream` after `t_us`.
    pub fn after(&self, stream: &str, t_us: i64) -> Result<Option<Preview>, DbError> {
        self.one(
            "SELECT t_us, width, height, jpeg FROM preview WHERE stream = ?1 AND t_us > ?2 ORDER BY t_us LIMIT 1",
            stream,
            t_us,
        )
    }

    /// The preview of `stream` nearest `t_us` (the earlier one on a tie).
    pub fn nearest(&self, stream: &str, t_us: i64) -> Result<Option<Preview>, DbError> {
        let before = self.at_or_before(stream, t_us)?;
        let after = self.after(stream, t_us)?;
        Ok(match (before, after) {
            (Some(b), Some(a)) => Some(if a.t_us - t_us < t_us - b.t_us { a } else { b }),
            (b, a) => b.or(a),
        })
    }

    /// Times of the previews of `stream` in `[from_us, to_us]`, ascending.
    pub fn times_in(&self, stream: &str, from_us: i64, to_us: i64) -> Result<Vec<i64>, DbError> {
        let mut stmt = self
            .file
            .conn
            .prepare_cached("SELECT t_us FROM preview WHERE stream = ?1 AND t_us BETWEEN ?2 AND ?3 ORDER BY t_us")
            .map_err(self.sql())?;
        let rows = stmt.query_map(params![stream, from_us, to_us], |r| r.get(0)).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// What the last build covered of file `base` of `stream`.
    pub fn file_mark(&self, stream: &str, base: &str) -> Result<Option<FileMark>, DbError> {
        self.file
            .conn
            .prepare_cached(
                "SELECT bytes, mtime_ns, entries, every_us FROM preview_file WHERE stream = ?1 AND base = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![stream, base], |r| {
                    Ok(FileMark {
                        base: base.to_owned(),
                        bytes: r.get::<_, i64>(0)? as u64,
                        mtime_ns: r.get(1)?,
                        entries: r.get::<_, i64>(2)? as u64,
                        every_us: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(self.sql())
    }

    /// Store `previews` of `stream` and the bookkeeping of the files they complete, in one
    /// transaction (all of it lands, or none). A preview already stored is kept. Returns the
    /// previews newly stored.
    pub fn insert_batch(&self, stream: &str, previews: &[Preview], marks: &[FileMark]) -> Result<usize, DbError> {
        self.file.in_transaction(|| {
            let mut added = 0;
            let mut insert = self
                .file
                .conn
                .prepare_cached(
                    "INSERT OR IGNORE INTO preview (stream, t_us, width, height, jpeg) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(self.sql())?;
            for p in previews {
                added += insert.execute(params![stream, p.t_us, p.width, p.height, p.jpeg]).map_err(self.sql())?;
            }
            let mut mark = self
                .file
                .conn
                .prepare_cached(
                    "INSERT OR REPLACE INTO preview_file (stream, base, bytes, mtime_ns, entries, every_us)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .map_err(self.sql())?;
            for m in marks {
                mark.execute(params![stream, m.base, m.bytes as i64, m.mtime_ns, m.entries as i64, m.every_us])
                    .map_err(self.sql())?;
            }
            Ok(added)
        })
    }

    /// The spacing of the last build (`None` before any build).
    pub fn every_us(&self) -> Result<Option<i64>, DbError> {
        self.file
            .conn
            .query_row("SELECT value FROM preview_meta WHERE key = 'every_us'", [], |r| r.get(0))
            .optional()
            .map_err(self.sql())
    }

    pub fn set_every_us(&self, every_us: i64) -> Result<(), DbError> {
        self.file
            .conn
            .execute("INSERT OR REPLACE INTO preview_meta (key, value) VALUES ('every_us', ?1)", [every_us])
            .map(drop)
            .map_err(self.sql())
    }

    /// Previews stored and the bytes of their JPEGs (all streams).
    pub fn totals(&self) -> Result<(u64, u64), DbError> {
        self.file
            .conn
            .query_row("SELECT count(*), coalesce(sum(length(jpeg)), 0) FROM preview", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
            .map_err(self.sql())
    }
}

/// The thinning rule: a keyframe at `t_us` is previewed when it is the first of its slot
/// `⌊t / every⌋` (every keyframe when `every_us ≤ 0`). Stateless, so a rerun or a resumed build
/// picks the same keyframes, and a slot that has a preview is done.
pub fn slot_of(t_us: i64, every_us: i64) -> i64 {
    if every_us <= 0 { t_us } else { t_us.div_euclid(every_us) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn preview(t_us: i64) -> Preview {
        Preview { t_us, width: 320, height: 180, jpeg: t_us.to_le_bytes().to_vec() }
    }

    fn mark(base: &str, entries: u64) -> FileMark {
        FileMark { base: base.into(), bytes: 100, mtime_ns: 7, entries, every_us: DEFAULT_EVERY_US }
    }

    #[test]
    fn batches_land_whole_and_readers_see_them_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        assert!(PreviewStore::open_read(dir.path()).unwrap().is_none(), "no store yet: no previews");
        let store = PreviewStore::open_write_at(&dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(store.insert_batch("a", &[preview(10), preview(30)], &[mark("1_0", 5)]).unwrap(), 2);
        // Again: kept, not doubled; the mark is replaced.
        assert_eq!(store.insert_batch("a", &[preview(10), preview(20)], &[mark("1_0", 9)]).unwrap(), 1);
        store.set_every_us(5).unwrap();
        let reader = PreviewStore::open_read(dir.path()).unwrap().unwrap();
        assert_eq!(reader.at_or_before("a", 25).unwrap().map(|p| p.t_us), Some(20));
        assert_eq!(reader.at_or_before("a", 9).unwrap(), None);
        assert_eq!(reader.at_or_before("b", 25).unwrap(), None);
        assert_eq!(reader.nearest("a", 26).unwrap().map(|p| p.t_us), Some(30));
        assert_eq!(reader.nearest("a", 25).unwrap().map(|p| p.t_us), Some(20));
        assert_eq!(reader.times_in("a", 10, 20).unwrap(), [10, 20]);
        assert_eq!(reader.file_mark("a", "1_0").unwrap(), Some(mark("1_0", 9)));
        assert_eq!(reader.every_us().unwrap(), Some(5));
        assert_eq!(reader.totals().unwrap(), (3, 24));
        assert!(reader.insert_batch("a", &[preview(40)], &[]).is_err(), "readers cannot write");
    }

    #[test]
    fn a_failed_batch_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = PreviewStore::open_write_at(&dir.path().join(FILE_NAME)).unwrap();
        store
            .file
            .conn
            .execute_batch(
                "CREATE TRIGGER no40 BEFORE INSERT ON preview WHEN new.t_us = 40 BEGIN SELECT RAISE(ABORT, 'no'); END",
            )
            .unwrap();
        assert!(store.insert_batch("a", &[preview(30), preview(40)], &[mark("1_0", 1)]).is_err());
        assert_eq!(store.totals().unwrap(), (0, 0));
        assert_eq!(store.file_mark("a", "1_0").unwrap(), None);
    }

    #[test]
    fn unwritable_archives_write_to_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_location(dir.path()), dir.path().join(FILE_NAME));
        let [_, cache] = locations(dir.path());
        assert_eq!(write_location(&dir.path().join("missing")), locations(&dir.path().join("missing"))[1]);
        assert!(cache.file_name().unwrap().to_string_lossy().starts_with("previews-"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a plain list: the latest at or before, and the nearest.
        #[test]
        fn lookups_match_a_list(times in proptest::collection::btree_set(-1000i64..1000, 0..20), t in -1100i64..1100) {
            let dir = tempfile::tempdir().unwrap();
            let store = PreviewStore::open_write_at(&dir.path().join(FILE_NAME)).unwrap();
            let all: Vec<Preview> = times.iter().map(|&t| preview(t)).collect();
            store.insert_batch("s", &all, &[]).unwrap();
            let before = times.range(..=t).next_back().copied();
            prop_assert_eq!(store.at_or_before("s", t).unwrap().map(|p| p.t_us), before);
            let after = times.range(t + 1..).next().copied();
            let nearest = match (before, after) {
                (Some(b), Some(a)) => Some(if a - t < t - b { a } else { b }),
                (b, a) => b.or(a),
            };
            prop_assert_eq!(store.nearest("s", t).unwrap().map(|p| p.t_us), nearest);
        }

        /// Slots: every time lies in its slot, and slots are ordered like times.
        #[test]
        fn slots_are_monotonic(a in any::<i64>(), b in any::<i64>(), every in 1i64..100_000_000) {
            let (sa, sb) = (slot_of(a, every), slot_of(b, every));
            prop_assert!(a > b || sa <= sb);
            prop_assert!(sa.saturating_mul(every) <= a);
        }
    }
}
