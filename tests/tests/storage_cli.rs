//! End-to-end: storage under real use (issue 9's contracts) — readers and a second writer
//! during a long ingest, read-only archives opened by another user, directories that hold no
//! archive, hostile times, corrupt databases and tiles.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tessera_tests::{files_under, tessera, tessera_bin};

const T: i64 = 1_700_000_000; // seconds

fn line(camera: &str, class: &str, first_ms: i64, last_ms: i64) -> String {
    format!(r#"{{"camera":"{camera}","class":"{class}","first_ms":{first_ms},"last_ms":{last_ms}}}"#)
}

/// `n` tracks over 4 cameras, 7 s apart, 5 s long.
fn write_tracks(path: &Path, n: usize, offset_s: i64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..n as i64 {
        let first = (T + offset_s + i * 7) * 1000;
        writeln!(out, "{}", line(&format!("cam-{}", i % 4), ["person", "car"][(i % 2) as usize], first, first + 5000))
            .unwrap();
    }
}

/// `events list` of a camera over all time, as JSON.
fn list_all(archive: &str, camera: &str) -> tessera_tests::Run {
    tessera(&[
        "events",
        "list",
        "--archive",
        archive,
        "--camera",
        camera,
        "--from",
        "0",
        "--to",
        "9000000000000000",
        "--json",
    ])
}

fn count_events(archive: &str, camera: &str) -> usize {
    let run = list_all(archive, camera);
    assert_eq!(run.code, 0, "{run:?}");
    run.json()["events"].as_array().unwrap().len()
}

/// Every file under `dir` with its bytes and permissions.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    files_under(dir)
        .into_iter()
        .map(|p| {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes, mode)
        })
        .collect()
}

#[test]
fn a_directory_without_an_archive_is_refused_and_left_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "not an archive").unwrap();
    let a = tmp.path().to_str().unwrap();
    let before = snapshot(tmp.path());
    tessera(&["events", "list", "--archive", a, "--camera", "cam-1", "--from", "0", "--to", "1"]).assert_clean_error(a);
    tessera(&["tiles", "get", "--archive", a, "--camera", "cam-1", "--level", "3", "--index", "5"])
        .assert_clean_error(a);
    tessera(&["tiles", "rebuild", "--archive", a]).assert_clean_error(a);
    assert_eq!(snapshot(tmp.path()), before);
    assert_eq!(files_under(tmp.path()).len(), 1);
}

/// While a long ingest runs, `events list` and `tiles get` answer at once; a second ingest
/// waits its turn and succeeds; nothing is lost.
#[test]
fn readers_and_a_second_writer_during_a_long_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let a = archive.to_str().unwrap();
    let seed = tmp.path().join("seed.jsonl");
    write_tracks(&seed, 8, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, seed.to_str().unwrap()]).code, 0);
    let big = tmp.path().join("big.jsonl");
    let big_n = 400_000;
    write_tracks(&big, big_n, 100_000);
    let small = tmp.path().join("small.jsonl");
    write_tracks(&small, 1000, 10_000_000);

    let mut first = Command::new(tessera_bin())
        .args(["events", "ingest", "--archive", a, big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Give it time to open and start its transaction.
    std::thread::sleep(Duration::from_millis(300));
    let second = Command::new(tessera_bin())
        .args(["events", "ingest", "--archive", a, small.to_str().unwrap()])
        .env("TESSERA_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reads_during_ingest = 0;
    let tile_index = ((T / 1024) >> 4).to_string();
    while first.try_wait().unwrap().is_none() {
        let started = Instant::now();
        let list = list_all(a, "cam-1");
        let tiles = tessera(&[
            "tiles",
            "get",
            "--archive",
            a,
            "--camera",
            "cam-1",
            "--level",
            "4",
            "--index",
            &tile_index,
            "--json",
        ]);
        let took = started.elapsed();
        assert_eq!(list.code, 0, "{list:?}");
        assert_eq!(tiles.code, 0, "{tiles:?}");
        assert!(took < Duration::from_secs(3), "two reads took {took:?}");
        if first.try_wait().unwrap().is_none() {
            reads_during_ingest += 1;
        }
    }
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let second = second.wait_with_output().unwrap();
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    assert!(reads_during_ingest >= 2, "only {reads_during_ingest} reads ran during the ingest");
    let total: usize = (0..4).map(|c| count_events(a, &format!("cam-{c}"))).sum();
    assert_eq!(total, 8 + big_n + 1000);
}

/// Run `tessera args` as an unprivileged user (`nobody`, via util-linux's `setpriv`) when we
/// are root (chmod does not stop root), else as ourselves.
fn tessera_as_reader(bin: &Path, args: &[&str]) -> tessera_tests::Run {
    let root = running_as_root();
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = command.args(args).env("TESSERA_LOG", "error").output().expect("setpriv (util-linux) runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.starts_with("setpriv:"), "cannot switch to user nobody: {stderr}");
    tessera_tests::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

fn chmod_tree(dir: &Path, dir_mode: u32, file_mode: u32) {
    use std::os::unix::fs::PermissionsExt;
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

/// `events list`, `tiles get` and `archive ls` on an archive the user cannot write: they
/// answer, and every file is left as it was (no -wal/-shm appear).
#[test]
fn a_read_only_archive_is_read_and_left_unchanged() {
    reads_leave_the_archive_unchanged(0o555, 0o444, true);
}

/// The same archive owned by another user who may write it (a recorder): the reader cannot
/// create a -shm beside it, so it reads immutable while no one writes — and still changes
/// nothing. (Run as ourselves, the archive is ours to write: then only the answers count.)
#[test]
fn an_archive_another_user_may_write_is_read_and_left_unchanged() {
    reads_leave_the_archive_unchanged(0o755, 0o644, running_as_root());
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
}

fn reads_leave_the_archive_unchanged(dir_mode: u32, file_mode: u32, expect_unchanged: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let a = archive.to_str().unwrap();
    let h264 = tmp.path().join("clip.h264");
    tessera_tests::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=160x120:rate=25",
        "-t",
        "2",
        "-c:v",
        "libx264",
        "-g",
        "25",
        "-bf",
        "0",
        h264.to_str().unwrap(),
    ]);
    let start = (T * 1_000_000).to_string();
    let import = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "cam-1-HD",
        "--start",
        &start,
        "--fps",
        "25",
        h264.to_str().unwrap(),
    ]);
    assert_eq!(import.code, 0, "{import:?}");
    let tracks = tmp.path().join("tracks.jsonl");
    write_tracks(&tracks, 100, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, tracks.to_str().unwrap()]).code, 0);
    // The reader runs the binary from a place it may read.
    let bin = tmp.path().join("tessera");
    std::fs::copy(tessera_bin(), &bin).unwrap();
    chmod_tree(tmp.path(), 0o755, 0o755);
    chmod_tree(&archive, dir_mode, file_mode);
    let before = snapshot(&archive);
    let tile_index = ((T / 1024) >> 2).to_string();
    let runs = [
        tessera_as_reader(
            &bin,
            &[
                "events",
                "list",
                "--archive",
                a,
                "--camera",
                "cam-1",
                "--from",
                "0",
                "--to",
                "9000000000000000",
                "--json",
            ],
        ),
        tessera_as_reader(
            &bin,
            &["tiles", "get", "--archive", a, "--camera", "cam-1", "--level", "2", "--index", &tile_index, "--json"],
        ),
        tessera_as_reader(&bin, &["archive", "ls", a, "--json"]),
    ];
    let after = snapshot(&archive);
    chmod_tree(&archive, 0o755, 0o644);
    for run in runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.is_empty(), "{run:?}");
    }
    if expect_unchanged {
        assert_eq!(after, before, "a read changed the archive");
    }
}

/// An event longer than the maximum or outside 1970 … 9999 is refused naming its line, at
/// once, and nothing of the file is stored.
#[test]
fn hostile_events_are_refused_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let good = tmp.path().join("good.jsonl");
    write_tracks(&good, 4, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, good.to_str().unwrap()]).code, 0);
    let year_ms: i64 = 365 * 86_400_000;
    for (bad, needle) in [
        (line("cam-1", "person", T * 1000, T * 1000 + 9999 * year_ms), "line 1001"),
        (line("cam-1", "person", -9999 * year_ms, 9999 * year_ms), "line 1001"),
        (line("cam-1", "person", i64::MIN, 5), "line 1001: first_ms"),
        (line("cam-1", "person", T * 1000, T * 1000 + 10 * year_ms), "longer than the 24 h maximum"),
    ] {
        let file = tmp.path().join("bad.jsonl");
        write_tracks(&file, 1000, 500_000);
        std::fs::OpenOptions::new().append(true).open(&file).unwrap().write_all(format!("{bad}\n").as_bytes()).unwrap();
        let started = Instant::now();
        let run = tessera(&["events", "ingest", "--archive", a, file.to_str().unwrap()]);
        assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
        run.assert_clean_error(needle);
    }
    assert_eq!((0..4).map(|c| count_events(a, &format!("cam-{c}"))).sum::<usize>(), 4, "nothing stored");
}

/// Range arithmetic does not overflow into "every event".
#[test]
fn extreme_list_ranges_answer_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().to_str().unwrap();
    let good = tmp.path().join("good.jsonl");
    write_tracks(&good, 8, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, good.to_str().unwrap()]).code, 0);
    let run = tessera(&[
        "events",
        "list",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--from",
        "9223372036854775000",
        "--to",
        "9223372036854775807",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["events"].as_array().unwrap().len(), 0);
    let run = tessera(&[
        "events",
        "list",
        "--archive",
        a,
        "--camera",
        "cam-1",
        "--from",
        "-9223372036854775808",
        "--to",
        "-9223372036854775000",
        "--json",
    ]);
    assert_eq!(run.json()["events"].as_array().unwrap().len(), 0);
}

/// Garbage inside tessera.sqlite is an error naming the file, never an empty answer; a
/// flipped bit in a tile blob is an error, and `tiles rebuild` cures it.
#[test]
fn corruption_is_an_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    std::fs::create_dir(&archive).unwrap();
    let a = archive.to_str().unwrap();
    let tracks = tmp.path().join("t.jsonl");
    write_tracks(&tracks, 20_000, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, tracks.to_str().unwrap()]).code, 0);
    let db = archive.join("tessera.sqlite");

    // A flipped bit in one stored tile.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (camera_id, level, index, mut blob): (i64, i64, i64, Vec<u8>) = conn
        .query_row(
            "SELECT t.camera, t.level, t.idx, t.blob FROM tile t JOIN strings s ON s.id = t.camera WHERE s.value = 'cam-1' AND t.level = 6 LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    let last = blob.len() - 5;
    blob[last] ^= 0x10;
    conn.execute(
        "UPDATE tile SET blob = ?1 WHERE camera = ?2 AND level = ?3 AND idx = ?4",
        rusqlite::params![blob, camera_id, level, index],
    )
    .unwrap();
    drop(conn);
    let get = |archive: &str| {
        tessera(&[
            "tiles",
            "get",
            "--archive",
            archive,
            "--camera",
            "cam-1",
            "--level",
            &level.to_string(),
            "--index",
            &index.to_string(),
            "--json",
        ])
    };
    get(a).assert_clean_error("tessera.sqlite");
    assert_eq!(tessera(&["tiles", "rebuild", "--archive", a]).code, 0);
    assert_eq!(get(a).code, 0);

    // 8 KB of garbage in the middle of the file.
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 3;
    for (i, b) in bytes[at..at + 8192].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(151).wrapping_add(7);
    }
    std::fs::write(&db, bytes).unwrap();
    let list = list_all(a, "cam-1");
    if list.code == 0 {
        // The garbage hit pages this query does not read: the answer must still be whole.
        assert_eq!(list.json()["events"].as_array().unwrap().len(), 5000, "{list:?}");
    } else {
        list.assert_clean_error("tessera.sqlite");
    }
}

/// A killed ingest leaves nothing of its file and nothing in the way: the archive reads as
/// before and the next ingest succeeds.
#[test]
fn a_killed_ingest_stores_nothing_and_blocks_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    let a = archive.to_str().unwrap();
    let seed = tmp.path().join("seed.jsonl");
    write_tracks(&seed, 8, 0);
    assert_eq!(tessera(&["events", "ingest", "--archive", a, seed.to_str().unwrap()]).code, 0);
    let big = tmp.path().join("big.jsonl");
    write_tracks(&big, 400_000, 100_000);
    let mut child = Command::new(tessera_bin())
        .args(["events", "ingest", "--archive", a, big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    child.wait().unwrap();
    let total = |a: &str| (0..4).map(|c| count_events(a, &format!("cam-{c}"))).sum::<usize>();
    if still_running {
        assert_eq!(total(a), 8, "a killed ingest stored part of its file");
    }
    assert_eq!(tessera(&["events", "ingest", "--archive", a, seed.to_str().unwrap()]).code, 0);
    assert_eq!(total(a), if still_running { 16 } else { 400_016 });
}
