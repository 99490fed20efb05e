//! End-to-end: populations that fail or are cut short, and rates that must keep every frame
//! (issue 17, items 4, 8 and parts of 9).
//!
//! - The bucket rule keeps every frame at the source rate (30 → 30, 29.97 → 30000/1001), in
//!   the foreground and through the background worker, on both backends.
//! - A frames file cut at a record boundary (its header's `frame_count`) and a frame of more
//!   than 65,535 objects are refused by name.
//! - A failed population (bad input found mid-run, a full disk) leaves no `.partial` file and
//!   a ready project `ready` with its previous rows and the error; one without rows `failed`.
//! - On PostgreSQL, a populator killed with SIGKILL reads as lost at once and `--reset` takes
//!   over at once; one whose connection is closed records the error.
//! - `hypertable query` refuses `--from` after `--to`.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};
use tessera_storage::observations::{FrameObject, FrameRecord, FramesHeader, write_frames};
use tessera_tests::{Run, TestDb, tessera};

const START_US: i64 = 1_747_944_000_000_000;

/// `n` frames at `t_us(k)`, one "car" per frame; the header says `frame_count`.
fn frames_file(path: &Path, id: i64, n: u32, frame_count: u32, t_us: impl Fn(i64) -> i64) {
    let mut header = FramesHeader::new(id, id + 1000, 1920, 1080, vec!["car".into()]);
    (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) = (30, 1, START_US, frame_count);
    let records: Vec<FrameRecord> = (0..n)
        .map(|k| FrameRecord {
            i: k,
            t_us: t_us(i64::from(k)),
            o: vec![FrameObject { tid: Some(7), c: 0, s: Some(0.9), b: [k as f32, 100.0, 50.0, 40.0], f: 0, a: None }],
        })
        .collect();
    write_frames(path, &header, &records).unwrap();
}

/// 30 fps times as stored: `round(k·10⁶/30)`.
fn t30(k: i64) -> i64 {
    (k * 1_000_000 + 15) / 30
}

/// 29.97 fps times: `round(k·1001·10⁶/30000)`.
fn t2997(k: i64) -> i64 {
    (k * 1001 * 1_000_000 + 15_000) / 30_000
}

/// Import `projects` (id, frames file name in `dir`) into the catalog `catalog`.
fn import(dir: &Path, catalog: &Path, projects: &[(i64, &str)]) {
    let projects: Vec<Value> = projects
        .iter()
        .map(|(id, file)| {
            json!({"id": id, "name": format!("p{id}"), "classifications": [
                {"id": id, "kind": "video", "frames": dir.join(file)}]})
        })
        .collect();
    let manifest = dir.join(format!("manifest-{}.json", projects.len()));
    std::fs::write(&manifest, json!({ "projects": projects }).to_string()).unwrap();
    let run = tessera(&["catalog", "import", "--catalog", catalog.to_str().unwrap(), manifest.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
}

/// `tessera hypertable <sub> --catalog C [--database URL] args…`.
fn ht(sub: &str, catalog: &Path, db: Option<&str>, args: &[&str]) -> Run {
    let mut all = vec!["hypertable", sub, "--catalog", catalog.to_str().unwrap()];
    if let Some(url) = db {
        all.extend_from_slice(&["--database", url]);
    }
    all.extend_from_slice(args);
    tessera(&all)
}

fn ok(run: Run) -> Run {
    assert_eq!(run.code, 0, "{run:?}");
    run
}

fn status(catalog: &Path, db: Option<&str>, id: i64) -> Value {
    let run = ok(ht("status", catalog, db, &["--json"]));
    run.json()["projects"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone()
}

fn rows(catalog: &Path, db: Option<&str>, id: i64) -> Vec<Value> {
    let run = ok(ht("query", catalog, db, &["--project", &id.to_string(), "--json"]));
    run.json()["rows"].as_array().unwrap().clone()
}

/// Every `*.partial` file under `dir`.
fn partials(dir: &Path) -> Vec<std::path::PathBuf> {
    tessera_tests::files_under(dir).into_iter().filter(|p| p.to_string_lossy().contains(".partial")).collect()
}

/// Wait until `done(status)` (at most `secs`), failing on a `failed` status.
fn wait_for(catalog: &Path, db: Option<&str>, id: i64, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = status(catalog, db, id);
        if done(&s) {
            return s;
        }
        assert_ne!(s["status"], "failed", "{s}");
        assert!(Instant::now() < deadline, "timed out: {s}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- PostgreSQL ----------------------------------------------------------------------------

/// The embedded backend, then the test server's when there is one.
fn backends(db: &Option<TestDb>) -> Vec<Option<&str>> {
    std::iter::once(None).chain(db.as_ref().map(|d| Some(d.url.as_str()))).collect()
}

// ---- item 4: the bucket rule and frame_count -----------------------------------------------

#[test]
fn the_source_rate_keeps_every_frame_in_the_foreground_and_the_background() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    frames_file(&dir.path().join("p30.msgpack"), 1, 300, 300, t30);
    frames_file(&dir.path().join("ntsc.msgpack"), 2, 300, 300, t2997);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "p30.msgpack"), (2, "ntsc.msgpack")]);
    for url in backends(&db) {
        ok(ht("populate", &catalog, url, &["--project", "1", "--fps", "30", "--sync"]));
        assert_eq!(rows(&catalog, url, 1).len(), 300, "30 → 30 keeps all 300 frames ({url:?})");
        ok(ht("populate", &catalog, url, &["--project", "1", "--fps", "15", "--sync"]));
        let kept: Vec<i64> = rows(&catalog, url, 1).iter().map(|r| r["frame_index"].as_i64().unwrap()).collect();
        assert_eq!((kept.len(), &kept[..3]), (150, &[0, 2, 4][..]), "30 → 15 keeps every other frame");
        // 29.97 → 30000/1001 in the background: the worker gets the exact fraction.
        ok(ht("populate", &catalog, url, &["--project", "2", "--fps", "30000/1001"]));
        let s = wait_for(&catalog, url, 2, 60, |s| s["status"] == "ready");
        assert_eq!(s["rows"], 300, "{s}");
        assert_eq!(rows(&catalog, url, 2).len(), 300);
    }
}

#[test]
fn a_file_cut_at_a_record_boundary_is_refused_by_its_frame_count() {
    let dir = tempfile::tempdir().unwrap();
    // The header promises 20 frames; the file holds 10 whole records.
    frames_file(&dir.path().join("cut.msgpack"), 1, 10, 20, t30);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "cut.msgpack")]);
    let run = ht("populate", &catalog, None, &["--project", "1", "--fps", "30", "--sync"]);
    run.assert_clean_error("cut.msgpack");
    assert!(
        run.stderr.contains("after 10 frame records") && run.stderr.contains("frame_count is 20"),
        "{}",
        run.stderr
    );
    let s = status(&catalog, None, 1);
    assert_eq!(s["status"], "failed", "{s}");
    assert!(s["error"].as_str().unwrap().contains("frame_count"), "{s}");
}

#[test]
fn a_frame_of_more_than_65535_objects_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crowd.msgpack");
    let mut header = FramesHeader::new(1, 1, 1920, 1080, vec!["person".into()]);
    (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) = (30, 1, START_US, 1);
    let object = FrameObject { tid: None, c: 0, s: None, b: [1.0, 2.0, 3.0, 4.0], f: 0, a: None };
    write_frames(&path, &header, &[FrameRecord { i: 0, t_us: 0, o: vec![object; 65_536] }]).unwrap();
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "crowd.msgpack")]);
    let run = ht("populate", &catalog, None, &["--project", "1", "--sync"]);
    run.assert_clean_error("crowd.msgpack");
    assert!(run.stderr.contains("frame 0: 65536 objects, more than the 65535"), "{}", run.stderr);
    assert!(!run.stderr.contains("UNIQUE"), "{}", run.stderr);
}

// ---- item 8: failed populations ------------------------------------------------------------

#[test]
fn a_failed_population_leaves_no_partial_and_keeps_the_ready_rows() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.msgpack");
    frames_file(&good, 1, 3000, 3000, t30);
    frames_file(&dir.path().join("never.msgpack"), 2, 3000, 3000, t30);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "good.msgpack"), (2, "never.msgpack")]);
    // Bad input found mid-run: the file cut in the middle of a record near its end.
    let bytes = std::fs::read(&good).unwrap();
    let truncated = bytes[..bytes.len() - 7].to_vec();
    let never = dir.path().join("never.msgpack");
    std::fs::write(&never, &truncated).unwrap();
    for url in backends(&db) {
        std::fs::write(&good, &bytes).unwrap();
        ok(ht("populate", &catalog, url, &["--project", "1", "--fps", "1", "--sync"]));
        let before = rows(&catalog, url, 1);
        assert_eq!(before.len(), 100);
        std::fs::write(&good, &truncated).unwrap();
        let run = ht("populate", &catalog, url, &["--project", "1", "--fps", "30", "--sync"]);
        run.assert_clean_error("good.msgpack");
        assert!(partials(&catalog).is_empty(), "{:?}", partials(&catalog));
        let s = status(&catalog, url, 1);
        assert_eq!(
            (s["status"].as_str(), s["rows"].as_u64(), s["fps"].as_f64()),
            (Some("ready"), Some(100), Some(1.0)),
            "{s}"
        );
        assert!(s["error"].as_str().unwrap().contains("good.msgpack"), "{s}");
        assert_eq!(rows(&catalog, url, 1), before, "the previous rows are still queryable ({url:?})");
        // Again: a failed run of a ready-with-error project keeps it ready.
        assert_eq!(ht("populate", &catalog, url, &["--project", "1", "--fps", "30", "--sync"]).code, 1);
        assert_eq!(status(&catalog, url, 1)["status"], "ready");
        // A success clears the error.
        std::fs::write(&good, &bytes).unwrap();
        ok(ht("populate", &catalog, url, &["--project", "1", "--fps", "2", "--sync"]));
        let s = status(&catalog, url, 1);
        assert_eq!(
            (s["status"].as_str(), s["rows"].as_u64(), s["error"].is_null()),
            (Some("ready"), Some(200), true),
            "{s}"
        );
        // No rows before: failed.
        ht("populate", &catalog, url, &["--project", "2", "--sync"]).assert_clean_error("never.msgpack");
        let s = status(&catalog, url, 2);
        assert_eq!(s["status"], "failed", "{s}");
        assert!(s["error"].as_str().unwrap().contains("never.msgpack"), "{s}");
        assert!(partials(&catalog).is_empty());
    }
}

/// A small tmpfs, unmounted (and its mount point removed) on drop.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_cleanly_and_keeps_the_ready_rows() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    let Some(_disk) = Tmpfs::mount(&catalog, "2m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the bad-input test covers the same path");
        return;
    };
    // 40,000 frames at 30 fps: a few hundred rows at 1 fps, far more than 2 MB at 30.
    frames_file(&dir.path().join("big.msgpack"), 1, 40_000, 40_000, t30);
    import(dir.path(), &catalog, &[(1, "big.msgpack")]);
    ok(ht("populate", &catalog, None, &["--project", "1", "--fps", "1", "--sync"]));
    let before = rows(&catalog, None, 1);
    assert_eq!(before.len(), 1334);
    let run = ht("populate", &catalog, None, &["--project", "1", "--fps", "30", "--sync"]);
    run.assert_clean_error("");
    let full = |e: &str| e.contains("full") || e.contains("No space left");
    assert!(full(&run.stderr), "{}", run.stderr);
    assert!(partials(&catalog).is_empty(), "{:?}", partials(&catalog));
    let s = status(&catalog, None, 1);
    assert_eq!(
        (s["status"].as_str(), s["rows"].as_u64(), s["fps"].as_f64()),
        (Some("ready"), Some(1334), Some(1.0)),
        "{s}"
    );
    assert!(full(s["error"].as_str().unwrap()), "{s}");
    assert_eq!(rows(&catalog, None, 1), before);
}

// ---- item 9: lost PostgreSQL populators, query ranges --------------------------------------

/// Long enough to be caught mid-run by a heartbeat (once a second) in a debug build.
const FRAMES: u32 = 400_000;

/// Start `populate --sync` of project 1 at 30 fps on `url` and wait until it has written rows.
fn start_populator(catalog: &Path, url: &str) -> std::process::Child {
    let child = std::process::Command::new(tessera_tests::tessera_bin())
        .args(["hypertable", "populate", "--catalog", catalog.to_str().unwrap(), "--database", url])
        .args(["--project", "1", "--fps", "30", "--sync"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(catalog, Some(url), 1, 60, |s| s["status"] == "populating" && s["rows"].as_i64().unwrap() > 0);
    child
}

#[test]
fn a_killed_postgres_populator_is_lost_at_once_and_reset_takes_over_at_once() {
    let Some(db) = TestDb::new() else { return };
    let url = db.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    frames_file(&dir.path().join("big.msgpack"), 1, FRAMES, FRAMES, t30);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "big.msgpack")]);
    ok(ht("populate", &catalog, Some(url), &["--project", "1", "--fps", "1", "--sync"]));
    let mut child = start_populator(&catalog, url);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let killed = Instant::now();
    let deadline = killed + Duration::from_secs(5);
    let lost = loop {
        let s = status(&catalog, Some(url), 1);
        if s["status"] != "populating" {
            break s;
        }
        assert!(Instant::now() < deadline, "still populating 5 s after the kill: {s}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!((lost["status"].as_str(), lost["stale"].as_bool()), (Some("failed"), Some(true)), "{lost}");
    assert!(lost["error"].as_str().unwrap().contains("--reset"), "{lost}");
    assert_eq!(ht("populate", &catalog, Some(url), &["--project", "1", "--sync"]).code, 3);
    ok(ht("populate", &catalog, Some(url), &["--project", "1", "--fps", "1", "--sync", "--reset"]));
    assert!(killed.elapsed() < Duration::from_secs(10), "reset took over at once: {:?}", killed.elapsed());
    assert_eq!(status(&catalog, Some(url), 1)["status"], "ready");
}

#[test]
fn a_closed_postgres_connection_is_recorded_beside_the_previous_rows() {
    let Some(db) = TestDb::new() else { return };
    let url = db.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    frames_file(&dir.path().join("big.msgpack"), 1, FRAMES, FRAMES, t30);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "big.msgpack")]);
    ok(ht("populate", &catalog, Some(url), &["--project", "1", "--fps", "1", "--sync"]));
    let before = rows(&catalog, Some(url), 1).len();
    let child = start_populator(&catalog, url);
    // The server closes the populator's connections (as on a restart or a dropped network).
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let s = status(&catalog, Some(url), 1);
    assert_eq!((s["status"].as_str(), s["fps"].as_f64()), (Some("ready"), Some(1.0)), "{s}");
    assert!(s["error"].as_str().is_some_and(|e| !e.is_empty()), "{s}");
    assert_eq!(rows(&catalog, Some(url), 1).len(), before);
    ok(ht("populate", &catalog, Some(url), &["--project", "1", "--fps", "2", "--sync"]));
}

#[test]
fn a_query_from_after_to_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    frames_file(&dir.path().join("a.msgpack"), 1, 30, 30, t30);
    let catalog = dir.path().join("catalog");
    import(dir.path(), &catalog, &[(1, "a.msgpack")]);
    ok(ht("populate", &catalog, None, &["--project", "1", "--sync"]));
    let (from, to) = ((START_US + 2_000_000).to_string(), (START_US + 1_000_000).to_string());
    let run = ht("query", &catalog, None, &["--project", "1", "--from", &from, "--to", &to, "--json"]);
    run.assert_clean_error("--from");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("after --to"), "{}", run.stderr);
    // Equal bounds are one instant, not an error.
    let start = START_US.to_string();
    assert_eq!(
        ok(ht("query", &catalog, None, &["--project", "1", "--from", &start, "--to", &start, "--json"])).json()["rows"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
