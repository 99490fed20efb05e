//! Archive benchmarks (numbers in BENCHMARKS.md):
//! - opening an archive of 300 h × 8 streams (8,640 logical files) — target ≤ 200 ms;
//! - recovering a crashed 65,535-slot index — target ≤ 5 ms;
//! - importing Annex-B H.264 — target ≥ 200 MB/s.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;
use tessera_storage::fsv::{AccessUnit, Archive, FrameRate, StreamWriter, import_h264};
use tessera_storage::rf1::{Codec, NaluIn, Track, Writer};

const T0_US: i64 = 1_700_000_000_000_000;

/// `hours` of 1000-s files per stream, with tiny payloads (opening never reads payloads).
fn build_archive(root: &Path, streams: usize, hours: i64) {
    for s in 0..streams {
        let mut w = StreamWriter::new(root, &format!("cam-{s}-HD"), Codec::H264).unwrap();
        w.set_size(64, 48).unwrap();
        // One access unit every 20 s, a new file every 1000 s (as the demo does).
        for k in 0..hours * 3600 / 20 {
            if k > 0 && k % 50 == 0 {
                w.roll_over().unwrap();
            }
            let mut unit = AccessUnit { time_ns: T0_US * 1000 + k * 20_000_000_000, nalus: vec![] };
            unit.push_h264(&[0x65, 0x88]);
            w.write(unit).unwrap();
        }
        w.finish().unwrap();
    }
}

fn open_archive(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    build_archive(dir.path(), 8, 300);
    let a = Archive::open(dir.path()).unwrap();
    let files: usize = a.streams.values().map(|s| s.files.len()).sum();
    assert!(files >= 8 * 1080, "{files} files");
    c.bench_function("archive_open_300h_x8_streams", |b| b.iter(|| black_box(Archive::open(dir.path()).unwrap())));
}

fn crash_recovery(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (ip, pp) = (dir.path().join("1_video.rf1i"), dir.path().join("1_video.rf1p"));
    let mut w = Writer::create(&ip, &pp, Codec::H264, T0_US, 64, 48).unwrap();
    let payload = [0u8, 0, 1, 0x41, 0x9a, 0x10];
    let nalus: Vec<NaluIn<'_>> =
        (0..65_533).map(|i| NaluIn { pts_ticks: i64::from(i) * 64, flags: 4, payload: &payload }).collect();
    w.write(&nalus).unwrap();
    w.abandon(); // crashed: count 0, 65,536 pre-allocated slots to scan
    let index = std::fs::read(&ip).unwrap();
    let packets_len = std::fs::metadata(&pp).unwrap().len();
    assert_eq!(Track::parse_index(&index, packets_len, &ip).unwrap().entries.len(), 65_533);
    c.bench_function("rf1_recover_65535_slots_parse", |b| {
        b.iter(|| black_box(Track::parse_index(&index, packets_len, &ip).unwrap()))
    });
    c.bench_function("rf1_recover_65535_slots_open", |b| b.iter(|| black_box(Track::open_index(&ip).unwrap())));
}

/// A synthetic Annex-B stream: real SPS, then 1 IDR + 29 P slices per second of random-ish
/// payloads without start-code emulation. Import cost does not depend on slice contents.
fn synthetic_h264(bytes: usize) -> Vec<u8> {
    const SPS: [u8; 23] = [
        0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40, 0x00, 0x00, 0x03, 0x00, 0x40, 0x00, 0x00,
        0x0c, 0x83, 0xc6, 0x0c, 0xa8,
    ];
    let mut out = Vec::with_capacity(bytes + 100_000);
    let mut x = 0x1234_5678u32;
    let mut k = 0;
    while out.len() < bytes {
        let key = k % 30 == 0;
        if key {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&SPS);
            out.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        }
        out.extend_from_slice(&[0, 0, 0, 1, if key { 0x65 } else { 0x41 }, 0x88]);
        let len = if key { 60_000 } else { 12_000 };
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            out.push((x as u8) | 0x10);
        }
        k += 1;
    }
    out
}

fn import(c: &mut Criterion) {
    let input = synthetic_h264(64 << 20);
    let mut group = c.benchmark_group("import");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.sample_size(10);
    group.bench_function("import_h264_64MiB", |b| {
        b.iter_with_setup(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let fps = FrameRate::parse("30").unwrap();
                black_box(import_h264(dir.path(), "s", T0_US, fps, &mut &input[..], Path::new("in.h264")).unwrap());
                dir
            },
        )
    });
    group.finish();
}

criterion_group!(benches, open_archive, crash_recovery, import);
criterion_main!(benches);
