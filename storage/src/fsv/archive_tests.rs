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
    // Keyframe every 7 s at 1 fps: the writer rolls over to file 2 at the first keyframe after
    // 1000 s.
    write_stream(dir.path(), "s", T0_US, 1200, 1, 7);
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    assert_eq!(s.files.len(), 2);
    let second_start = s.files[1].start_ms * 1000;
    // From that keyframe (its SPS and PPS come before its IDR): the read starts on it.
    let on_key = s.read_range(second_start, second_start + 1_000_000, true).expect("read");
    assert_eq!(on_key[0].time_us, second_start);
    assert_eq!(rf1::FLAG_ESSENTIAL_META & on_key[0].packet.flags, rf1::FLAG_ESSENTIAL_META);
    // From the frame before it (file 1): back to file 1's last keyframe, on into file 2.
    let packets = s.read_range(second_start - 1_000_000, second_start + 2_000_000, true).expect("read");
    let first = &packets[0];
    assert_eq!(first.time_us, second_start - 7_000_000);
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

/// Path of file `i`'s video track of stream `s`.
fn track_file(a: &Archive, s: &str, i: usize, kind: rf1::FileKind) -> std::path::PathBuf {
    let s = a.stream(s).expect("stream");
    rf1::track_path(&s.dir, &s.files[i].base, VIDEO_TRACK, kind)
}

#[test]
fn a_bad_segment_is_skipped_without_poisoning_the_stream() {
    // Four files of 1000 s at 1 fps, a keyframe every 4 s; file 1 loses its packets, the last
    // one's index is garbage, and stray names sit beside them.
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 4000, 1, 4);
    let a = Archive::open(dir.path()).expect("open");
    let starts: Vec<i64> = a.streams["s"].files.iter().map(|f| f.start_ms * 1000).collect();
    assert_eq!(starts.len(), 4);
    std::fs::remove_file(track_file(&a, "s", 1, rf1::FileKind::Packets)).expect("rm");
    std::fs::write(track_file(&a, "s", 3, rf1::FileKind::Index), b"this is not an rf1 index").expect("write");
    let sdir = dir.path().join("fsv/s");
    for junk in ["-5_video.rf1i", "-5_video.rf1p", "+17_video.rf1i", "99999999999999999999_video.rf1i"] {
        std::fs::write(sdir.join(junk), b"junk").expect("write");
    }

    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    assert_eq!(s.files.len(), 4, "only <unix_ms>_<track> names count");
    assert_eq!(s.start_us, T0_US, "a stray -5_video.rf1i does not move the start to 1969");
    assert_eq!(s.end_us, starts[3] - 1_000_000, "the end comes from the last readable file");

    // Reads inside good files work; inside the bad files there is no video.
    let (packets, target) = s.gop_at(T0_US + 10_500_000).expect("gop").expect("some");
    assert_eq!(packets[target].time_us, T0_US + 10_000_000);
    assert!(s.gop_at(starts[1] + 5_000_000).expect("gop").is_none(), "no video in the orphaned index's span");
    let (packets, target) = s.gop_at(starts[2] + 6_000_000).expect("gop").expect("some");
    assert_eq!(packets[target].time_us, starts[2] + 6_000_000);
    assert!(s.gop_at(starts[3] + 5_000_000).expect("gop").is_none(), "no video in the corrupt file's span");
    // Index-only lookups skip the bad file; range reads return the good files' packets.
    assert_eq!(s.first_time_after(starts[1] - 1_000_000).expect("next"), Some(starts[2]));
    assert_eq!(s.no_video_after(starts[1] - 1_000_000), Some(starts[1]), "a frame shown before it stops there");
    assert_eq!(s.no_video_after(T0_US), None);
    assert_eq!(s.no_video_after(starts[2] - 1), None, "the next file has video");
    let all = s.read_range(T0_US, starts[3] + 1_000_000_000, false).expect("read");
    assert!(!all.is_empty() && all.iter().all(|p| p.time_us < starts[1] || p.time_us >= starts[2]));
    assert_eq!(s.codec().expect("codec"), rf1::Codec::H264, "the codec comes from a readable file");

    // Opening lists what it worked around; reads list the files they could not read.
    let problem = |name: &str| {
        a.problems.iter().find(|p| p.path.file_name().is_some_and(|n| n == name)).map(|p| p.problem.as_str())
    };
    for junk in ["-5_video.rf1i", "-5_video.rf1p", "+17_video.rf1i", "99999999999999999999_video.rf1i"] {
        assert!(problem(junk).is_some_and(|p| p.contains("ignored")), "{junk}: {:?}", a.problems);
    }
    let name = |i: usize, kind| track_file(&a, "s", i, kind).file_name().map(|n| n.to_string_lossy().into_owned());
    let orphan = name(1, rf1::FileKind::Index).expect("name");
    assert!(problem(&orphan).is_some_and(|p| p.contains("missing")), "{:?}", a.problems);
    let corrupt = name(3, rf1::FileKind::Index).expect("name");
    assert!(problem(&corrupt).is_some(), "{:?}", a.problems);
    assert_eq!(a.problems.len(), 6, "{:?}", a.problems);
    let read: Vec<_> = s.problems().into_iter().map(|p| p.path).collect();
    assert_eq!(
        read,
        vec![track_file(&a, "s", 1, rf1::FileKind::Packets), track_file(&a, "s", 3, rf1::FileKind::Index)]
    );
}

#[test]
fn an_empty_packet_file_is_no_video_not_the_previous_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 2500, 1, 4);
    let a = Archive::open(dir.path()).expect("open");
    let second = a.streams["s"].files[1].start_ms * 1000;
    std::fs::write(track_file(&a, "s", 1, rf1::FileKind::Packets), b"").expect("truncate");
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    assert!(s.gop_at(second + 3_000_000).expect("gop").is_none());
    assert!(s.gop_at(second - 2_000_000).expect("gop").is_some());
}

#[test]
fn stale_partials_of_a_killed_import_are_removed_by_the_next_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sdir = dir.path().join("fsv/s");
    std::fs::create_dir_all(&sdir).expect("mkdir");
    // What a killed writer leaves: pre-allocated partial files nobody holds.
    let base = (T0_US / 1000).to_string();
    let index = sdir.join(format!("{base}_video.rf1i.partial"));
    let packets = sdir.join(format!("{base}_video.rf1p.partial"));
    let mut w = rf1::Writer::create(&index, &packets, rf1::Codec::H264, T0_US, 64, 48).expect("create");
    w.write(&[rf1::NaluIn { pts_ticks: 0, flags: rf1::FLAG_KEY_FRAME, payload: &[0, 0, 1, 0x65, 1] }]).expect("write");
    w.abandon();
    std::fs::write(sdir.join("1600000000000_video.rf1p.partial"), vec![0u8; 4096]).expect("write");
    let problems = Archive::open(dir.path()).expect("open").problems;
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems.iter().all(|p| p.problem.contains("interrupted")), "{problems:?}");

    write_stream(dir.path(), "s", T0_US, 10, 1, 5);
    let left: Vec<String> = std::fs::read_dir(&sdir)
        .expect("dir")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "stale partial files left: {left:?}");
    let a = Archive::open(dir.path()).expect("open");
    assert_eq!(
        a.stream("s").expect("stream").read_range(T0_US, T0_US + 9_000_000, false).expect("read").len(),
        10 + 2 * 2
    );
}

#[test]
fn a_running_import_keeps_its_partials() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut live = StreamWriter::new(dir.path(), "s", rf1::Codec::H264).expect("writer");
    live.set_size(64, 48).expect("size");
    let mut unit = AccessUnit { time_ns: T0_US * 1000, nalus: vec![] };
    unit.push_h264(&[0x65, 0x88]);
    live.write(unit).expect("write");
    live.flush().expect("flush");
    let partials = |dir: &Path| {
        std::fs::read_dir(dir.join("fsv/s"))
            .expect("dir")
            .filter(|e| e.as_ref().expect("e").file_name().to_string_lossy().ends_with(".partial"))
            .count()
    };
    assert_eq!(partials(dir.path()), 2);
    let problems = Archive::open(dir.path()).expect("open").problems;
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().all(|p| p.problem.contains("running")), "{problems:?}");
    // A second import of the stream starting now must leave the live one's files alone …
    let mut other = StreamWriter::new(dir.path(), "s", rf1::Codec::H264).expect("second writer");
    assert_eq!(partials(dir.path()), 2);
    // … and refuse the same file name with a clear error.
    let mut unit = AccessUnit { time_ns: T0_US * 1000, nalus: vec![] };
    unit.push_h264(&[0x65, 0x88]);
    other.write(unit).expect("buffered");
    let err = other.flush().err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("another import"), "{err}");
    drop(other);
    assert_eq!(partials(dir.path()), 2);
    assert_eq!(live.finish().expect("finish").len(), 2);
    assert_eq!(partials(dir.path()), 0);
}

#[test]
fn overlapping_files_show_the_earlier_file_to_its_end_then_the_later_from_a_keyframe() {
    // What cyclops recordings may hold: A with frames at 0 … 15 s (keyframes every 4 s from 0),
    // B at 5 … 24 s (keyframes at 5, 9, 13, 17, 21 s), and C at 2 … 4 s wholly inside A.
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 16, 1, 4);
    write_stream(dir.path(), "s", T0_US + 5_000_000, 20, 1, 4);
    write_stream(dir.path(), "s", T0_US + 2_000_000, 3, 1, 4);
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    assert_eq!(s.files.len(), 3);
    let sec = |k: i64| T0_US + k * 1_000_000;
    let shown =
        |at: i64| s.gop_at(at).expect("gop").map(|(packets, target)| (packets[0].time_us, packets[target].time_us));
    // A's pictures up to its last frame, with their own keyframes.
    assert_eq!(shown(sec(3) + 500_000), Some((sec(0), sec(3))), "C does not hide A");
    assert_eq!(shown(sec(10) + 1000), Some((sec(8), sec(10))), "B does not hide A");
    assert_eq!(shown(sec(15)), Some((sec(12), sec(15))));
    // A's last picture stays until B's first keyframe after it; then B.
    assert_eq!(shown(sec(16) + 900_000), Some((sec(12), sec(15))));
    assert_eq!(shown(sec(17)), Some((sec(17), sec(17))));
    assert_eq!(shown(sec(24) + 5_000_000), Some((sec(21), sec(24))));
    let (packets, _) = s.gop_at(sec(14)).expect("gop").expect("some");
    assert!(packets.iter().all(|p| p.time_us <= sec(15)), "the GOP does not run into B's hidden frames");
    // Index-only lookups follow the same order.
    assert_eq!(s.first_time_after(sec(3)).expect("next"), Some(sec(4)));
    assert_eq!(s.first_time_after(sec(10)).expect("next"), Some(sec(11)));
    assert_eq!(s.first_time_after(sec(15)).expect("next"), Some(sec(17)));
    assert_eq!(s.no_video_after(sec(15)), None);
    // Range reads: each time once, always forward.
    let times = |from: i64, to: i64| {
        let mut t: Vec<i64> = s.read_range(from, to, true).expect("read").iter().map(|p| p.time_us).collect();
        t.dedup();
        t
    };
    let expected: Vec<i64> = (0..16).chain(17..25).map(sec).collect();
    assert_eq!(times(sec(0), sec(30)), expected);
    assert_eq!(times(sec(14), sec(18)), [12, 13, 14, 15, 17, 18].map(sec));
    assert_eq!(times(sec(16), sec(18)), [17, 18].map(sec));
    assert_eq!(times(sec(10), sec(10) + 400_000), [8, 9, 10].map(sec));
    assert_eq!(s.end_us, sec(24));
}

#[test]
fn overlapping_file_finds_a_file_sharing_time_with_an_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 16, 1, 4);
    let sdir = dir.path().join("fsv/s");
    let sec = |k: i64| T0_US + k * 1_000_000;
    let found = |from: i64, to: i64| super::archive::overlapping_file(&sdir, from, to).expect("list");
    let index = rf1::track_path(&sdir, &(T0_US / 1000).to_string(), VIDEO_TRACK, rf1::FileKind::Index);
    for (from, to) in [(sec(-10), sec(0)), (sec(5), sec(5)), (sec(15), sec(40)), (sec(-1), sec(99))] {
        assert_eq!(found(from, to), Some((index.clone(), sec(0), sec(15))), "{from}..{to}");
    }
    for (from, to) in [(sec(-10), sec(0) - 1), (sec(15) + 1, sec(40)), (sec(2000), sec(2001))] {
        assert_eq!(found(from, to), None, "{from}..{to}");
    }
    assert_eq!(super::archive::overlapping_file(&dir.path().join("fsv/none"), sec(0), sec(1)).expect("list"), None);
}

#[test]
fn a_writer_that_publishes_nothing_removes_the_directories_it_made() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("new");
    std::fs::create_dir(&root).expect("mkdir");
    drop(StreamWriter::new(&root, "s", rf1::Codec::H264).expect("writer"));
    assert!(!root.join("fsv").exists(), "fsv/ of a new archive is removed");
    write_stream(&root, "s", T0_US, 2, 1, 4);
    let mut w = StreamWriter::new(&root, "t", rf1::Codec::H264).expect("writer");
    w.set_size(64, 48).expect("size");
    let mut unit = AccessUnit { time_ns: T0_US * 1000, nalus: vec![] };
    unit.push_h264(&[0x65, 0x88]);
    w.write(unit).expect("write");
    w.flush().expect("flush");
    assert!(root.join("fsv/t").read_dir().expect("dir").count() == 2, "partials written");
    drop(w); // a writer dropped without `finish` removes what it created
    assert!(!root.join("fsv/t").exists(), "the new stream's directory is removed with its partials");
    assert_eq!(Archive::open(&root).expect("open").streams["s"].files.len(), 1, "the other stream stays");
}

#[test]
fn an_archive_with_events_and_no_video_yet_has_no_streams() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Archive::open(dir.path()).expect_err("an empty folder is no archive").to_string();
    assert!(err.contains("not an fsv archive"), "{err}");
    std::fs::write(dir.path().join(crate::db::DB_FILE), b"").expect("db file");
    let a = Archive::open(dir.path()).expect("events only");
    assert!(a.streams.is_empty() && a.problems.is_empty(), "{a:?}");
}

/// Keyframe access units from the index alone: each keyframe's time and its entries, the
/// parameter sets sharing its time included, matching what `gop_at` reads from there.
#[test]
fn key_units_are_the_keyframe_access_units() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_stream(dir.path(), "s", T0_US, 10, 2, 4); // a keyframe every 2 s
    let a = Archive::open(dir.path()).expect("open");
    let s = a.stream("s").expect("stream");
    let (track, units) = s.key_units(0).expect("reads");
    let times: Vec<i64> = units.iter().map(|u| u.time_us).collect();
    assert_eq!(times, (0..5).map(|k| T0_US + k * 2_000_000).collect::<Vec<_>>());
    for unit in &units {
        let packets = track.read_packets(unit.entries.clone()).expect("payloads");
        let types: Vec<u8> = packets.iter().map(|p| crate::codec::strip_start_code(&p.data)[0] & 0x1f).collect();
        assert_eq!(types, [7, 8, 5], "SPS, PPS and the IDR slice of the keyframe at {}", unit.time_us);
        let (gop, _) = s.gop_at(unit.time_us).expect("read").expect("gop");
        assert_eq!(gop[0].packet.data, packets[0].data, "the GOP starts where the unit does");
    }
}
