//! The event database under real use: readers beside a writer, a second writer, read-only
//! archives, directories that hold no archive, corrupt tiles, hostile times.

use super::*;
use crate::sqlite::Access;
use crate::tiles::TileKey;
use std::path::Path;
use std::time::{Duration, Instant};

const T0_MS: i64 = 1_700_000_000_000;

fn ev(camera: &str, first_ms: i64, len_ms: i64) -> NewEvent {
    NewEvent {
        camera: camera.into(),
        class: "person".into(),
        first_ms,
        last_ms: first_ms + len_ms,
        confidence: None,
        boxes: vec![],
    }
}

/// Every file under `dir` with its bytes (a read must leave them all as they were).
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, if path.is_file() { std::fs::read(&path).expect("read") } else { Vec::new() })
        })
        .collect();
    out.sort();
    out
}

fn archive_with_events(n: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = EventDb::open_write(dir.path()).expect("open");
    let events: Vec<_> = (0..n).map(|i| ev("cam-1", T0_MS + i * 1000, 500)).collect();
    db.insert_events(&events, T0_MS / 1000 + 86_400).expect("ingest");
    dir
}

#[test]
fn readers_write_nothing() {
    let dir = archive_with_events(100);
    let path = dir.path().join(DB_FILE);
    let before = std::fs::read(&path).expect("read");
    let db = EventDb::open_read(dir.path()).expect("open");
    assert!(matches!(db.access(), Access::Read | Access::Immutable));
    assert_eq!(db.list_events("cam-1", 0, i64::MAX).expect("list").len(), 100);
    let id = db.string_id("cam-1").expect("id");
    let now = T0_MS / 1000 + 86_400;
    for level in 0..=crate::tiles::L_MAX {
        db.tile_service().get(id, TileKey::containing(level, T0_MS / 1000), now).expect("tile");
    }
    drop(db);
    assert_eq!(std::fs::read(&path).expect("read"), before, "a reader changed tessera.sqlite");
}

#[test]
fn a_directory_without_an_archive_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "hello").expect("write");
    let before = snapshot(dir.path());
    let err = EventDb::open_read(dir.path()).expect_err("not an archive").to_string();
    assert!(err.contains("not a Tessera archive") && err.contains(&*dir.path().to_string_lossy()), "{err}");
    assert_eq!(snapshot(dir.path()), before);
    // An archive with video but no events yet reads as empty, still writing nothing.
    std::fs::create_dir(dir.path().join("fsv")).expect("mkdir");
    let db = EventDb::open_read(dir.path()).expect("fsv archive");
    assert!(db.list_events("cam-1", 0, i64::MAX).expect("list").is_empty());
    assert!(!dir.path().join(DB_FILE).exists());
}

/// A reader during a long write transaction answers at once (WAL), from the last commit.
#[test]
fn readers_answer_while_an_ingest_runs() {
    let dir = archive_with_events(10);
    let writer = EventDb::open_write(dir.path()).expect("writer");
    let mut ingest = writer.begin_ingest(T0_MS / 1000 + 86_400).expect("begin");
    for i in 0..20_000 {
        ingest.add(&ev("cam-1", T0_MS + 100_000_000 + i * 10, 5)).expect("add");
    }
    let started = Instant::now();
    let reader = EventDb::open_read(dir.path()).expect("reader opens during the ingest");
    assert_eq!(reader.list_events("cam-1", 0, i64::MAX).expect("list").len(), 10);
    let id = reader.string_id("cam-1").expect("id");
    reader.tile_service().get(id, TileKey::containing(3, T0_MS / 1000), T0_MS / 1000 + 86_400).expect("tile");
    assert!(started.elapsed() < Duration::from_secs(2), "reader waited {:?}", started.elapsed());
    ingest.commit().expect("commit");
    assert_eq!(reader.list_events("cam-1", 0, i64::MAX).expect("list").len(), 20_010);
}

/// A second writer waits for the first instead of failing; nothing is lost.
#[test]
fn a_second_writer_waits_its_turn() {
    let dir = archive_with_events(1);
    let root = dir.path().to_owned();
    let first = EventDb::open_write(&root).expect("writer");
    let mut ingest = first.begin_ingest(T0_MS / 1000).expect("begin");
    ingest.add(&ev("cam-1", T0_MS + 5_000_000, 5)).expect("add");
    let second = std::thread::spawn(move || {
        let db = EventDb::open_write(&root).expect("second writer");
        db.insert_events(&[ev("cam-2", T0_MS, 5)], T0_MS / 1000).map(|ids| ids.len())
    });
    // Longer than any fixed busy timeout would be kind to.
    std::thread::sleep(Duration::from_millis(700));
    ingest.commit().expect("commit");
    assert_eq!(second.join().expect("thread").expect("second ingest"), 1);
    let db = EventDb::open_read(dir.path()).expect("open");
    assert_eq!(db.list_events("cam-1", 0, i64::MAX).expect("list").len(), 2);
    assert_eq!(db.list_events("cam-2", 0, i64::MAX).expect("list").len(), 1);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A read-only archive (`chmod -R a-w`) is read, immutable, and left byte for byte.
#[test]
fn read_only_archives_are_read_and_left_unchanged() {
    let dir = archive_with_events(50);
    let path = dir.path().join(DB_FILE);
    set_mode(&path, 0o444);
    set_mode(dir.path(), 0o555);
    let before = snapshot(dir.path());
    let result = (|| -> Result<(usize, Access), DbError> {
        let db = EventDb::open_read(dir.path())?;
        let n = db.list_events("cam-1", 0, i64::MAX)?.len();
        let id = db.string_id("cam-1")?;
        db.tile_service().get(id, TileKey::containing(5, T0_MS / 1000), i64::MAX / 4)?;
        Ok((n, db.access()))
    })();
    let after = snapshot(dir.path());
    // root may write anything: for root the archive is not read-only (tests/tests/
    // storage_cli.rs runs the CLI as another user for that case).
    let read_only = !super::may_write_db(dir.path());
    set_mode(dir.path(), 0o755);
    set_mode(&path, 0o644);
    let (n, access) = result.expect("read-only archive");
    assert_eq!(n, 50);
    if read_only {
        assert_eq!(after, before, "files changed");
        assert_eq!(access, Access::Immutable);
    }
}

/// A mode-444 database in a writable folder gets no foreign -wal/-shm beside it.
#[test]
fn a_read_only_file_in_a_writable_folder_gets_no_wal() {
    let dir = archive_with_events(5);
    let path = dir.path().join(DB_FILE);
    set_mode(&path, 0o444);
    let before = snapshot(dir.path());
    let db = EventDb::open_read(dir.path()).expect("open");
    assert_eq!(db.list_events("cam-1", 0, i64::MAX).expect("list").len(), 5);
    let access = db.access();
    drop(db);
    let after = snapshot(dir.path());
    set_mode(&path, 0o644);
    if access == Access::Immutable {
        assert_eq!(after, before);
    }
}

/// A flipped bit in a stored tile is an error naming the file, never a different tile.
#[test]
fn a_corrupt_tile_is_an_error_naming_the_file() {
    let dir = archive_with_events(100);
    let db = EventDb::open_write(dir.path()).expect("open");
    let id = db.string_id("cam-1").expect("id").expect("camera");
    let (level, index, mut blob) = db.tiles().all(id).expect("tiles").into_iter().next().expect("a tile");
    blob[1] ^= 0x04;
    db.file()
        .conn
        .execute(
            "UPDATE tile SET blob = ?1 WHERE camera = ?2 AND level = ?3 AND idx = ?4",
            rusqlite::params![blob, id, level, index],
        )
        .expect("corrupt");
    let err =
        db.tile_service().get(Some(id), TileKey { level, index }, i64::MAX / 4).expect_err("corrupt tile").to_string();
    assert!(err.contains(DB_FILE) && err.contains("checksum"), "{err}");
    // `tiles rebuild` is the cure.
    db.rebuild_tiles(T0_MS / 1000 + 86_400).expect("rebuild");
    db.tile_service().get(Some(id), TileKey { level, index }, i64::MAX / 4).expect("rebuilt tile");
}

/// Range arithmetic at the ends of i64 neither overflows nor widens the answer.
#[test]
fn extreme_ranges_answer_exactly() {
    let dir = archive_with_events(10);
    let db = EventDb::open_read(dir.path()).expect("open");
    assert!(db.list_events("cam-1", i64::MAX - 5, i64::MAX).expect("list").is_empty());
    assert!(db.list_events("cam-1", i64::MIN, i64::MIN + 5).expect("list").is_empty());
    assert_eq!(db.list_events("cam-1", i64::MIN, i64::MAX).expect("list").len(), 10);
    assert!(db.list_events("cam-1", 10, 5).expect("list").is_empty());
}

#[test]
fn next_and_previous_event_across_buckets_and_classes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = EventDb::open_write(dir.path()).expect("open");
    let mut long = ev("cam-1", T0_MS + 5_000, 3_600_000); // another duration bucket
    long.class = "car".into();
    let events = [ev("cam-1", T0_MS, 500), long, ev("cam-1", T0_MS + 9_000, 20), ev("cam-2", T0_MS + 1_000, 5)];
    db.insert_events(&events, T0_MS / 1000 + 86_400).expect("ingest");
    let next = |from, forward, classes: &[&str]| {
        let classes: Vec<String> = classes.iter().map(|c| c.to_string()).collect();
        db.step_event("cam-1", from, forward, &classes).expect("step").map(|e| (e.first_ms - T0_MS, e.class))
    };
    assert_eq!(next(T0_MS, true, &[]), Some((5_000, "car".into())), "exclusive of from, across buckets");
    assert_eq!(next(T0_MS, true, &["person"]), Some((9_000, "person".into())));
    assert_eq!(next(T0_MS + 9_000, true, &[]), None);
    assert_eq!(next(T0_MS + 9_000, false, &[]), Some((5_000, "car".into())));
    assert_eq!(next(T0_MS + 9_000, false, &["person"]), Some((0, "person".into())));
    assert_eq!(next(T0_MS + 9_000, false, &["bicycle"]), None, "an unknown class matches nothing");
    assert_eq!(db.step_event("cam-9", T0_MS, true, &[]).expect("step"), None);
}

#[test]
fn boxes_at_a_moment_are_interpolated_between_recorded_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = EventDb::open_write(dir.path()).expect("open");
    let mut e = ev("cam-1", T0_MS, 2_000);
    let b = |t: i64, x: f64| crate::events::BoxAt { t_ms: T0_MS + t, x1: x, y1: 10.0, x2: x + 20.0, y2: 40.0 };
    e.boxes = vec![b(0, 100.0), b(1000, 200.0), b(2000, 300.0)];
    db.insert_events(&[e, ev("cam-1", T0_MS, 2_000)], T0_MS / 1000 + 86_400).expect("ingest");
    let at = db.boxes_at("cam-1", T0_MS + 500, 1000).expect("boxes");
    assert_eq!(at.len(), 1, "only the event with boxes");
    assert!((at[0].1.x1 - 150.0).abs() < 1e-6, "halfway: {:?}", at[0].1);
    assert_eq!(db.boxes_at("cam-1", T0_MS + 2_000, 1000).expect("boxes")[0].1.x1, 300.0);
    assert!(db.boxes_at("cam-1", T0_MS + 5_000, 1000).expect("boxes").is_empty(), "after the event");
    assert!(db.boxes_at("cam-2", T0_MS, 1000).expect("boxes").is_empty());
}

/// The longest allowed event costs a bounded number of tiles; longer ones are refused.
#[test]
fn long_events_are_bounded_or_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = EventDb::open_write(dir.path()).expect("open");
    let started = Instant::now();
    db.insert_events(&[ev("cam-1", T0_MS, crate::events::MAX_EVENT_MS)], T0_MS / 1000 + 10 * 86_400).expect("ingest");
    let id = db.string_id("cam-1").expect("id").expect("camera");
    let tiles = db.tiles().count(id).expect("count");
    assert!(tiles <= 200, "{tiles} tiles for one 24 h event");
    assert!(started.elapsed() < Duration::from_secs(2));
    for bad in [
        ev("cam-1", T0_MS, crate::events::MAX_EVENT_MS + 1),
        ev("cam-1", i64::MIN, 5),
        ev("cam-1", -1, 5),
        ev("cam-1", crate::events::MAX_TIME_MS, 1),
    ] {
        assert!(db.insert_events(&[ev("cam-1", T0_MS, 1), bad], T0_MS / 1000).is_err());
    }
    assert_eq!(db.list_events("cam-1", 0, i64::MAX).expect("list").len(), 1, "a refused batch stores nothing");
}

/// A database written by schema 1 is upgraded by the first writer (or reader that may write).
#[test]
fn schema_1_databases_are_upgraded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(
            "CREATE TABLE strings(id INTEGER PRIMARY KEY, value TEXT NOT NULL UNIQUE);
             CREATE TABLE event(id INTEGER PRIMARY KEY, camera INTEGER NOT NULL, class INTEGER NOT NULL,
                 first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, confidence REAL, boxes BLOB, cyclops_id INTEGER);
             CREATE INDEX idx_event_camera_time ON event(camera, first_ms);
             CREATE TABLE tile(camera INTEGER NOT NULL, level INTEGER NOT NULL, idx INTEGER NOT NULL, blob BLOB NOT NULL,
                 PRIMARY KEY(camera, level, idx)) WITHOUT ROWID;
             CREATE TABLE camera_state(camera INTEGER PRIMARY KEY, max_duration_ms INTEGER NOT NULL DEFAULT 0,
                 first_ms INTEGER, last_ms INTEGER, tiles_built_until_s INTEGER);
             CREATE TABLE camera_class(camera INTEGER NOT NULL, class INTEGER NOT NULL, PRIMARY KEY(camera, class)) WITHOUT ROWID;
             CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT);
             INSERT INTO strings VALUES (1, 'cam-1'), (2, 'person');
             INSERT INTO event VALUES (1, 1, 2, 1700000000000, 1700000090000, NULL, NULL, NULL);
             INSERT INTO camera_state VALUES (1, 90000, 1700000000000, 1700000090000, NULL);
             INSERT INTO camera_class VALUES (1, 2);
             PRAGMA user_version = 1;",
        )
        .expect("v1 schema");
    }
    let db = EventDb::open_read(dir.path()).expect("upgrade on open");
    let events = db.list_events("cam-1", 1_700_000_050_000, 1_700_000_060_000).expect("list");
    assert_eq!(events.len(), 1, "the long event is found inside its span");
    assert_eq!(db.file().user_version().expect("version"), SCHEMA_VERSION);
}
