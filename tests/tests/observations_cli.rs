//! End-to-end: `tessera catalog import` and `tessera hypertable populate|status|query` on the
//! embedded backend — downsampling 29.97→15 and 25→10 fps, images from dyn_attrs, refusal
//! while a project is populating (exit 3), a dead populator reported stale and cleared by
//! `--reset`, a background run, and a bad frames file failing its project with a clear error.
//! The same on a real PostgreSQL server (`TESSERA_TEST_DATABASE_URL`, started by
//! `scripts/test.sh`): answers equal to the embedded table's, partitions that bridge a changed
//! interval, refusal and a killed populator.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use std::path::Path;
use tessera_storage::observations::{FrameObject, FrameRecord, FramesHeader, write_frames};
use tessera_tests::{TestDb, tessera};

const START_US: i64 = 1_747_944_000_000_000;

/// A video frames file: `n` frames at `t_us(k)`, one "car" per frame moving right, and a
/// "bird" in every 10th frame.
fn video(path: &Path, id: i64, n: u32, t_us: impl Fn(i64) -> i64) {
    video_at(path, id, n, START_US, t_us);
}

fn video_at(path: &Path, id: i64, n: u32, start_us: i64, t_us: impl Fn(i64) -> i64) {
    let mut header = FramesHeader::new(id, id + 1000, 1920, 1080, vec!["car".into(), "bird".into()]);
    (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) = (30000, 1001, start_us, n);
    let records: Vec<FrameRecord> = (0..n)
        .map(|k| {
            let mut o =
                vec![FrameObject { tid: Some(7), c: 0, s: Some(0.9), b: [k as f32, 100.0, 50.0, 40.0], f: 0, a: None }];
            if k % 10 == 0 {
                o.push(FrameObject { tid: None, c: 1, s: None, b: [1500.0, 50.0, 20.0, 20.0], f: 1, a: None });
            }
            FrameRecord { i: k, t_us: t_us(i64::from(k)), o }
        })
        .collect();
    write_frames(path, &header, &records).unwrap();
}

fn setup(dir: &Path) -> String {
    setup_at(dir, &dir.join("catalog"))
}

/// [`setup`] with the catalog in `catalog` (the folder itself, for files a rebuild may create).
fn setup_at(dir: &Path, catalog: &Path) -> String {
    video(&dir.join("ntsc.msgpack"), 1, 4000, |k| (k * 1001 * 1_000_000 + 15_000) / 30_000);
    video(&dir.join("pal.msgpack"), 2, 20, |k| 40_000 * k);
    let manifest = json!({"projects": [
        {"id": 42, "name": "ntsc", "classifications": [
            {"id": 1, "kind": "video", "frames": "ntsc.msgpack", "stream": "cam-1-HD"},
            {"id": 3, "kind": "image", "frames": "img.msgpack", "dyn_attrs": {"width": 640, "height": 480,
                "objects": [{"label": "car", "bbox": [1, 2, 3, 4], "confidence": 0.5, "track_id": null},
                            {"label": "person", "bbox": [10, 20, 30, 40], "confidence": null, "track_id": 9}]}}]},
        {"id": 43, "name": "pal", "classifications": [{"id": 2, "kind": "video", "frames": "pal.msgpack"}]}
    ]});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    let catalog = catalog.to_str().unwrap().to_string();
    let run = tessera(&["catalog", "import", "--catalog", &catalog, dir.join("manifest.json").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    catalog
}

fn status(catalog: &str, id: i64) -> Value {
    let run = tessera(&["hypertable", "status", "--catalog", catalog, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["projects"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone()
}

fn rows(catalog: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["hypertable", "query", "--catalog", catalog, "--json"];
    all.extend_from_slice(args);
    let run = tessera(&all);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["rows"].as_array().unwrap().clone()
}

fn catalog_sql(catalog: &str, sql: &str) {
    let conn = rusqlite::Connection::open(Path::new(catalog).join("catalog.sqlite")).unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn populate_downsamples_exactly_and_queries_answer() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    assert_eq!(status(&catalog, 42)["status"], "pending");
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "42", "--fps", "15", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    let s = status(&catalog, 42);
    assert_eq!((s["status"].as_str(), s["fps"].as_f64()), (Some("ready"), Some(15.0)));
    // 2002 of 4000 NTSC frames kept, a car in each, a bird in kept frames k % 10 == 0, plus
    // the image's two objects from its dyn_attrs.
    let all = rows(&catalog, &["--project", "42"]);
    assert_eq!(s["rows"].as_u64().unwrap() as usize, all.len());
    let cars: Vec<i64> = all
        .iter()
        .filter(|r| r["classification"] == 1 && r["label"] == "car")
        .map(|r| r["frame_index"].as_i64().unwrap())
        .collect();
    assert_eq!(cars.len(), 2002);
    let around: Vec<i64> = cars.iter().copied().filter(|f| (996..=1005).contains(f)).collect();
    assert_eq!(around, vec![996, 998, 1000, 1001, 1003, 1005]);
    let image: Vec<&Value> = all.iter().filter(|r| r["classification"] == 3).collect();
    assert_eq!(image.len(), 2);
    assert_eq!(image.iter().find(|r| r["label"] == "person").unwrap()["track_id"], 9);
    let first = &all[0];
    for key in ["classification", "frame_index", "t_us", "track_id", "label", "confidence", "bbox"] {
        assert!(first.get(key).is_some(), "{key}");
    }

    // 25 → 10 fps.
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--fps", "10", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    let frames: Vec<i64> = rows(&catalog, &["--project", "43", "--label", "car"])
        .iter()
        .map(|r| r["frame_index"].as_i64().unwrap())
        .collect();
    assert_eq!(frames, vec![0, 3, 5, 8, 10, 13, 15, 18]);
    // Search: label and region (boxes overlapping it), and a time window.
    let birds = rows(&catalog, &["--project", "43", "--label", "bird", "--bbox", "1510,55,5,5"]);
    assert_eq!(birds.len(), 2, "birds in kept frames 0 and 10");
    assert!(rows(&catalog, &["--project", "43", "--label", "bird", "--bbox", "0,0,100,100"]).is_empty());
    let from = (START_US + 200_000).to_string();
    let to = (START_US + 400_000).to_string();
    let window = rows(&catalog, &["--project", "43", "--label", "car", "--from", &from, "--to", &to]);
    let t: Vec<i64> = window.iter().map(|r| r["t_us"].as_i64().unwrap()).collect();
    assert_eq!(t, vec![200_000, 320_000, 400_000]);
}

#[test]
fn refusal_stale_reset_and_background() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    // A live populator (this test process) holds project 42.
    let me = std::process::id();
    let now = chrono_ms();
    catalog_sql(
        &catalog,
        &format!(
            "UPDATE frame_table_project SET status='populating', worker_pid={me}, heartbeat_at={now} WHERE project_id=42"
        ),
    );
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "42", "--sync"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("already populating"), "{}", run.stderr);
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--all-projects", "--sync"]);
    assert_eq!(run.code, 3, "all or nothing: {run:?}");
    assert_eq!(status(&catalog, 43)["status"], "pending", "nothing claimed");
    assert_eq!(status(&catalog, 42)["status"], "populating");

    // Its process died: stale, reported failed; only --reset takes it over.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    catalog_sql(&catalog, &format!("UPDATE frame_table_project SET worker_pid={dead} WHERE project_id=42"));
    let s = status(&catalog, 42);
    assert_eq!((s["status"].as_str(), s["stale"].as_bool()), (Some("failed"), Some(true)), "{s}");
    assert!(s["error"].as_str().unwrap().contains("--reset"));
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "42", "--sync"]);
    assert_eq!(run.code, 3, "{run:?}");
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "42", "--sync", "--reset"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(status(&catalog, 42)["status"], "ready");

    // In the background: the command returns at once with the project claimed.
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--fps", "25"]);
    assert_eq!(run.code, 0, "{run:?}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let s = status(&catalog, 43);
        assert_ne!(s["status"], "pending", "claimed before the command returned");
        if s["status"] == "ready" {
            assert_eq!(s["rows"], 22);
            break;
        }
        assert_ne!(s["status"], "failed", "{s}");
        assert!(std::time::Instant::now() < deadline, "the background run finishes: {s}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_bad_frames_file_fails_its_project_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    let path = dir.path().join("pal.msgpack");
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes.truncate(len - 7);
    std::fs::write(&path, bytes).unwrap();
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--sync"]);
    run.assert_clean_error("pal.msgpack");
    assert!(run.stderr.contains("at byte"), "{}", run.stderr);
    let s = status(&catalog, 43);
    assert_eq!(s["status"], "failed");
    assert!(s["error"].as_str().unwrap().contains("pal.msgpack"));
    let query = tessera(&["hypertable", "query", "--catalog", &catalog, "--project", "43", "--json"]);
    query.assert_clean_error("not ready");
    let pg = tessera(&["hypertable", "status", "--catalog", &catalog, "--database", "postgres://x/y", "--json"]);
    pg.assert_clean_error("postgres://x/y");
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

#[test]
fn rebuild_msgpacks_writes_missing_files_only() {
    let dir = tempfile::tempdir().unwrap();
    // Inside the catalog's folder: a rebuild creates missing files only there.
    let catalog = setup_at(dir.path(), dir.path());
    let img = dir.path().join("img.msgpack");
    let rebuild = |args: &[&str]| {
        let mut all = vec!["hypertable", "rebuild-msgpacks", "--catalog", &catalog, "--json"];
        all.extend_from_slice(args);
        let run = tessera(&all);
        assert_eq!(run.code, 0, "{run:?}");
        run.json()
    };
    let dry = rebuild(&["--project", "42", "--dry-run"]);
    assert_eq!((dry["would_write"].clone(), dry["present"].clone()), (1.into(), 1.into()), "{dry}");
    let dry = rebuild(&["--all-projects", "--dry-run"]);
    assert_eq!((dry["would_write"].clone(), dry["present"].clone()), (1.into(), 2.into()), "{dry}");
    assert!(!img.exists(), "a dry run writes nothing");
    let done = rebuild(&["--project", "42"]);
    assert_eq!(done["written"], 1, "{done}");
    let reader = tessera_storage::observations::FramesReader::open(&img).unwrap();
    assert_eq!(reader.header.labels, vec!["car".to_string(), "person".to_string()]);
    assert!(reader.header.source_digest.is_some());
    assert_eq!(rebuild(&["--project", "42"])["written"], 0, "present files are kept without --force");
    let forced = rebuild(&["--project", "42", "--force"]);
    assert_eq!((forced["written"].clone(), forced["videos_skipped"].clone()), (1.into(), 1.into()), "{forced}");

    // A video from the table: refused until the project is ready, then only the kept frames.
    let run = tessera(&[
        "hypertable",
        "rebuild-msgpacks",
        "--catalog",
        &catalog,
        "--classification",
        "2",
        "--force",
        "--include-videos",
    ]);
    run.assert_clean_error("not ready");
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--fps", "10", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    let before = rows(&catalog, &["--project", "43"]);
    std::fs::remove_file(dir.path().join("pal.msgpack")).unwrap();
    assert_eq!(rebuild(&["--classification", "2", "--include-videos"])["written"], 1);
    let mut r = tessera_storage::observations::FramesReader::open(&dir.path().join("pal.msgpack")).unwrap();
    let mut frames = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        frames.push(rec.i);
    }
    assert_eq!(frames, vec![0, 3, 5, 8, 10, 13, 15, 18]);
    assert_eq!(r.header.start_utc_us, START_US);
    // Populating from the rebuilt file at the same rate gives the same rows.
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--fps", "10", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(rows(&catalog, &["--project", "43"]), before);
}

#[test]
fn configure_is_idempotent_and_dry_runs_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    let run = tessera(&["hypertable", "populate", "--catalog", &catalog, "--project", "43", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    let configure = |args: &[&str]| {
        let mut all = vec!["hypertable", "configure", "--catalog", &catalog];
        all.extend_from_slice(args);
        let run = tessera(&all);
        assert_eq!(run.code, 0, "{run:?}");
        run
    };
    let dry = configure(&["--chunk-interval", "30 days", "--compress-after", "60 days", "--dry-run"]);
    assert_eq!(dry.stdout.lines().filter(|l| l.starts_with("UPDATE")).count(), 2, "{}", dry.stdout);
    let show = configure(&["--show", "--json"]).json();
    assert_eq!(show["config"]["chunk_interval"], "1 day", "a dry run changed nothing");
    assert_eq!(show["backend"], "sqlite");
    assert_eq!(show["chunks"].as_array().unwrap().iter().map(|c| c["rows"].as_i64().unwrap()).sum::<i64>(), 2);
    assert_eq!(show["projects_by_status"]["ready"], 1);
    let applied = configure(&[
        "--chunk-interval",
        "30 days",
        "--compress-after",
        "60 days",
        "--compress-segmentby",
        "project_id",
    ]);
    assert!(applied.stderr.contains("applied 3 change(s)"), "{}", applied.stderr);
    let again = configure(&[
        "--chunk-interval",
        "30 days",
        "--compress-after",
        "60 days",
        "--compress-segmentby",
        "project_id",
        "--dry-run",
    ]);
    assert!(again.stdout.contains("nothing to change"), "idempotent: {}", again.stdout);
    let show = configure(&["--show", "--json"]).json();
    assert_eq!(
        (show["config"]["chunk_interval"].as_str(), show["config"]["compress_after"].as_str()),
        (Some("30 days"), Some("60 days"))
    );
    configure(&["--compress-after", "off"]);
    assert!(configure(&["--show", "--json"]).json()["config"]["compress_after"].is_null());
    tessera(&["hypertable", "configure", "--catalog", &catalog, "--chunk-interval", "soon"])
        .assert_clean_error("not an interval");
}

// ---- PostgreSQL ----------------------------------------------------------------------------

/// `tessera hypertable <sub> --catalog C [--database URL] args…`, asserting success.
fn ht(sub: &str, catalog: &str, db: Option<&str>, args: &[&str]) -> tessera_tests::Run {
    let run = ht_run(sub, catalog, db, args);
    assert_eq!(run.code, 0, "{sub} {args:?}: {run:?}");
    run
}

fn ht_run(sub: &str, catalog: &str, db: Option<&str>, args: &[&str]) -> tessera_tests::Run {
    let mut all = vec!["hypertable", sub, "--catalog", catalog];
    if let Some(url) = db {
        all.extend_from_slice(&["--database", url]);
    }
    all.extend_from_slice(args);
    tessera(&all)
}

fn pg_status(catalog: &str, db: &str, id: i64) -> Value {
    let run = ht("status", catalog, Some(db), &["--json"]);
    run.json()["projects"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone()
}

#[test]
fn postgres_answers_exactly_like_the_embedded_table() {
    let Some(db) = TestDb::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The catalog is the frames' folder: a rebuild creates missing files only inside it.
    let catalog = setup_at(dir.path(), dir.path());
    let url = Some(db.url.as_str());
    assert_eq!(pg_status(&catalog, &db.url, 42)["status"], "pending");
    for (project, fps) in [("42", "15"), ("43", "10")] {
        ht("populate", &catalog, None, &["--project", project, "--fps", fps, "--sync"]);
        ht("populate", &catalog, url, &["--project", project, "--fps", fps, "--sync"]);
    }
    let s = pg_status(&catalog, &db.url, 42);
    assert_eq!((s["status"].as_str(), s["fps"].as_f64()), (Some("ready"), Some(15.0)), "{s}");
    let from = (START_US + 200_000).to_string();
    let to = (START_US + 40_000_000).to_string();
    let queries: [&[&str]; 6] = [
        &["--project", "42"],
        &["--project", "42", "--classification", "3"],
        &["--project", "42", "--label", "bird"],
        &["--project", "42", "--label", "car", "--bbox", "500,90,20,20", "--from", &from, "--to", &to],
        &["--project", "43", "--label", "bird", "--bbox", "1510,55,5,5"],
        &["--project", "43"],
    ];
    for q in queries {
        let embedded = ht("query", &catalog, None, &[&["--json"], q].concat()).json();
        let server = ht("query", &catalog, url, &[&["--json"], q].concat()).json();
        assert!(!embedded["rows"].as_array().unwrap().is_empty(), "{q:?}");
        assert_eq!(embedded, server, "{q:?}");
    }
    assert_eq!(s["rows"].as_u64().unwrap() as usize, rows(&catalog, &["--project", "42"]).len());

    // A video's frames file rebuilt from the server's rows.
    std::fs::remove_file(dir.path().join("pal.msgpack")).unwrap();
    let rebuilt = ht("rebuild-msgpacks", &catalog, url, &["--classification", "2", "--include-videos", "--json"]);
    assert_eq!(rebuilt.json()["written"], 1);
    let mut r = tessera_storage::observations::FramesReader::open(&dir.path().join("pal.msgpack")).unwrap();
    let mut frames = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        frames.push(rec.i);
    }
    assert_eq!(frames, vec![0, 3, 5, 8, 10, 13, 15, 18]);
}

#[test]
fn postgres_configure_is_idempotent_and_partitions_bridge_a_changed_interval() {
    let Some(db) = TestDb::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    let url = Some(db.url.as_str());
    const DAY: i64 = 86_400_000_000;
    let day0 = START_US.div_euclid(DAY) * DAY;
    // Project 44: a video two days after the others.
    video_at(&dir.path().join("later.msgpack"), 4, 30, START_US + 2 * DAY, |k| 40_000 * k);
    let manifest = json!({"projects": [{"id": 44, "name": "later", "classifications": [
        {"id": 4, "kind": "video", "frames": "later.msgpack"}]}]});
    std::fs::write(dir.path().join("m2.json"), manifest.to_string()).unwrap();
    let run = tessera(&["catalog", "import", "--catalog", &catalog, dir.path().join("m2.json").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");

    assert!(ht("configure", &catalog, url, &["--chunk-interval", "1 day", "--dry-run"]).stdout.contains("nothing"));
    ht("populate", &catalog, url, &["--project", "43", "--sync"]);
    let show = ht("configure", &catalog, url, &["--show", "--json"]).json();
    assert_eq!(show["backend"], "postgresql");
    let chunks = |show: &Value| -> Vec<(String, String, i64)> {
        show["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (c["start"].as_str().unwrap().into(), c["end"].as_str().unwrap().into(), c["rows"].as_i64().unwrap())
            })
            .collect()
    };
    let at = |us: i64| tessera_storage::UnixMicros(us).to_rfc3339();
    let one = chunks(&show);
    assert_eq!(one.len(), 1, "{show}");
    assert_eq!((one[0].0.clone(), one[0].1.clone()), (at(day0), at(day0 + DAY)));
    assert_eq!(one[0].2, pg_status(&catalog, &db.url, 43)["rows"].as_i64().unwrap());

    // A week: the dry run prints the statement and changes nothing; applying twice applies once.
    let dry = ht("configure", &catalog, url, &["--chunk-interval", "7 days", "--dry-run"]);
    assert!(dry.stdout.contains("UPDATE frame_table_config SET chunk_interval"), "{}", dry.stdout);
    assert_eq!(ht("configure", &catalog, url, &["--show", "--json"]).json()["config"]["chunk_interval"], "1 day");
    let applied = ht("configure", &catalog, url, &["--chunk-interval", "7 days", "--compress-after", "60 days"]);
    assert!(applied.stderr.contains("applied 2 change(s)"), "{}", applied.stderr);
    let again =
        ht("configure", &catalog, url, &["--chunk-interval", "1 week", "--compress-after", "60 days", "--dry-run"]);
    assert!(again.stdout.contains("nothing to change"), "{}", again.stdout);
    ht_run("configure", &catalog, url, &["--compress-segmentby", "bbox_x"]).assert_clean_error("bbox_x");

    // Two days later, under the week interval: the week slot is clipped to start where the
    // existing day partition ends — no hole, no overlap.
    ht("populate", &catalog, url, &["--project", "44", "--fps", "1000", "--sync"]);
    let show = ht("configure", &catalog, url, &["--show", "--json"]).json();
    let week0 = (START_US + 2 * DAY).div_euclid(7 * DAY) * 7 * DAY;
    let two = chunks(&show);
    assert_eq!(two.len(), 2, "{show}");
    assert_eq!((two[1].0.clone(), two[1].1.clone()), (at(day0 + DAY), at(week0 + 7 * DAY)));
    assert_eq!(two[1].2, 33, "project 44's 30 cars and 3 birds: {show}");
}

#[test]
fn postgres_refuses_a_live_claim_and_recovers_a_lost_one() {
    let Some(db) = TestDb::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    let url = Some(db.url.as_str());
    ht("populate", &catalog, url, &["--project", "43", "--sync"]); // creates the tables
    // A live populator (this connection) holds project 42.
    let mut holder = db.client();
    holder
        .batch_execute(
            "INSERT INTO frame_table_project (project_id, target_fps, status, heartbeat_at) \
             VALUES (42, 1, 'populating', now() - interval '5 minutes'); \
             SELECT pg_advisory_lock(132468917, 42);",
        )
        .unwrap();
    assert_eq!(pg_status(&catalog, &db.url, 42)["status"], "populating", "its lock proves it alive");
    let run = ht_run("populate", &catalog, url, &["--project", "42", "--sync"]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(run.stderr.contains("already populating"), "{}", run.stderr);
    let run = ht_run("populate", &catalog, url, &["--all-projects", "--sync", "--reset"]);
    assert_eq!(run.code, 3, "all or nothing, even with --reset: {run:?}");
    assert_eq!(pg_status(&catalog, &db.url, 43)["status"], "ready", "43 untouched");

    // Its session ends: the claim is lost, reported failed, and taken over with --reset.
    drop(holder);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let s = loop {
        // The server releases the lock when the session's backend has exited.
        let s = pg_status(&catalog, &db.url, 42);
        if s["status"] != "populating" || std::time::Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!((s["status"].as_str(), s["stale"].as_bool()), (Some("failed"), Some(true)), "{s}");
    assert_eq!(ht_run("populate", &catalog, url, &["--project", "42", "--sync"]).code, 3);
    ht("populate", &catalog, url, &["--project", "42", "--sync", "--reset"]);
    assert_eq!(pg_status(&catalog, &db.url, 42)["status"], "ready");

    // In the background: claimed before the command returns, then ready.
    ht("populate", &catalog, url, &["--project", "43", "--fps", "25"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s = pg_status(&catalog, &db.url, 43);
        if s["status"] == "ready" && s["fps"] == 25.0 {
            assert_eq!(s["rows"], 22);
            break;
        }
        assert_ne!(s["status"], "failed", "{s}");
        assert!(std::time::Instant::now() < deadline, "the background run finishes: {s}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// A populator killed mid-run keeps what was committed (the project's previous rows) and its
/// claim does not stay `populating`: on the embedded table and on the server.
#[test]
fn a_killed_populator_loses_nothing_and_is_not_stuck() {
    let db = TestDb::new();
    let dir = tempfile::tempdir().unwrap();
    let catalog = setup(dir.path());
    // Long enough to be caught mid-run by a heartbeat (once a second) in a debug build.
    const FRAMES: u32 = 400_000;
    video_at(&dir.path().join("big.msgpack"), 5, FRAMES, START_US, |k| (k * 1_000_000) / 30);
    let manifest = json!({"projects": [{"id": 45, "name": "big", "classifications": [
        {"id": 5, "kind": "video", "frames": "big.msgpack"}]}]});
    std::fs::write(dir.path().join("m3.json"), manifest.to_string()).unwrap();
    let run = tessera(&["catalog", "import", "--catalog", &catalog, dir.path().join("m3.json").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{run:?}");
    for url in std::iter::once(None).chain(db.as_ref().map(|d| Some(d.url.as_str()))) {
        ht("populate", &catalog, url, &["--project", "45", "--fps", "1", "--sync"]);
        let status = |id: i64| -> Value {
            let run = ht("status", &catalog, url, &["--json"]);
            run.json()["projects"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap().clone()
        };
        let before = status(45)["rows"].as_i64().unwrap();
        assert_eq!(before, 2 * i64::from(FRAMES.div_ceil(30)), "a car and a bird each second");
        let mut all = vec!["hypertable", "populate", "--catalog", &catalog, "--project", "45", "--fps", "30", "--sync"];
        if let Some(u) = url {
            all.extend_from_slice(&["--database", u]);
        }
        let mut child = std::process::Command::new(tessera_tests::tessera_bin())
            .args(&all)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it once it has reported progress.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let s = status(45);
            if s["status"] == "populating" && s["rows"].as_i64().unwrap() > 0 {
                break;
            }
            assert!(s["status"] != "ready" || s["fps"] != 30.0, "finished before it could be killed: {s}");
            assert!(std::time::Instant::now() < deadline, "no progress: {s}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let lost = loop {
            let s = status(45);
            if s["status"] == "failed" {
                break s;
            }
            assert!(std::time::Instant::now() < deadline, "still {s}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        assert_eq!(lost["stale"], true, "{lost}");
        // The previous rows are all there, untouched by the killed run.
        ht("populate", &catalog, url, &["--project", "43", "--sync"]);
        let kept = match url {
            None => {
                let file = Path::new(&catalog).join("observations/project-45.sqlite");
                let conn = rusqlite::Connection::open(file).unwrap();
                conn.query_row("SELECT count(*) FROM frame_observation", [], |r| r.get::<_, i64>(0)).unwrap()
            }
            Some(_) => db
                .as_ref()
                .unwrap()
                .client()
                .query_one("SELECT count(*) FROM frame_observation WHERE project_id = 45", &[])
                .unwrap()
                .get::<_, i64>(0),
        };
        assert_eq!(kept, before, "backend {url:?}");
        ht("populate", &catalog, url, &["--project", "45", "--fps", "1", "--sync", "--reset"]);
        assert_eq!(status(45)["status"], "ready");
    }
}
