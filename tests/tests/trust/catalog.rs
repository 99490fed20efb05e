//! End-to-end, issue 17's catalog items: a hostile manifest entry refuses the whole manifest
//! and writes nothing; `rebuild-msgpacks` never writes outside the catalog's folder nor over
//! anything but that classification's frames file (no symlink followed, mode kept, new files
//! with the umask's mode); a moved catalog reads its own frames; `populate` reads only
//! regular files; another user reads a catalog they cannot write; no database password ever
//! reaches a message.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tessera_storage::observations::{FrameObject, FrameRecord, FramesHeader, FramesReader, write_frames};
use tessera_tests::{Run, files_under, tessera, tessera_bin};

const START_US: i64 = 1_747_944_000_000_000;

/// A 25 fps video frames file of `n` frames, one car each.
fn video(path: &Path, id: i64, n: u32) {
    let mut header = FramesHeader::new(id, id, 640, 480, vec!["car".into()]);
    (header.fps_num, header.fps_den, header.start_utc_us, header.frame_count) = (25, 1, START_US, n);
    let records: Vec<FrameRecord> = (0..n)
        .map(|k| FrameRecord {
            i: k,
            t_us: 40_000 * i64::from(k),
            o: vec![FrameObject { tid: Some(1), c: 0, s: Some(0.9), b: [k as f32, 10.0, 20.0, 20.0], f: 0, a: None }],
        })
        .collect();
    write_frames(path, &header, &records).unwrap();
}

fn image(id: i64, frames: &str) -> Value {
    json!({"id": id, "kind": "image", "frames": frames, "dyn_attrs": {"width": 64, "height": 48,
        "objects": [{"label": "car", "bbox": [1, 2, 3, 4], "confidence": 0.5, "track_id": null}]}})
}

/// Write `manifest` to `path` and import it into `catalog`.
fn import(catalog: &Path, path: &Path, manifest: &Value) -> Run {
    std::fs::write(path, manifest.to_string()).unwrap();
    tessera(&["catalog", "import", "--catalog", catalog.to_str().unwrap(), path.to_str().unwrap()])
}

fn ht(catalog: &Path, args: &[&str]) -> Run {
    let mut all = vec![args[0], "--catalog", catalog.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    let mut full = vec!["hypertable"];
    full.extend(all);
    tessera(&full)
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files_under(dir).into_iter().map(|f| (f.clone(), std::fs::read(&f).unwrap())).collect()
}

#[test]
fn a_bad_frames_entry_refuses_the_whole_manifest_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    video(&dir.path().join("good.msgpack"), 1, 5);
    let catalog = dir.path().join("catalog");
    let manifest = dir.path().join("m.json");
    for (bad, needle) in [
        ("", "frames is empty"),
        ("a\u{0}b.msgpack", "NUL byte"),
        ("sub", "is a directory"),
        (".", "is a directory"),
        ("/dev/null", "not a regular file"),
    ] {
        let m = json!({"projects": [{"id": 1, "name": "p", "classifications": [
            {"id": 1, "kind": "video", "frames": "good.msgpack"},
            {"id": 2, "kind": "video", "frames": bad}]}]});
        let run = import(&catalog, &manifest, &m);
        run.assert_clean_error("m.json: project 1, classification 2");
        assert!(run.stderr.contains(needle), "{bad:?}: {}", run.stderr);
        assert_eq!(run.code, 1);
        assert!(!catalog.exists(), "{bad:?}: a refused manifest creates no catalog");
    }
    // Into an existing catalog: refused just the same, and the catalog is as it was.
    let ok = json!({"projects": [{"id": 1, "name": "p", "classifications": [
        {"id": 1, "kind": "video", "frames": "good.msgpack"}]}]});
    assert_eq!(import(&catalog, &manifest, &ok).code, 0);
    let bad = json!({"projects": [{"id": 2, "name": "q", "classifications": [
        {"id": 3, "kind": "video", "frames": "good.msgpack"}, {"id": 4, "kind": "video", "frames": "sub"}]}]});
    import(&catalog, &manifest, &bad).assert_clean_error("classification 4");
    let status = ht(&catalog, &["status", "--json"]);
    assert_eq!(status.json()["projects"].as_array().unwrap().len(), 1, "{status:?}");
}

#[test]
fn duplicate_ids_renames_and_merges_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    video(&dir.path().join("v.msgpack"), 1, 5);
    let catalog = dir.path().join("catalog");
    let m = dir.path().join("m.json");
    let v = |id: i64| json!({"id": id, "kind": "video", "frames": "v.msgpack"});
    let twice = json!({"projects": [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}]});
    import(&catalog, &m, &twice).assert_clean_error("project 1 appears twice");
    let twice = json!({"projects": [{"id": 1, "name": "a", "classifications": [v(5)]},
                                    {"id": 2, "name": "b", "classifications": [v(5)]}]});
    import(&catalog, &m, &twice).assert_clean_error("classification 5 appears twice");
    assert!(!catalog.exists());

    let first = json!({"projects": [{"id": 1, "name": "a", "classifications": [v(5)]}]});
    assert_eq!(import(&catalog, &m, &first).code, 0);
    assert_eq!(import(&catalog, &m, &first).code, 0, "the same manifest again is fine");
    let renamed = json!({"projects": [{"id": 1, "name": "other", "classifications": [v(5)]}]});
    import(&catalog, &m, &renamed).assert_clean_error("never renames");
    let merged = json!({"projects": [{"id": 1, "name": "a", "classifications": [v(5), v(6)]}]});
    import(&catalog, &m, &merged).assert_clean_error("never merges");
    let moved = json!({"projects": [{"id": 2, "name": "b", "classifications": [v(5)]}]});
    import(&catalog, &m, &moved).assert_clean_error("under project 1");
    let status = ht(&catalog, &["status", "--json"]).json();
    assert_eq!(status["projects"], json!([status["projects"][0].clone()]));
    assert_eq!(status["projects"][0]["name"], "a");
}

/// The attack: a manifest entry pointing at a file outside the catalog, then
/// `rebuild-msgpacks --force`. Also symlinks, dangling ones, another classification's file.
#[test]
fn rebuild_writes_only_frames_files_inside_or_of_its_own_classification() {
    let dir = tempfile::tempdir().unwrap();
    let (catalog, outside) = (dir.path().join("cat"), dir.path().join("outside"));
    std::fs::create_dir_all(catalog.join("frames")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    let important = outside.join("important.txt");
    std::fs::write(&important, "keep me").unwrap();
    std::fs::set_permissions(&important, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&important, catalog.join("link.msgpack")).unwrap();
    std::os::unix::fs::symlink(outside.join("new.msgpack"), catalog.join("dangling.msgpack")).unwrap();
    video(&catalog.join("frames/other.msgpack"), 99, 1); // classification 99's file
    let m = catalog.join("manifest.json");
    let manifest = json!({"projects": [{"id": 1, "name": "p", "classifications": [
        image(1, "../outside/important.txt"), image(2, "../outside/missing.msgpack"), image(3, "link.msgpack"),
        image(4, "dangling.msgpack"), image(5, "frames/other.msgpack"), image(6, "frames/new.msgpack")]}]});
    assert_eq!(import(&catalog, &m, &manifest).code, 0);
    let outside_before = snapshot(&outside);
    let rebuild = |args: &[&str]| {
        let mut all = vec!["rebuild-msgpacks", "--json"];
        all.extend_from_slice(args);
        ht(&catalog, &all)
    };
    for (c, force, needle) in [
        ("1", true, "important.txt: not a frames file"),
        ("2", false, "missing.msgpack: missing and outside the catalog's folder"),
        ("3", true, "link.msgpack: a symbolic link"),
        ("4", false, "dangling.msgpack: a symbolic link"),
        ("5", true, "the frames file of classification 99, not 5"),
    ] {
        let mut args = vec!["--classification", c];
        args.extend(force.then_some("--force"));
        let run = rebuild(&args);
        run.assert_clean_error(&format!("classification {c}: "));
        assert!(run.stderr.contains(needle), "{c}: {}", run.stderr);
        assert_eq!(run.code, 1);
    }
    // One refused target refuses the run: the good one is not written either.
    rebuild(&["--all-projects"]).assert_clean_error("classification 2");
    assert!(!catalog.join("frames/new.msgpack").exists());
    assert_eq!(snapshot(&outside), outside_before, "nothing outside the catalog changed");
    assert_eq!(mode(&important), 0o644);
    assert!(std::fs::symlink_metadata(catalog.join("link.msgpack")).unwrap().file_type().is_symlink());

    // Inside the catalog: created with the umask's mode; --force keeps a replaced file's mode.
    let run = rebuild(&["--classification", "6"]);
    assert_eq!((run.code, run.json()["written"].clone()), (0, 1.into()), "{run:?}");
    let new = catalog.join("frames/new.msgpack");
    assert_eq!(mode(&new), 0o666 & !umask(), "a new frames file gets the umask's mode");
    assert_eq!(FramesReader::open(&new).unwrap().header.classification_id, 6);
    std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = rebuild(&["--classification", "6", "--force"]);
    assert_eq!((run.code, run.json()["written"].clone()), (0, 1.into()), "{run:?}");
    assert_eq!(mode(&new), 0o640, "a replaced frames file keeps its mode");
    assert_eq!(snapshot(&outside), outside_before);
}

fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

/// Frames inside the catalog's folder are stored relative to it: a copy reads (and
/// rebuilds into) its own files, not the original's. An absolute path stored by an older
/// Tessera keeps working.
#[test]
fn a_copied_catalog_reads_its_own_frames() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("cat");
    std::fs::create_dir_all(catalog.join("frames")).unwrap();
    video(&catalog.join("frames/v.msgpack"), 1, 50);
    let outside = dir.path().join("o.msgpack");
    video(&outside, 2, 50);
    let manifest = json!({"projects": [{"id": 1, "name": "p", "classifications": [
        {"id": 1, "kind": "video", "frames": "frames/v.msgpack"},
        {"id": 2, "kind": "video", "frames": "../o.msgpack"}]}]});
    assert_eq!(import(&catalog, &catalog.join("manifest.json"), &manifest).code, 0);
    let stored: Vec<String> = {
        let conn = rusqlite::Connection::open(catalog.join("catalog.sqlite")).unwrap();
        let mut st = conn.prepare("SELECT frames FROM classification ORDER BY id").unwrap();
        st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
    };
    assert_eq!(stored, vec!["frames/v.msgpack".to_string(), outside.canonicalize().unwrap().display().to_string()]);

    let copy = dir.path().join("copy");
    assert!(Command::new("cp").arg("-a").arg(&catalog).arg(&copy).status().unwrap().success());
    std::fs::remove_file(catalog.join("frames/v.msgpack")).unwrap(); // the original's is gone
    let run = ht(&copy, &["populate", "--project", "1", "--fps", "5", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    let rows = ht(&copy, &["query", "--project", "1", "--classification", "1", "--json"]).json();
    assert_eq!(rows["rows"].as_array().unwrap().len(), 10);

    // An absolute path (as older imports stored) is read as it is.
    let conn = rusqlite::Connection::open(copy.join("catalog.sqlite")).unwrap();
    let absolute = copy.canonicalize().unwrap().join("frames/v.msgpack");
    conn.execute("UPDATE classification SET frames = ?1 WHERE id = 1", [absolute.to_str().unwrap()]).unwrap();
    drop(conn);
    let run = ht(&copy, &["populate", "--project", "1", "--fps", "5", "--sync"]);
    assert_eq!(run.code, 0, "{run:?}");
    // The next import makes such a path inside the catalog relative.
    assert_eq!(import(&copy, &dir.path().join("m2.json"), &json!({"projects": [{"id": 2, "name": "q"}]})).code, 0);
    let conn = rusqlite::Connection::open(copy.join("catalog.sqlite")).unwrap();
    let stored: String = conn.query_row("SELECT frames FROM classification WHERE id = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(stored, "frames/v.msgpack");
}

/// A frames path that became a FIFO fails its project at once, naming the file (no hang).
#[test]
fn populate_reads_only_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.msgpack");
    video(&path, 1, 5);
    let catalog = dir.path().join("cat");
    let manifest = json!({"projects": [{"id": 1, "name": "p", "classifications": [
        {"id": 1, "kind": "video", "frames": "v.msgpack"}]}]});
    assert_eq!(import(&catalog, &dir.path().join("m.json"), &manifest).code, 0);
    std::fs::remove_file(&path).unwrap();
    assert!(Command::new("mkfifo").arg(&path).status().unwrap().success());
    let run = ht(&catalog, &["populate", "--project", "1", "--sync"]);
    run.assert_clean_error("v.msgpack");
    assert!(run.stderr.contains("not a regular file"), "{}", run.stderr);
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

/// Run `bin args` as `nobody` (via `setpriv`) when we are root, else as ourselves.
fn as_other_user(bin: &Path, args: &[&str]) -> Run {
    let mut command = if running_as_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = command.args(args).env("TESSERA_LOG", "error").output().expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.starts_with("setpriv:"), "cannot switch to user nobody: {stderr}");
    Run { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr }
}

fn chmod_tree(dir: &Path, dir_mode: u32, file_mode: u32) {
    for f in files_under(dir) {
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(file_mode)).unwrap();
    }
    fn dirs(d: &Path, mode: u32) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs(&e.path(), mode);
            }
        }
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    dirs(dir, dir_mode);
}

/// Another user reads a catalog they may not write (owned by its writer, or on read-only
/// media): `status` and `query` answer, and no byte or file of the catalog changes.
#[test]
fn another_user_reads_a_catalog_they_cannot_write() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("cat");
    std::fs::create_dir_all(catalog.join("frames")).unwrap();
    video(&catalog.join("frames/v.msgpack"), 1, 50);
    let manifest = json!({"projects": [{"id": 1, "name": "p", "classifications": [
        {"id": 1, "kind": "video", "frames": "frames/v.msgpack"}]}]});
    assert_eq!(import(&catalog, &catalog.join("manifest.json"), &manifest).code, 0);
    assert_eq!(ht(&catalog, &["populate", "--project", "1", "--fps", "5", "--sync"]).code, 0);
    let bin = tmp.path().join("tessera");
    std::fs::copy(tessera_bin(), &bin).unwrap();
    chmod_tree(tmp.path(), 0o755, 0o755);
    let c = catalog.to_str().unwrap();
    for (dir_mode, file_mode) in [(0o755, 0o644), (0o555, 0o444)] {
        chmod_tree(&catalog, dir_mode, file_mode);
        let before = snapshot(&catalog);
        let status = as_other_user(&bin, &["hypertable", "status", "--catalog", c, "--json"]);
        let query = as_other_user(&bin, &["hypertable", "query", "--catalog", c, "--project", "1", "--json"]);
        let dry =
            as_other_user(&bin, &["hypertable", "rebuild-msgpacks", "--catalog", c, "--all-projects", "--dry-run"]);
        let after = snapshot(&catalog);
        chmod_tree(&catalog, 0o755, 0o644);
        assert_eq!(status.code, 0, "{status:?}");
        assert_eq!(status.json()["projects"][0]["status"], "ready");
        assert_eq!(query.code, 0, "{query:?}");
        assert_eq!(query.json()["rows"].as_array().unwrap().len(), 10);
        assert_eq!(dry.code, 0, "{dry:?}");
        assert_eq!(after, before, "a read changed the catalog ({dir_mode:o}/{file_mode:o})");
    }
}

/// No form of a database password reaches stderr: unrecognised schemes, malformed URLs,
/// `?password=`, quoted and escaped conninfo values, from the flag or the environment, for
/// values that fail before connecting and ones whose connection fails (port 1: refused).
#[test]
fn database_passwords_never_reach_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("cat");
    let manifest = json!({"projects": [{"id": 1, "name": "p"}]});
    assert_eq!(import(&catalog, &dir.path().join("m.json"), &manifest).code, 0);
    let c = catalog.to_str().unwrap();
    for url in [
        "postgress://u:SECRETPW@h/db",
        "mysql://u:SECRET@PW@h/db",
        "postgres://u:SECRETPW@h:notaport/db",
        "postgres://u:SECRETPW@127.0.0.1:1/db",
        "postgresql://u@127.0.0.1:1/db?password=SECRETPW",
        "postgres://u@127.0.0.1:1/db?sslmode=disable&password=SECRET%20PW",
        "host=127.0.0.1 port=1 user=u password='SECRET PW'",
        "host=127.0.0.1 port=1 user=u password=SECRET\\ PW",
        "host=127.0.0.1 port=1 password='SECRET\\'PW",
        "host=127.0.0.1 port=nope password=SECRETPW",
    ] {
        for run in [
            tessera(&["hypertable", "status", "--catalog", c, "--database", url, "--json"]),
            tessera(&["hypertable", "query", "--catalog", c, "--project", "1", &format!("--database={url}")]),
            tessera(&["bench", "status", "--catalog", c, "--database", url, "--repeat", "1", "--json"]),
        ] {
            assert_eq!(run.code, 1, "{url}: {run:?}");
            assert!(!run.stderr.contains("panicked"), "{url}: {}", run.stderr);
            assert!(!run.stderr.contains("SECRET") && !run.stdout.contains("SECRET"), "{url}: {run:?}");
            assert_eq!(run.stderr.lines().count(), 1, "{url}: {}", run.stderr);
        }
        let out = Command::new(tessera_bin())
            .args(["hypertable", "status", "--catalog", c, "--json"])
            .env("TESSERA_DATABASE_URL", url)
            .env("TESSERA_LOG", "error")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {stderr}");
        assert!(!stderr.contains("SECRET"), "{url}: {stderr}");
    }
}
