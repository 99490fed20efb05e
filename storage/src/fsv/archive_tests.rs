//! The fsv rules: layout and naming, roll-over, time-range lookup across files, the sweeper,
//! and import's refusal to leave partial files.

use super::*;
use crate::rf1;
use std::collections::HashSet;
use std::path::Path;

const T0_US: i64 = 1_700_000_000_000_000;

/// Write `secs` seconds at `fps` with a keyframe every `gop` frames into `stream`.
fn write_stream(root: &Path, stream: &str, start_us: i64, secs: i64, fps: i64, gop: i64) {
    let mut w = StreamWriter::new(root, stream, rf1::Codec::H264).expect("writer");
    w.set_size(64, 48).expect("size");
    for k in 0..secs * fps {
        let mut unit = AccessUnit { time_ns: start_us * 1000 + k * 1_000_000_000 / fps, nalus: vec![] };
        if k % gop == 0 {
            unit.push_h264(&[0x67, 0x42, 0, 0x1e]);
            unit.push_h264(&[0x68, 0xce]);
            unit.push_h264(&[0x65, 0x88, k as u8]);
        } else {
            unit.push_h264(&[0x41, 0x9a, k as u8]);
        }
        w.write(unit).expect("write");
    }
    w.finish().expect("finish");
}

#[test]
fn layout_names_and_roll_over() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "cam-1-HD", T0_US + 123, 2500, 2, 4);
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("cam-1-HD").expect("stream");
    // 2500 s rolls over after 1000 s: three files, prefixes in ms.
    assert_eq!(s.files.len(), 3);
    assert_eq!(s.files[0].base, ((T0_US + 123) / 1000).to_string());
    assert_eq!(s.start_us, T0_US + 123);
    assert_eq!(s.end_us, T0_US + 123 + 2_499_500_000);
    for f in &s.files {
        assert_eq!(f.tracks, vec!["video".to_owned()]);
    }
    assert!(s.files[1].start_ms * 1000 - s.start_us > ROLL_OVER_US);
    let listed: u64 = std::fs::read_dir(&s.dir).expect("dir").map(|e| e.expect("e").metadata().expect("m").len()).sum();
    assert_eq!(s.bytes(), listed);
    // Nothing but final names remain.
    assert!(
        std::fs::read_dir(&s.dir).expect("dir").all(|e| !e
            .expect("e")
            .file_name()
            .to_string_lossy()
            .ends_with(".partial"))
    );
}

#[test]
fn ignores_foreign_files_and_nested_dirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 10, 1, 5);
    let sdir = dir.path().join("fsv/s");
    for junk in ["0_video.rf1i", "abc_video.rf1i", "1700000000000_video.mp4", "notes.txt", "1800000000000_video.rf1p"] {
        std::fs::write(sdir.join(junk), b"junk").expect("write");
    }
    std::fs::create_dir_all(sdir.join("nested")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("fsv/empty-stream")).expect("mkdir");
    let a = Archive::open(dir.path()).expect("open");
    assert_eq!(a.streams.keys().collect::<Vec<_>>(), vec!["s"]);
    assert_eq!(a.streams["s"].files.len(), 1, "a group without an .rf1i does not count");
}

#[test]
fn range_reads_cross_files_and_seek_back_to_keyframes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Keyframe every 7 s at 1 fps: the second file (starting after 1000 s) does not start on one.
    write_stream(dir.path(), "s", T0_US, 1200, 1, 7);
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    assert_eq!(s.files.len(), 2);
    let second_start = s.files[1].start_ms * 1000;
    // Reading from the first frame of file 2 must seek back into file 1's last keyframe.
    let packets = s.read_range(second_start, second_start + 2_000_000, true).expect("read");
    let first = &packets[0];
    assert!(first.time_us < second_start);
    assert_eq!(rf1::FLAG_ESSENTIAL_META & first.packet.flags, rf1::FLAG_ESSENTIAL_META);
    assert!(packets.windows(2).all(|w| w[0].time_us <= w[1].time_us));
    assert_eq!(packets.last().map(|p| p.time_us), Some(second_start + 2_000_000), "inclusive end");
    // Without seeking, exactly the frames in range.
    let plain = s.read_range(T0_US + 5_000_000, T0_US + 6_000_000, false).expect("read");
    assert_eq!(plain.iter().map(|p| p.time_us).collect::<Vec<_>>(), vec![T0_US + 5_000_000, T0_US + 6_000_000]);
    assert!(s.read_range(T0_US - 10_000_000, T0_US - 1, false).expect("read").is_empty());
}

#[test]
fn sweeper_deletes_globally_oldest_until_98_percent() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "a", T0_US, 3500, 2, 10);
    write_stream(dir.path(), "b", T0_US + 500_000_000, 3500, 2, 10);
    let mut a = Archive::open(dir.path()).expect("open");
    let total: u64 = a.streams.values().map(Stream::bytes).sum();
    // Under 99 %: nothing happens.
    let r = sweep(&mut a, total * 100 / 99 + 10, &HashSet::new(), true).expect("sweep");
    assert!(r.deleted.is_empty());
    // A budget that forces deleting about a third.
    let budget = total * 70 / 100;
    let r = sweep(&mut a, budget, &HashSet::new(), true).expect("sweep");
    assert!(u128::from(r.bytes_after) * 100 <= u128::from(budget) * 98);
    let oldest_left = a.streams.values().flat_map(|s| s.files.iter().map(|f| f.start_ms)).min();
    let reopened = Archive::open(dir.path()).expect("reopen");
    assert_eq!(reopened.streams.values().flat_map(|s| s.files.iter().map(|f| f.start_ms)).min(), oldest_left);
    // Deleted files are the globally oldest: every remaining file starts after every deleted one.
    assert!(!r.deleted.is_empty());
    // Never the live (latest) file, never a stream directory.
    let r = sweep(&mut a, 1, &HashSet::new(), true).expect("sweep");
    assert!(r.bytes_after > 0);
    for s in ["a", "b"] {
        assert!(dir.path().join("fsv").join(s).is_dir());
        assert_eq!(Archive::open(dir.path()).expect("open").streams[s].files.len(), 1);
    }
}

#[test]
fn failed_import_leaves_no_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fps = FrameRate::parse("10").expect("fps");
    let garbage = b"this is not h264 at all".repeat(1000);
    let err =
        import_h264(dir.path(), "x", T0_US, fps, &mut &garbage[..], Path::new("in.h264")).err().map(|e| e.to_string());
    assert!(err.as_deref().is_some_and(|e| e.contains("in.h264") && e.contains("Annex-B")), "{err:?}");
    // Valid start codes but no SPS.
    let no_sps = [0u8, 0, 0, 1, 0x41, 0x9a, 1, 0, 0, 1, 0x41, 0x9a, 2];
    assert!(import_h264(dir.path(), "x", T0_US, fps, &mut &no_sps[..], Path::new("in.h264")).is_err());
    // forbidden_zero_bit set after a good start.
    let bad = [0u8, 0, 0, 1, 0xE7, 0x42];
    assert!(import_h264(dir.path(), "x", T0_US, fps, &mut &bad[..], Path::new("in.h264")).is_err());
    let left: Vec<_> = walk(dir.path());
    assert!(left.iter().all(|p| p.is_dir()), "files left behind: {left:?}");
    assert!(import_h264(dir.path(), "a/b", T0_US, fps, &mut &bad[..], Path::new("in.h264")).is_err());
}

fn walk(p: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            out.push(e.path());
            out.extend(walk(&e.path()));
        }
    }
    out
}

#[test]
fn gop_at_a_keyframe_starts_at_that_keyframe() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 20, 2, 4); // a keyframe every 2 s
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    for key_s in [2, 4, 10] {
        let key_us = T0_US + key_s * 1_000_000;
        for at in [key_us, key_us + 600_000] {
            let (packets, target) = s.gop_at(at).expect("read").expect("gop");
            assert_eq!(packets[0].time_us, key_us, "the GOP holding {at} starts at its own keyframe");
            assert_eq!(packets.last().expect("last").time_us, key_us + 1_500_000, "and ends before the next");
            assert!(packets[target].time_us <= at);
        }
    }
    // Index-only lookups of the next entry, within and across GOPs.
    assert_eq!(s.first_time_after(T0_US).expect("next"), Some(T0_US + 500_000));
    assert_eq!(s.first_time_after(T0_US + 19_500_000).expect("next"), None);
}
