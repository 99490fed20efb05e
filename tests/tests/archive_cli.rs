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
    assert_eq!(files_under(&archive).len(), 2);

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
