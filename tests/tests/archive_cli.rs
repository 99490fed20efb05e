//! End-to-end: real H.264 from openh264 → `tessera import h264` → byte-exact rf1 files (the
//! layout cyclops' writer produces after a clean close, built independently here) →
//! `tessera rf1 dump` / `tessera archive ls` contracts, and clean errors for bad input.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use tessera::demo::{encode, scene};
use tessera_tests::{ffmpeg, files_under, tessera};

/// Encode `frames` frames; returns the NALUs of each access unit (no start codes).
fn encode_frames(frames: u32, gop: u32) -> Vec<Vec<Vec<u8>>> {
    let mut enc = encode::encoder(30, gop, 300_000).unwrap();
    let objects = scene::clip_objects(scene::ClipKind::PersonAndCar, 1);
    let mut pic = scene::Picture::new();
    (0..frames)
        .map(|i| {
            scene::draw(&mut pic, 1, false, f64::from(i) / 30.0, &objects);
            encode::encode_picture(&mut enc, &pic, scene::WIDTH, scene::HEIGHT).unwrap()
        })
        .collect()
}

/// Annex-B bytes, alternating 4- and 3-byte start codes (readers must accept both).
fn annex_b(units: &[Vec<Vec<u8>>]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, nalu) in units.iter().flatten().enumerate() {
        out.extend_from_slice(if i % 2 == 0 { &[0, 0, 0, 1][..] } else { &[0, 0, 1][..] });
        out.extend_from_slice(nalu);
    }
    out
}

/// The rf1 files cyclops' writer leaves after a clean close, from first principles.
fn cyclops_layout(
    units: &[Vec<Vec<u8>>],
    time_base_us: u64,
    fps_num: u128,
    fps_den: u128,
    w: u16,
    h: u16,
) -> (Vec<u8>, Vec<u8>) {
    let mut words: Vec<u64> = Vec::new();
    let mut packets = Vec::new();
    for (k, unit) in units.iter().enumerate() {
        let rel_ns = (k as u128) * 1_000_000_000 * fps_den / fps_num;
        let ticks = (rel_ns * 4096 / 1_000_000_000) as u64;
        for nalu in unit {
            let flags: u64 = match nalu[0] & 0x1f {
                5 => 5,
                7 | 8 => 6,
                _ => 4,
            };
            words.push(ticks << 42 | (packets.len() as u64) << 12 | flags);
            packets.extend_from_slice(&[0, 0, 1]);
            packets.extend_from_slice(nalu);
        }
    }
    words.push((packets.len() as u64) << 12);
    let mut index = b"rf1vh264".to_vec();
    index.extend_from_slice(&[0; 8]);
    index.extend_from_slice(&time_base_us.to_le_bytes());
    index.extend_from_slice(&((words.len() - 1) as u16).to_le_bytes());
    index.extend_from_slice(&w.to_le_bytes());
    index.extend_from_slice(&h.to_le_bytes());
    index.extend_from_slice(&[0, 0]);
    for word in words {
        index.extend_from_slice(&word.to_le_bytes());
    }
    (index, packets)
}

fn write_input(dir: &Path, units: &[Vec<Vec<u8>>]) -> String {
    let input = dir.join("in.h264");
    std::fs::write(&input, annex_b(units)).unwrap();
    input.to_string_lossy().into_owned()
}

#[test]
fn import_matches_cyclops_bytes_and_dump_and_ls_report_it() {
    let tmp = tempfile::tempdir().unwrap();
    let units = encode_frames(95, 30);
    let input = write_input(tmp.path(), &units);
    let archive = tmp.path().join("a");
    let a = archive.to_str().unwrap();
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "cam-1-HD",
        "--start",
        "2023-11-14T22:13:20.123456Z",
        "--fps",
        "30000/1001",
        &input,
    ]);
    assert_eq!(run.code, 0, "{run:?}");

    let dir = archive.join("fsv/cam-1-HD");
    let (index, packets) = cyclops_layout(&units, 1_700_000_000_123_456, 30000, 1001, 640, 360);
    assert_eq!(std::fs::read(dir.join("1700000000123_video.rf1i")).unwrap(), index, "index bytes");
    assert_eq!(std::fs::read(dir.join("1700000000123_video.rf1p")).unwrap(), packets, "packet bytes");
    // The two track files, and the previews import builds of what it imported.
    let files = files_under(&archive);
    let tracks = files.iter().filter(|p| p.starts_with(&dir)).count();
    assert_eq!((tracks, files.len()), (2, 3), "{files:?}");
    assert!(archive.join("previews.sqlite").is_file());

    let idx = dir.join("1700000000123_video.rf1i");
    let dump = tessera(&["rf1", "dump", idx.to_str().unwrap(), "--json"]).json();
    assert_eq!(dump["track"], "video");
    assert_eq!(dump["codec"], "h264");
    assert_eq!(dump["kind"], "video");
    assert_eq!(dump["time_base_us"], 1_700_000_000_123_456i64);
    assert_eq!((dump["width"].as_u64(), dump["height"].as_u64()), (Some(640), Some(360)));
    assert_eq!(dump["recovered"], false);
    assert_eq!(dump["dropped_entries"], 0);
    assert_eq!(dump["packet_bytes"].as_u64(), Some(packets.len() as u64));
    let entries = dump["entries"].as_array().unwrap();
    assert_eq!(dump["header_index_count"].as_u64(), Some(entries.len() as u64));
    assert_eq!(
        entries[0].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect::<Vec<_>>(),
        vec![0, 0, 3 + units[0][0].len() as u64, 6]
    );

    let ls = tessera(&["archive", "ls", a, "--json"]).json();
    let s = &ls["streams"][0];
    assert_eq!(s["name"], "cam-1-HD");
    assert_eq!(s["start_us"], 1_700_000_000_123_456i64);
    let last_ticks = ((94u128 * 1_000_000_000 * 1001 / 30000) * 4096 / 1_000_000_000) as i64;
    assert_eq!(s["end_us"].as_i64(), Some(1_700_000_000_123_456 + last_ticks * 1_000_000 / 4096));
    assert_eq!(s["files"], 1);
    assert_eq!(s["bytes"].as_u64(), Some((index.len() + packets.len()) as u64));
}

#[test]
fn dump_reports_crash_recovery_and_truncation_repair() {
    let tmp = tempfile::tempdir().unwrap();
    let units = encode_frames(40, 30); // unit 30 is an IDR with SPS + PPS
    let input = write_input(tmp.path(), &units);
    let a = tmp.path().join("a");
    assert_eq!(
        tessera(&[
            "import",
            "h264",
            "--archive",
            a.to_str().unwrap(),
            "--stream",
            "s",
            "--start",
            "1700000000000000",
            "--fps",
            "10",
            &input
        ])
        .code,
        0
    );
    let idx = a.join("fsv/s/1700000000000_video.rf1i");
    let pkt = a.join("fsv/s/1700000000000_video.rf1p");
    // Simulate a crash: zero count in the header, pre-allocated zeros after the sentinel.
    let mut index = std::fs::read(&idx).unwrap();
    index[24..26].copy_from_slice(&[0, 0]);
    index.resize(32 + 65536 * 8, 0);
    std::fs::write(&idx, &index).unwrap();
    let full = std::fs::metadata(&pkt).unwrap().len();
    // Cut inside the last access unit (a P slice): exactly that one entry goes.
    let last_len = 3 + units[39][0].len() as u64;
    std::fs::OpenOptions::new().write(true).open(&pkt).unwrap().set_len(full - last_len / 2).unwrap();
    let dump = tessera(&["rf1", "dump", idx.to_str().unwrap(), "--json"]).json();
    let total: usize = units.iter().map(Vec::len).sum();
    assert_eq!(dump["recovered"], true);
    assert_eq!(dump["header_index_count"], 0);
    assert_eq!(dump["dropped_entries"].as_u64(), Some(units[39].len() as u64));
    assert_eq!(dump["entries"].as_array().unwrap().len(), total - units[39].len());
    assert_eq!(dump["packet_bytes"].as_u64(), Some(full - last_len));
    // Cut inside the keyframe unit 30: it and everything after go, SPS/PPS included.
    let kept: u64 = units[..30].iter().flatten().map(|n| 3 + n.len() as u64).sum();
    std::fs::OpenOptions::new().write(true).open(&pkt).unwrap().set_len(kept + 20).unwrap();
    let dump = tessera(&["rf1", "dump", idx.to_str().unwrap(), "--json"]).json();
    assert_eq!(dump["entries"].as_array().unwrap().len(), units[..30].iter().map(Vec::len).sum::<usize>());
    assert_eq!(dump["dropped_entries"].as_u64(), Some(units[30..].iter().map(Vec::len).sum::<usize>() as u64));
    assert_eq!(dump["packet_bytes"].as_u64(), Some(kept));
}

#[test]
fn bad_input_gives_one_line_errors_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let a = a.to_str().unwrap();
    let garbage = tmp.path().join("garbage.h264");
    std::fs::write(&garbage, b"GIF89a not a video stream at all".repeat(500)).unwrap();
    let g = garbage.to_str().unwrap();
    tessera(&["import", "h264", "--archive", a, "--stream", "s", "--start", "1700000000000000", "--fps", "25", g])
        .assert_clean_error("garbage.h264");
    tessera(&["import", "h264", "--archive", a, "--stream", "s", "--start", "0", "--fps", "25", "/nonexistent/x.h264"])
        .assert_clean_error("x.h264");
    for bad in ["", "a/b", "a\\b", "..", "x..y"] {
        tessera(&["import", "h264", "--archive", a, "--stream", bad, "--start", "0", "--fps", "25", g])
            .assert_clean_error("stream");
    }
    tessera(&["import", "h264", "--archive", a, "--stream", "s", "--start", "0", "--fps", "0", g])
        .assert_clean_error("fps");
    assert!(files_under(tmp.path()).iter().all(|p| p == &garbage), "{:?}", files_under(tmp.path()));

    // Truncated valid stream: fine up to the cut (an import of what is there), never a panic.
    let units = encode_frames(12, 30);
    let mut bytes = annex_b(&units);
    bytes.truncate(bytes.len() - 5);
    let cut = tmp.path().join("cut.h264");
    std::fs::write(&cut, &bytes).unwrap();
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "s",
        "--start",
        "0",
        "--fps",
        "25",
        cut.to_str().unwrap(),
    ]);
    assert!(!run.stderr.contains("panicked"), "{run:?}");

    let bad_magic = tmp.path().join("1_video.rf1i");
    std::fs::write(&bad_magic, [b"RIFFh264".as_slice(), &[0; 32]].concat()).unwrap();
    std::fs::write(tmp.path().join("1_video.rf1p"), b"").unwrap();
    tessera(&["rf1", "dump", bad_magic.to_str().unwrap(), "--json"]).assert_clean_error("magic");
    std::fs::write(&bad_magic, [b"rf1vmpeg".as_slice(), &[0; 32]].concat()).unwrap();
    tessera(&["rf1", "dump", bad_magic.to_str().unwrap(), "--json"]).assert_clean_error("codec");
    tessera(&["rf1", "dump", "/nonexistent/1_video.rf1i", "--json"]).assert_clean_error("1_video.rf1i");
    tessera(&["archive", "ls", "/nonexistent/archive", "--json"]).assert_clean_error("/nonexistent/archive");
}

#[test]
fn import_reads_stdin_and_rolls_over_past_1000_seconds() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let units = encode_frames(60, 20);
    let a = tmp.path().join("a");
    // 60 frames at 1/20 fps span 2950 s: three files.
    let mut child = std::process::Command::new(tessera_tests::tessera_bin())
        .args([
            "import",
            "h264",
            "--archive",
            a.to_str().unwrap(),
            "--stream",
            "slow",
            "--start",
            "2024-01-01T00:00:00+02:00",
            "--fps",
            "1/50",
            "-",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&annex_b(&units)).unwrap();
    assert!(child.wait().unwrap().success());
    let ls = tessera(&["archive", "ls", a.to_str().unwrap(), "--json"]).json();
    assert_eq!(ls["streams"][0]["files"], 3);
    assert_eq!(ls["streams"][0]["start_us"], 1_704_060_000_000_000i64);
    assert_eq!(ls["streams"][0]["end_us"], 1_704_060_000_000_000i64 + 59 * 50_000_000);
}

#[test]
fn demo_writes_three_cameras() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("demo");
    let run =
        tessera(&["demo", "--dir", d.to_str().unwrap(), "--hours", "0.5", "--no-gui", "--end", "2024-05-01T12:00:00Z"]);
    assert_eq!(run.code, 0, "{run:?}");
    let ls = tessera(&["archive", "ls", d.to_str().unwrap(), "--json"]).json();
    let streams = ls["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 3);
    for s in streams {
        let span = s["end_us"].as_i64().unwrap() - s["start_us"].as_i64().unwrap();
        assert!((span - (1_800_000_000 - 200_000)).abs() < 1000, "last frame 200 ms before the end: {span}");
    }
    // Running it again replaces the earlier demo.
    assert_eq!(tessera(&["demo", "--dir", d.to_str().unwrap(), "--hours", "0.1", "--no-gui"]).code, 0);
}

#[test]
fn import_h265_reads_the_conformance_window_and_sets_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in.hevc");
    // 330x250 is coded in 8-pixel blocks: the SPS conformance window crops it back.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=330x250:rate=10",
        "-frames:v",
        "12",
        "-pix_fmt",
        "yuv420p",
        "-c:v",
        "libx265",
        "-x265-params",
        "bframes=0:keyint=10:log-level=error",
        "-f",
        "hevc",
        input.to_str().unwrap(),
    ]);
    let a = tmp.path().join("a");
    let run = tessera(&[
        "import",
        "h265",
        "--archive",
        a.to_str().unwrap(),
        "--stream",
        "hevc",
        "--start",
        "1700000000000000",
        "--fps",
        "10",
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let dump =
        tessera(&["rf1", "dump", a.join("fsv/hevc/1700000000000_video.rf1i").to_str().unwrap(), "--json"]).json();
    assert_eq!(dump["codec"], "h265");
    assert_eq!((dump["width"].as_u64(), dump["height"].as_u64()), (Some(330), Some(250)));
    let flags: Vec<u64> = dump["entries"].as_array().unwrap().iter().map(|e| e[3].as_u64().unwrap()).collect();
    assert_eq!(&flags[..3], &[6, 6, 6], "VPS, SPS, PPS are essential metadata");
    assert!(flags.contains(&5), "the IDR is a keyframe");
    let pts: Vec<u64> = dump["entries"].as_array().unwrap().iter().map(|e| e[0].as_u64().unwrap()).collect();
    assert_eq!(pts.iter().collect::<std::collections::BTreeSet<_>>().len(), 12, "one time per access unit");
}

const START_US: i64 = 1_700_000_000_000_000;
/// Frames of the multi-file stream below are 400 s apart: three per file.
const STEP_US: i64 = 400_000_000;

/// Import 12 frames 400 s apart with an IDR every 3: four files of three frames, each starting
/// on its own keyframe. Returns the stream directory's files, sorted (index, packets, …).
fn four_file_stream(archive: &Path, work: &Path) -> Vec<std::path::PathBuf> {
    let units = encode_frames(12, 3);
    let input = write_input(work, &units);
    let a = archive.to_str().unwrap();
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "s",
        "--start",
        &START_US.to_string(),
        "--fps",
        "1/400",
        &input,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let files = files_under(&archive.join("fsv/s"));
    assert_eq!(files.len(), 8, "{files:?}");
    files
}

fn frame_at(archive: &Path, at_us: i64, out: &Path) -> tessera_tests::Run {
    tessera(&[
        "frame",
        "--archive",
        archive.to_str().unwrap(),
        "--stream",
        "s",
        "--at",
        &at_us.to_string(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn a_bad_segment_is_no_video_and_the_rest_of_the_stream_still_plays() {
    // The second file loses its packets (or they are empty), the last index is garbage, and a
    // stray `-5_video.rf1i` sits beside them.
    for empty_instead_of_missing in [false, true] {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("a");
        let files = four_file_stream(&archive, tmp.path());
        if empty_instead_of_missing {
            std::fs::write(&files[3], b"").unwrap();
        } else {
            std::fs::remove_file(&files[3]).unwrap();
        }
        std::fs::write(&files[6], b"rf1v not an index at all").unwrap();
        let dir = archive.join("fsv/s");
        std::fs::write(dir.join("-5_video.rf1i"), b"junk").unwrap();
        std::fs::write(dir.join("-5_video.rf1p"), b"junk").unwrap();

        let ls = tessera(&["archive", "ls", archive.to_str().unwrap(), "--json"]);
        assert_eq!(ls.code, 0, "{ls:?}");
        let ls = ls.json();
        let s = &ls["streams"][0];
        assert_eq!(s["start_us"].as_i64(), Some(START_US), "not moved to 1969 by -5_video.rf1i");
        assert_eq!(s["end_us"].as_i64(), Some(START_US + 8 * STEP_US), "the last frame of the last good file");
        assert_eq!(s["files"], 4);
        let problems: Vec<(String, String)> = ls["problems"]
            .as_array()
            .unwrap_or_else(|| panic!("no problems field: {ls}"))
            .iter()
            .map(|p| (p["path"].as_str().unwrap().to_owned(), p["problem"].as_str().unwrap().to_owned()))
            .collect();
        for bad in ["-5_video.rf1i", "-5_video.rf1p"] {
            assert!(problems.iter().any(|(p, _)| p.ends_with(bad)), "{bad} not reported: {problems:?}");
        }
        let second = if empty_instead_of_missing { &files[3] } else { &files[2] };
        for bad in [second, &files[6]] {
            assert!(problems.iter().any(|(p, _)| Path::new(p) == bad), "{} not reported: {problems:?}", bad.display());
        }

        let out = tmp.path().join("f.yuv");
        for k in [0, 1, 2, 6, 7, 8] {
            let run = frame_at(&archive, START_US + k * STEP_US + 1000, &out);
            assert_eq!(run.code, 0, "frame {k} is in a good file: {run:?}");
            assert_eq!(std::fs::metadata(&out).unwrap().len(), 640 * 360 * 3 / 2);
        }
        for k in [3, 4, 5, 9, 10, 11] {
            frame_at(&archive, START_US + k * STEP_US + 1000, &out).assert_clean_error("no video");
        }
    }
}

#[test]
fn a_killed_import_leaves_partials_that_the_next_import_removes() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let a = archive.to_str().unwrap();
    // Over 8 MiB (the import's read chunk), so files are written while stdin stays open.
    let chunk = annex_b(&encode_frames(95, 30));
    let big = chunk.repeat((9 << 20) / chunk.len() + 1);
    let mut child = std::process::Command::new(tessera_tests::tessera_bin())
        .args(["import", "h264", "--archive", a, "--stream", "s", "--start", &START_US.to_string(), "--fps", "25", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&big).unwrap();
    let dir = archive.join("fsv/s");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let partials = || files_under(&dir).into_iter().filter(|p| p.to_string_lossy().ends_with(".partial")).count();
    while partials() < 2 {
        assert!(std::time::Instant::now() < deadline, "the import wrote no partial files");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    drop(stdin);
    // An index and a packet file per file begun (a second one when the first is full).
    let left = partials();
    assert!(left >= 2 && left % 2 == 0, "{left}");

    let ls = tessera(&["archive", "ls", a, "--json"]);
    assert_eq!(ls.code, 0, "{ls:?}");
    let problems = ls.json()["problems"].as_array().cloned().unwrap_or_default();
    assert_eq!(problems.len(), left, "{}", ls.stdout);
    assert!(problems.iter().all(|p| p["problem"].as_str().unwrap().contains("interrupted")), "{problems:?}");
    assert_eq!(partials(), left, "listing removes nothing");

    // The same import again: the stale files go, the stream is written and reads.
    let input = write_input(tmp.path(), &encode_frames(30, 30));
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a,
        "--stream",
        "s",
        "--start",
        &START_US.to_string(),
        "--fps",
        "25",
        &input,
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(partials(), 0);
    let ls = tessera(&["archive", "ls", a, "--json"]).json();
    let end = ls["streams"][0]["end_us"].as_i64().unwrap();
    assert!((end - (START_US + 29 * 40_000)).abs() < 1000, "the last frame (rf1 ticks are 1/4096 s): {end}");
    assert_eq!(ls["problems"].as_array().map(Vec::len), Some(0), "{ls}");
    let out = tmp.path().join("f.yuv");
    let run = frame_at(&archive, START_US + 20 * 40_000, &out);
    assert_eq!(run.code, 0, "{run:?}");
}

/// Path, bytes and modification time of every file and directory under `dir`.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let meta = std::fs::metadata(&p).unwrap();
        if meta.is_dir() {
            out.push((p.clone(), vec![], meta.modified().unwrap()));
            out.extend(snapshot(&p));
        } else {
            out.push((p.clone(), std::fs::read(&p).unwrap(), meta.modified().unwrap()));
        }
    }
    out.sort();
    out
}

fn set_writable(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let dir = p.is_dir();
        if dir {
            set_writable(&p, writable);
        }
        let mode = match (dir, writable) {
            (true, true) => 0o755,
            (true, false) => 0o555,
            (false, true) => 0o644,
            (false, false) => 0o444,
        };
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let mode = if writable { 0o755 } else { 0o555 };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Run `tessera args…` as a user that permissions stop: root writes through them, so as root
/// the run is as `nobody` through `setpriv` when that works (else as root: then only the
/// unchanged bytes, times and names show that nothing was written).
fn as_reader(args: &[&str]) -> tessera_tests::Run {
    let root = std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")));
    if root {
        let out = std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(tessera_tests::tessera_bin())
            .args(args)
            .env("TESSERA_LOG", "error")
            .output();
        match out {
            Ok(out) if !String::from_utf8_lossy(&out.stderr).starts_with("setpriv:") => {
                return tessera_tests::Run {
                    code: out.status.code().unwrap_or(-1),
                    stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                    stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
                };
            }
            _ => eprintln!("root without setpriv: checking only that nothing changed"),
        }
    }
    tessera(args)
}

#[test]
fn archive_ls_on_a_read_only_archive_works_and_changes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let files = four_file_stream(&archive, tmp.path());
    let dir = archive.join("fsv/s");
    // A file left as a crash leaves it (count 0: recovered in memory), the partial files of a
    // killed import, a stray name, an index without packets.
    let mut index = std::fs::read(&files[6]).unwrap();
    index[24..26].copy_from_slice(&[0, 0]);
    index.resize(32 + 65536 * 8, 0);
    std::fs::write(&files[6], &index).unwrap();
    std::fs::write(dir.join("1800000000000_video.rf1i.partial"), &index).unwrap();
    std::fs::write(dir.join("1800000000000_video.rf1p.partial"), vec![0u8; 1 << 16]).unwrap();
    std::fs::write(dir.join("-5_video.rf1i"), b"junk").unwrap();
    std::fs::remove_file(&files[3]).unwrap();
    // Another user reaches the archive (and writes the frame elsewhere).
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::set_permissions(&out_dir, std::fs::Permissions::from_mode(0o777)).unwrap();

    let before = snapshot(&archive);
    set_writable(&archive, false);
    let a = archive.to_str().unwrap();
    let text = as_reader(&["archive", "ls", a]);
    let json = as_reader(&["archive", "ls", a, "--json"]);
    let at = (START_US + 7 * STEP_US).to_string();
    let out = out_dir.join("f.yuv");
    let frame = as_reader(&["frame", "--archive", a, "--stream", "s", "--at", &at, "--out", out.to_str().unwrap()]);
    let after = snapshot(&archive);
    set_writable(&archive, true);
    assert_eq!(text.code, 0, "{text:?}");
    assert!(text.stdout.starts_with("s "), "{text:?}");
    assert_eq!(json.code, 0, "{json:?}");
    let json = json.json();
    assert_eq!(json["streams"][0]["end_us"].as_i64(), Some(START_US + 11 * STEP_US), "recovered in memory");
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(4), "{json}");
    assert_eq!(frame.code, 0, "{frame:?}");
    assert!(after == before, "the archive changed");
}

#[test]
fn the_player_does_not_carry_a_frame_into_a_bad_segment() {
    use tessera_engine::playback::FrameSource;
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    let files = four_file_stream(&archive, tmp.path());
    std::fs::remove_file(&files[3]).unwrap();
    let mut source = FrameSource::open(&archive, "s").unwrap();
    // The GOP of the first file is cached; the bad file's span must not reuse it …
    let shown = source.frame_at(START_US + 2 * STEP_US + 1000).unwrap().unwrap();
    assert_eq!(shown.frame.time_us, START_US + 2 * STEP_US);
    assert!(source.frame_at(START_US + 3 * STEP_US + 1000).unwrap().is_none(), "no video in the bad file's span");
    // … and stepping forward goes over it to the next file's first frame.
    assert_eq!(source.neighbour(START_US + 2 * STEP_US, true).unwrap(), Some(START_US + 6 * STEP_US));
    let shown = source.frame_at(START_US + 6 * STEP_US).unwrap().unwrap();
    assert_eq!(shown.frame.time_us, START_US + 6 * STEP_US);
}

/// An archive with events but no video yet (`tessera.sqlite` only — a recorder that has
/// written detections before its first video file rolls over) is an archive with no streams:
/// `archive ls` lists none and the window opens it.
#[test]
fn events_before_the_first_video_file_list_zero_streams() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("archive");
    std::fs::create_dir(&a).unwrap();
    let input = tmp.path().join("events.jsonl");
    std::fs::write(
        &input,
        r#"{"camera":"cam-1","class":"person","first_ms":1700000000000,"last_ms":1700000060000,"confidence":0.9,"boxes":[{"t_ms":1700000000000,"x1":1,"y1":2,"x2":30,"y2":40}]}"#,
    )
    .unwrap();
    let a = a.to_str().unwrap();
    let ingest = tessera(&["events", "ingest", "--archive", a, input.to_str().unwrap()]);
    assert_eq!(ingest.code, 0, "{ingest:?}");
    assert!(!tmp.path().join("archive/fsv").exists(), "ingest makes no video folder");

    let ls = tessera(&["archive", "ls", a, "--json"]);
    assert_eq!(ls.code, 0, "{ls:?}");
    assert_eq!(ls.json(), serde_json::json!({"streams": [], "problems": []}));
    let text = tessera(&["archive", "ls", a]);
    assert_eq!((text.code, text.stdout.as_str()), (0, ""), "{text:?}");

    // The window opens it too: the camera's timeline strip, no video to play.
    let png = tmp.path().join("window.png");
    let shot = tessera(&[
        "screenshot",
        "--archive",
        a,
        "--at",
        "2023-11-14T22:13:30Z",
        "--out",
        png.to_str().unwrap(),
        "--size",
        "640x400",
        "--utc",
    ]);
    assert_eq!(shot.code, 0, "{shot:?}");
    assert!(png.is_file());
}
