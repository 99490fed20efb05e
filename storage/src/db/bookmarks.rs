//! Bookmarks: named time ranges with notes, kept in the archive's database (table
//! `bookmark`, created by the first bookmark) so they travel with the footage. A database
//! without the table has no bookmarks; readers never create it.

use super::EventDb;
use crate::names::{MAX_NAME_BYTES, MAX_NOTE_BYTES, STORED_NOTE_READ_CHARS, STORED_READ_CHARS, clip_stored};
use crate::sqlite::DbError;
use rusqlite::params;

/// A stored bookmark. Times are µs since 1970; `camera` is empty for "every camera".
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Bookmark {
    pub id: i64,
    pub camera: String,
    pub start_us: i64,
    pub end_us: i64,
    pub name: String,
    pub note: String,
    pub created_us: i64,
}

const CREATE: &str = "CREATE TABLE IF NOT EXISTS bookmark(
    id INTEGER PRIMARY KEY,
    camera TEXT NOT NULL,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    name TEXT NOT NULL,
    note TEXT NOT NULL,
    created_us INTEGER NOT NULL)";

impl EventDb {
    /// Whether the first bookmark has created the table.
    fn has_bookmarks_table(&self) -> Result<bool, DbError> {
        self.file
            .conn
            .query_row("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'bookmark'", [], |r| {
                r.get(0)
            })
            .map_err(|e| self.file.sql_error(e))
    }

    /// Every bookmark, by start time. Names and notes stored before they were bounded are
    /// read clipped ([`crate::names::clip_stored`]).
    pub fn bookmarks(&self) -> Result<Vec<Bookmark>, DbError> {
        let sql = |e| self.file.sql_error(e);
        if !self.has_bookmarks_table()? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .file
            .conn
            .prepare_cached(
                "SELECT id, substr(camera, 1, ?1), start_us, end_us, substr(name, 1, ?1), substr(note, 1, ?2), created_us
                 FROM bookmark ORDER BY start_us, id",
            )
            .map_err(sql)?;
        let (name, note) = (|v| clip_stored(v, MAX_NAME_BYTES), |v| clip_stored(v, MAX_NOTE_BYTES));
        let rows = stmt
            .query_map(params![STORED_READ_CHARS as i64, STORED_NOTE_READ_CHARS as i64], |r| {
                Ok(Bookmark {
                    id: r.get(0)?,
                    camera: name(r.get(1)?),
                    start_us: r.get(2)?,
                    end_us: r.get(3)?,
                    name: name(r.get(4)?),
                    note: note(r.get(5)?),
                    created_us: r.get(6)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(sql)
    }

    /// Store a bookmark (its `id` and `created_us` are assigned); returns its id. The range
    /// must not be reversed; the name (trimmed) and a camera other than "" are names, the note
    /// a note ([`crate::names`]).
    pub fn add_bookmark(&self, b: &Bookmark) -> Result<i64, DbError> {
        if b.name.trim().is_empty() {
            return Err(self.file.invalid("a bookmark needs a name"));
        }
        let checked = crate::names::check_name("bookmark name", b.name.trim())
            .and_then(|()| crate::names::check_note("bookmark note", &b.note))
            .and_then(|()| {
                if b.camera.is_empty() { Ok(()) } else { crate::names::check_name("bookmark camera", &b.camera) }
            });
        checked.map_err(|p| self.file.invalid(p))?;
        if b.end_us < b.start_us {
            return Err(self.file.invalid(format!("bookmark {:?}: its end is before its start", b.name)));
        }
        let sql = |e| self.file.sql_error(e);
        self.file.conn.execute_batch(CREATE).map_err(sql)?;
        self.file
            .conn
            .execute(
                "INSERT INTO bookmark(camera, start_us, end_us, name, note, created_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![b.camera, b.start_us, b.end_us, b.name.trim(), b.note, crate::UnixMicros::now().0],
            )
            .map_err(sql)?;
        Ok(self.file.conn.last_insert_rowid())
    }

    /// Delete a bookmark; `false` when there was none with that id.
    pub fn delete_bookmark(&self, id: i64) -> Result<bool, DbError> {
        if !self.has_bookmarks_table()? {
            return Ok(false);
        }
        let n =
            self.file.conn.execute("DELETE FROM bookmark WHERE id = ?1", [id]).map_err(|e| self.file.sql_error(e))?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(name: &str, start_us: i64) -> Bookmark {
        Bookmark {
            id: 0,
            camera: "cam-1".into(),
            start_us,
            end_us: start_us + 5_000_000,
            name: name.into(),
            note: "a note".into(),
            created_us: 0,
        }
    }

    #[test]
    fn bookmarks_round_trip_and_readers_see_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = EventDb::open_write(dir.path()).expect("open");
        assert!(db.bookmarks().expect("list").is_empty(), "no table yet: no bookmarks");
        let b = db.add_bookmark(&mark("later", 2_000)).expect("add");
        let a = db.add_bookmark(&mark("  earlier ", 1_000)).expect("add");
        let reader = EventDb::open_read(dir.path()).expect("read");
        let list = reader.bookmarks().expect("list");
        assert_eq!(list.iter().map(|m| (m.id, m.name.as_str())).collect::<Vec<_>>(), [(a, "earlier"), (b, "later")]);
        assert!(list.iter().all(|m| m.created_us > 0 && m.note == "a note"));
        assert!(db.delete_bookmark(a).expect("delete"));
        assert!(!db.delete_bookmark(a).expect("again"), "gone");
        assert_eq!(reader.bookmarks().expect("list").len(), 1);
        let mut reversed = mark("bad", 10);
        reversed.end_us = 5;
        let error = db.add_bookmark(&reversed).expect_err("reversed");
        assert!(error.to_string().contains("end is before its start"));
        assert!(db.add_bookmark(&mark(" ", 10)).is_err(), "a name is needed");
        // Names and notes are bounded and printable; nothing of a refused bookmark is stored.
        let long = mark(&"n".repeat(256), 10);
        let mut note = mark("ok", 10);
        note.note = "x".repeat(4097);
        let mut camera = mark("ok", 10);
        camera.camera = "cam\u{1b}".into();
        let mut lines = mark("ok", 10);
        lines.note = "two\nlines".into();
        for (bad, needle) in [
            (long, "bookmark name is 256 bytes"),
            (note, "bookmark note is 4097 bytes"),
            (camera, "bookmark camera holds the unprintable character U+001B"),
        ] {
            let error = db.add_bookmark(&bad).expect_err(needle).to_string();
            assert!(error.contains(needle) && !error.contains('\n'), "{error}");
        }
        assert_eq!(reader.bookmarks().expect("list").len(), 1, "nothing refused was stored");
        assert!(db.add_bookmark(&lines).is_ok(), "a note may span lines");
    }
}
