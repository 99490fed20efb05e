//! One test per rule of the rf1 format doc: layout, clean close, crash recovery, truncation
//! repair, reading by time. Fixtures are written by our writer *and* built byte by byte.

use super::*;
use proptest::prelude::*;
use std::path::Path;

/// Hand-built index: header then raw words (independent of `Header::encode` and `pack`).
fn index_bytes(count: u16, time_base_us: u64, width: u16, height: u16, words: &[u64]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(b"rf1vh264");
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&time_base_us.to_le_bytes());
    b.extend_from_slice(&count.to_le_bytes());
    b.extend_from_slice(&width.to_le_bytes());
    b.extend_from_slice(&height.to_le_bytes());
    b.extend_from_slice(&[0; 2]);
    for w in words {
        b.extend_from_slice(&w.to_le_bytes());
    }
    b
}

fn word(pts: u64, loc: u64, flags: u64) -> u64 {
    pts << 42 | loc << 12 | flags
}

/// An access unit: PTS in ticks and its NALUs as (flags, stored payload).
type Unit = (i64, Vec<(u16, Vec<u8>)>);

/// A GOP-structured stream: every `gop`-th access unit is SPS+PPS+IDR, others one P slice.
fn sample_units(n: usize, gop: usize) -> Vec<Unit> {
    (0..n)
        .map(|k| {
            let pts = (k as i64) * 4096 / 10; // 10 fps
            let body = |t: u8, len: usize| {
                let mut p = vec![0, 0, 1, t];
                p.extend((0..len).map(|i| (i * 7 + k) as u8 | 1));
                p
            };
            let nalus = if k % gop == 0 {
                vec![(6, body(0x67, 8)), (6, body(0x68, 3)), (5, body(0x65, 200 + k))]
            } else {
                vec![(4, body(0x41, 30 + k % 50))]
            };
            (pts, nalus)
        })
        .collect()
}

fn write_track(dir: &Path, units: &[Unit], close: bool) -> (PathBuf, PathBuf) {
    let (ip, pp) = (dir.join("1700000000000_video.rf1i"), dir.join("1700000000000_video.rf1p"));
    let mut w = Writer::create(&ip, &pp, Codec::H264, 1_700_000_000_000_000, 640, 360).expect("create");
    // Two batches, like a flush in the middle of recording.
    let half = units.len() / 2;
    for batch in [&units[..half], &units[half..]] {
        let nalus: Vec<NaluIn<'_>> = batch
            .iter()
            .flat_map(|(pts, ns)| ns.iter().map(move |(f, p)| NaluIn { pts_ticks: *pts, flags: *f, payload: p }))
            .collect();
        w.write(&nalus).expect("write");
    }
    if close {
        w.close().expect("close")
    } else {
        w.abandon()
    }
    (ip, pp)
}

fn expected_bytes(units: &[Unit]) -> (Vec<u8>, Vec<u8>) {
    let mut words = Vec::new();
    let mut packets = Vec::new();
    for (pts, nalus) in units {
        for (flags, payload) in nalus {
            words.push(word(*pts as u64, packets.len() as u64, u64::from(*flags)));
            packets.extend_from_slice(payload);
        }
    }
    words.push(word(0, packets.len() as u64, 0));
    (index_bytes((words.len() - 1) as u16, 1_700_000_000_000_000, 640, 360, &words), packets)
}

#[test]
fn clean_close_is_byte_identical_to_the_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let units = sample_units(95, 20);
    let (ip, pp) = write_track(dir.path(), &units, true);
    let (index, packets) = expected_bytes(&units);
    assert_eq!(std::fs::read(&ip).expect("read"), index);
    assert_eq!(std::fs::read(&pp).expect("read"), packets);
    let t = Track::open_index(&ip).expect("open");
    assert!(!t.recovered);
    assert_eq!(t.entries.len(), units.iter().map(|u| u.1.len()).sum::<usize>());
    assert_eq!(t.packet_bytes, packets.len() as u64);
    let all = t.read_packets(0..t.entries.len()).expect("read");
    let flat: Vec<&Vec<u8>> = units.iter().flat_map(|u| u.1.iter().map(|(_, p)| p)).collect();
    assert_eq!(all.iter().map(|p| &p.data).collect::<Vec<_>>(), flat);
}

#[test]
fn crashed_track_recovers_every_written_entry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let units = sample_units(60, 20);
    let (ip, pp) = write_track(dir.path(), &units, false);
    // Zero count, index pre-allocated to 65536 slots, packets pre-allocated to 16 MiB.
    assert_eq!(std::fs::metadata(&ip).expect("meta").len(), 32 + 65536 * 8);
    assert_eq!(std::fs::metadata(&pp).expect("meta").len(), 16 << 20);
    let (_, packets) = expected_bytes(&units);
    // Trailing garbage and an unindexed payload past the sentinel are ignored.
    let f = std::fs::OpenOptions::new().write(true).open(&pp).expect("open");
    std::os::unix::fs::FileExt::write_all_at(&f, b"\x00\x00\x01\x41unindexed garbage", packets.len() as u64)
        .expect("write");
    let t = Track::open_index(&ip).expect("open");
    assert!(t.recovered);
    assert_eq!(t.header.index_count, 0);
    assert_eq!(t.dropped_entries, 0);
    assert_eq!(t.entries.len(), units.iter().map(|u| u.1.len()).sum::<usize>());
    assert_eq!(t.packet_bytes, packets.len() as u64);
    assert_eq!(t.duration_ticks() as i64, units.last().map(|u| u.0).unwrap_or(0));
}

#[test]
fn truncated_packets_drop_the_incomplete_access_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let units = sample_units(41, 20); // unit 40 is a keyframe: SPS PPS IDR
    let (ip, pp) = write_track(dir.path(), &units, true);
    let t = Track::open_index(&ip).expect("open");
    let idr = t.entries[t.entries.len() - 1];
    assert!(idr.is_key_frame());
    // Cut the IDR's payload in half: the IDR goes, and so do the SPS/PPS sharing its PTS.
    let f = std::fs::OpenOptions::new().write(true).open(&pp).expect("open");
    f.set_len(u64::from(idr.location) + u64::from(idr.length) / 2).expect("truncate");
    let r = Track::open_index(&ip).expect("open");
    assert_eq!(r.dropped_entries, 3);
    assert_eq!(r.entries[..], t.entries[..t.entries.len() - 3]);
    assert_eq!(r.packet_bytes, r.entries.last().map_or(0, Entry::end));
    assert!(r.packet_bytes <= u64::from(idr.location));
    // A cut exactly at an entry boundary drops only what is missing.
    let last_p = t.entries[t.entries.len() - 4];
    f.set_len(last_p.end()).expect("truncate");
    assert_eq!(Track::open_index(&ip).expect("open").dropped_entries, 3);
    f.set_len(0).expect("truncate");
    let empty = Track::open_index(&ip).expect("open");
    assert_eq!((empty.entries.len(), empty.dropped_entries, empty.packet_bytes), (0, t.entries.len(), 0));
}

#[test]
fn zero_first_entry_is_legal_in_a_scan() {
    // Slot 0 = (pts 0, loc 0, flags 0), slot 1 = an entry, slot 2 = sentinel, then zeros.
    let words = [0, word(10, 5, 4), word(0, 9, 0), 0, 0, 0];
    let parsed = Track::parse_index(&index_bytes(0, 1, 2, 2, &words), 9, Path::new("x.rf1i")).expect("parse");
    assert!(parsed.recovered);
    assert_eq!(
        parsed.entries,
        vec![
            Entry { pts_ticks: 0, location: 0, length: 5, flags: 0 },
            Entry { pts_ticks: 10, location: 5, length: 4, flags: 4 }
        ]
    );
    // All zero: empty track. Non-zero slots after the zero gap are ignored.
    let words = [word(0, 0, 6), word(0, 7, 0), 0, word(99, 99, 4)];
    let parsed = Track::parse_index(&index_bytes(0, 1, 2, 2, &words), 100, Path::new("x.rf1i")).expect("parse");
    assert_eq!(parsed.entries.len(), 1);
    let parsed = Track::parse_index(&index_bytes(0, 1, 2, 2, &[0; 4]), 100, Path::new("x.rf1i")).expect("parse");
    assert!(parsed.entries.is_empty());
}

#[test]
fn corrupt_indexes_are_errors_naming_the_file() {
    let p = Path::new("/a/cam_1/123_video.rf1i");
    let decreasing = [word(0, 100, 4), word(1, 50, 4), word(0, 200, 0)];
    let err = Track::parse_index(&index_bytes(2, 1, 2, 2, &decreasing), 200, p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("123_video.rf1i") && err.contains("location"), "{err}");
    let backwards = [word(5, 0, 4), word(1, 50, 4), word(0, 200, 0)];
    let err = Track::parse_index(&index_bytes(2, 1, 2, 2, &backwards), 200, p)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("pts"), "{err}");
    let short = Track::parse_index(&index_bytes(9, 1, 2, 2, &[word(0, 0, 4)]), 0, p);
    assert!(short.is_err());
}

#[test]
fn read_at_time_seeks_back_to_keyframe_with_parameter_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let units = sample_units(50, 20);
    let (ip, _) = write_track(dir.path(), &units, true);
    let t = Track::open_index(&ip).expect("open");
    // Unit 25 (P) seeks back to unit 20's SPS.
    let start = units[25].0;
    let (range, key) = t.range_at_time(start, units[27].0, true);
    assert!(key);
    let first = t.entries[range.start];
    assert_eq!(first.pts_ticks as i64, units[20].0);
    assert!(first.is_essential_meta());
    assert_eq!(t.entries[range.end - 1].pts_ticks as i64, units[27].0, "end bound is inclusive");
    // Starting on a keyframe unit (its SPS and PPS come before its IDR): it starts there.
    let (range, key) = t.range_at_time(units[20].0, units[22].0, true);
    assert!(key);
    assert_eq!(t.entries[range.start].pts_ticks as i64, units[20].0);
    assert!(t.entries[range.start].is_essential_meta());
    // Without seeking: exactly the entries in [start, end].
    let (plain, _) = t.range_at_time(start, start, false);
    assert_eq!(plain.len(), 1);
    // Before any keyframe would be entry 0; past the end is empty.
    assert_eq!(t.range_at_time(i64::MAX / 2, i64::MAX / 2, true).0.len(), 0);
}

#[test]
fn writer_rejects_decreasing_pts_and_overflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ip, pp) = (dir.path().join("1_video.rf1i"), dir.path().join("1_video.rf1p"));
    let mut w = Writer::create(&ip, &pp, Codec::H264, 0, 2, 2).expect("create");
    w.write(&[NaluIn { pts_ticks: 10, flags: 4, payload: b"\0\0\x01\x41" }]).expect("write");
    assert!(w.write(&[NaluIn { pts_ticks: 9, flags: 4, payload: b"\0\0\x01\x41" }]).is_err());
    assert!(w.write(&[NaluIn { pts_ticks: 1 << 22, flags: 4, payload: b"x" }]).is_err());
    assert!(Writer::create(&ip, &pp, Codec::H264, 0, 2, 2).is_err(), "never overwrites");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic the parser, and every accepted index is self-consistent.
    #[test]
    fn parser_never_panics(count in any::<u16>(), words in prop::collection::vec(any::<u64>(), 0..64), tail in 0usize..8, packets_len in any::<u32>()) {
        let mut bytes = index_bytes(count % 70, 1, 2, 2, &words);
        bytes.extend(std::iter::repeat_n(0xAB, tail));
        if let Ok(p) = Track::parse_index(&bytes, u64::from(packets_len), Path::new("fuzz.rf1i")) {
            prop_assert!(p.packet_bytes <= u64::from(packets_len));
            for pair in p.entries.windows(2) {
                prop_assert!(pair[0].pts_ticks <= pair[1].pts_ticks);
                prop_assert_eq!(pair[0].end(), u64::from(pair[1].location));
            }
        }
    }

    /// Model check: write, crash, truncate anywhere; the parser keeps exactly the complete
    /// access units that fit.
    #[test]
    fn recovery_matches_model(n in 1usize..80, gop in 1usize..12, close in any::<bool>(), cut in 0.0f64..1.2) {
        let dir = tempfile::tempdir().expect("tempdir");
        let units = sample_units(n, gop);
        let (ip, pp) = write_track(dir.path(), &units, close);
        let total: u64 = units.iter().flat_map(|u| u.1.iter()).map(|(_, p)| p.len() as u64).sum();
        let len = ((total as f64) * cut) as u64;
        std::fs::OpenOptions::new().write(true).open(&pp).expect("open").set_len(len).expect("cut");
        let t = Track::open_index(&ip).expect("open");
        // Model: whole access units whose every payload ends within `len`; if a unit is cut,
        // it and all after it are gone.
        let mut kept = 0usize;
        let mut end = 0u64;
        for (_, nalus) in &units {
            let unit_end = end + nalus.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
            if unit_end > len { break; }
            kept += nalus.len();
            end = unit_end;
        }
        // A unit whose leading NALUs fit but whose tail is cut is dropped whole.
        prop_assert_eq!(t.entries.len(), kept);
        prop_assert_eq!(t.packet_bytes, end);
        prop_assert_eq!(t.recovered, !close);
    }
}
