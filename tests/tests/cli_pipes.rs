//! A reader that goes away (`tessera … | head -1`, `| true`) ends a command quietly, like other
//! Unix tools: exit status 0 and nothing on stderr, never a `println!` panic (status 101).

#![allow(clippy::unwrap_used)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use tessera_tests::tessera_bin;

/// Run `tessera args…` with stdout a pipe that is closed after reading `lines` lines (0: at
/// once, before the command writes anything). Returns the exit code and stderr.
fn with_closed_stdout(args: &[&str], lines: usize) -> (i32, String) {
    let mut child = Command::new(tessera_bin())
        .args(args)
        .env("TESSERA_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    for _ in 0..lines {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "{args:?} printed fewer than {lines} lines");
    }
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A video track with `n` entries (one 5-byte NALU each) at `dir/<base>_video.rf1i|.rf1p`.
fn write_track(dir: &Path, base: &str, n: u64) -> std::path::PathBuf {
    let mut index = b"rf1vh264".to_vec();
    index.extend_from_slice(&[0; 8]);
    index.extend_from_slice(&(base.parse::<u64>().unwrap() * 1000).to_le_bytes());
    index.extend_from_slice(&(n as u16).to_le_bytes());
    index.extend_from_slice(&[64, 0, 48, 0, 0, 0]);
    let mut packets = Vec::new();
    for k in 0..n {
        let flags = if k == 0 { 5 } else { 4 };
        index.extend_from_slice(&((k * 10) << 42 | (packets.len() as u64) << 12 | flags).to_le_bytes());
        packets.extend_from_slice(&[0, 0, 1, if k == 0 { 0x65 } else { 0x41 }, k as u8]);
    }
    index.extend_from_slice(&((packets.len() as u64) << 12).to_le_bytes());
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{base}_video.rf1i"));
    std::fs::write(&path, index).unwrap();
    std::fs::write(dir.join(format!("{base}_video.rf1p")), packets).unwrap();
    path
}

#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a");
    // A dump of 30,000 lines (~1 MB) and a listing of 1,200 streams (~100 KB): both far more
    // than a pipe holds, so the write after the reader leaves fails with EPIPE.
    let index = write_track(&archive.join("fsv/big"), "1700000000000", 30_000);
    for i in 0..1200 {
        write_track(&archive.join(format!("fsv/cam-{i:04}")), "1700000000000", 2);
    }
    let (idx, a) = (index.to_str().unwrap(), archive.to_str().unwrap());
    let input = tmp.path().join("in.h264");
    std::fs::write(
        &input,
        tessera::demo::encode::annex_b_clip(tessera::demo::scene::ClipKind::PersonAndCar, 1, 5, 25, 25).unwrap(),
    )
    .unwrap();
    let i = input.to_str().unwrap();
    // 20,000 events (~2 MB as text) for `events list`.
    let tracks = tmp.path().join("tracks.jsonl");
    let lines: Vec<String> = (0..20_000i64)
        .map(|k| {
            let t = 1_700_000_000_000 + k * 7000;
            format!(r#"{{"camera":"cam-1","class":"person","first_ms":{t},"last_ms":{}}}"#, t + 5000)
        })
        .collect();
    std::fs::write(&tracks, lines.join("\n")).unwrap();
    assert_eq!(tessera_tests::tessera(&["events", "ingest", "--archive", a, tracks.to_str().unwrap()]).code, 0);
    let start = "1700000000000000";
    let list = ["events", "list", "--archive", a, "--camera", "cam-1", "--from", "0", "--to", "9000000000000000"];
    let list_json =
        ["events", "list", "--archive", a, "--camera", "cam-1", "--from", "0", "--to", "9000000000000000", "--json"];
    let runs: [(&[&str], usize); 9] = [
        (&list, 1),
        (&list_json, 0),
        (&["rf1", "dump", idx], 1),
        (&["rf1", "dump", idx], 0),
        (&["rf1", "dump", idx, "--json"], 0),
        (&["archive", "ls", a], 1),
        (&["archive", "ls", a, "--json"], 0),
        (&["import", "h264", "--archive", a, "--stream", "imported", "--start", start, "--fps", "25", i], 0),
        (&["import", "h264", "--archive", a, "--stream", "json", "--start", start, "--fps", "25", "--json", i], 0),
    ];
    for (args, lines) in runs {
        let (code, stderr) = with_closed_stdout(args, lines);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!((code, stderr.as_str()), (0, ""), "{args:?} after {lines} lines");
    }
    // The imports went through before their summary line failed to print.
    let ls = tessera_tests::tessera(&["archive", "ls", a, "--json"]).json();
    let names: Vec<&str> = ls["streams"].as_array().unwrap().iter().filter_map(|s| s["name"].as_str()).collect();
    assert!(names.contains(&"imported") && names.contains(&"json"), "{names:?}");
}
