//! Tile micro-benchmarks (numbers in BENCHMARKS.md; end-to-end figures on demo data come from
//! `tessera bench tiles`): marking tracks into tiles, OR-merge, blob codec, requests.

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use tessera_storage::EventDb;
use tessera_storage::events::NewEvent;
use tessera_storage::tiles::{Tile, TileKey, TileMarks, codec};

const T0: i64 = 1_700_000_000;

/// A bursty track list: ~1000 tracks a day, 2–60 s each, three classes.
fn tracks(n: usize) -> Vec<(u32, u32, i64, i64)> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut t = T0;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += (x % 170) as i64;
            (1 + (x >> 20) as u32 % 8, 100 + (x >> 30) as u32 % 3, t, t + 2 + (x >> 40) as i64 % 58)
        })
        .collect()
}

fn marks(c: &mut Criterion) {
    let tracks = tracks(100_000);
    let mut group = c.benchmark_group("tile_marks");
    group.throughput(Throughput::Elements(tracks.len() as u64));
    group.bench_function("mark_100k_tracks_all_levels", |b| {
        b.iter(|| {
            let mut marks = TileMarks::new();
            for &(camera, class, first, last) in &tracks {
                marks.mark(camera, class, first, last, i64::MAX);
            }
            black_box(marks.take())
        })
    });
    group.finish();
}

fn merge_and_codec(c: &mut Criterion) {
    let mut a = Tile::new();
    let mut b = Tile::new();
    for (i, &(_, class, first, _)) in tracks(400).iter().enumerate() {
        let bit = (first - T0) as usize % 1000;
        if i % 2 == 0 { a.set_bits(class, bit, bit + 20) } else { b.set_bits(class, bit, bit + 20) }
    }
    c.bench_function("tile_or_merge", |bench| bench.iter(|| black_box(Tile::merge(Some(&a), Some(&b)))));
    let blob = codec::encode_tile(&a);
    c.bench_function("tile_encode_v1", |bench| bench.iter(|| black_box(codec::encode_tile(&a))));
    c.bench_function("tile_decode_v1", |bench| bench.iter(|| black_box(codec::decode_tile(&blob).unwrap())));
}

fn requests(c: &mut Criterion) {
    let db = EventDb::open_in_memory().unwrap();
    let events: Vec<NewEvent> = tracks(30_000)
        .into_iter()
        .map(|(cam, class, first, last)| NewEvent {
            camera: format!("cam-{cam}"),
            class: format!("class-{class}"),
            first_ms: first * 1000,
            last_ms: last * 1000,
            confidence: None,
            boxes: vec![],
        })
        .collect();
    let now = events.iter().map(|e| e.last_ms / 1000).max().unwrap() + 3600;
    db.insert_events(&events, now).unwrap();
    let svc = db.tile_service();
    let cam = db.string_id("cam-1").unwrap();
    let key = TileKey::containing(8, T0 + 86_400);
    c.bench_function("tile_get_warm_persisted_l8", |b| b.iter(|| black_box(svc.get(cam, key, now).unwrap())));
    let live_key = TileKey::containing(20, now - 1);
    c.bench_function("tile_get_synthesized_l20_at_now", |b| b.iter(|| black_box(svc.get(cam, live_key, now).unwrap())));
}

criterion_group!(benches, marks, merge_and_codec, requests);
criterion_main!(benches);
