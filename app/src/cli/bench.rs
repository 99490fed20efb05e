//! `tessera bench …`: end-to-end figures on demo-density data (numbers in BENCHMARKS.md).

use clap::Subcommand;
use serde::Serialize;
use std::time::Instant;
use tessera_storage::UnixMicros;
use tessera_storage::events::EventDb;
use tessera_storage::tiles::{L_MAX, LiveTiler, TileKey, TileService, codec, service};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Tiles: live-tiler ingest rate, rebuild time, request latency, blob sizes.
    Tiles {
        /// Days of demo-density events per camera.
        #[arg(long, default_value_t = 365.0)]
        days: f64,
        #[arg(long, default_value_t = 8)]
        cameras: usize,
        /// Tile requests to time (warm and cold each).
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize, Debug)]
struct TilesReport {
    cameras: usize,
    days: f64,
    events: usize,
    ingest_events_per_s: f64,
    live_tracks_per_s: f64,
    rebuild_s: f64,
    tiles: usize,
    blob_bytes_mean: f64,
    blob_bytes_p99: usize,
    roaring_bytes_mean: f64,
    warm_ms_p50: f64,
    warm_ms_p99: f64,
    cold_ms_p50: f64,
    cold_ms_p99: f64,
}

pub fn run(command: BenchCommand) -> anyhow::Result<()> {
    let BenchCommand::Tiles { days, cameras, requests, json } = command;
    let report = bench_tiles(days, cameras, requests)?;
    if json {
        return crate::cli::print_json(&report);
    }
    println!("{report:#?}");
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

fn bench_tiles(days: f64, cameras: usize, requests: usize) -> anyhow::Result<TilesReport> {
    let now_s = UnixMicros::now().secs_floor();
    let end_us = now_s * 1_000_000;
    let from_us = end_us - (days * 86_400e6) as i64;
    let events: Vec<_> = (1..=cameras).flat_map(|c| crate::demo::demo_events(c, from_us, end_us)).collect();
    let dir = tempfile::tempdir()?;
    let db = EventDb::open(dir.path())?;
    let started = Instant::now();
    db.insert_events(&events, now_s)?;
    let ingest_s = started.elapsed().as_secs_f64();

    // Live tiler: every track into every level, in memory.
    let ids: Vec<(u32, u32, i64, i64)> = events
        .iter()
        .map(|e| {
            Ok((db.intern(&e.camera)?, db.intern(&e.class)?, e.first_ms.div_euclid(1000), e.last_ms.div_euclid(1000)))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut live = LiveTiler::new();
    let started = Instant::now();
    for (i, &(camera, class, first, last)) in ids.iter().enumerate() {
        live.observe(camera, class, first, last);
        if i % 4096 == 0 {
            live.take_settled(first - 10); // what the app does as time passes
        }
    }
    let live_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let rebuilt = service::rebuild_all(&db, now_s)?;
    let rebuild_s = started.elapsed().as_secs_f64();

    let mut sizes = Vec::new();
    let mut roaring = Vec::new();
    for (id, _) in db.cameras()? {
        for (_, _, blob) in db.stored_tiles(id)? {
            roaring.push(codec::roaring_size(&codec::decode_tile(&blob)?) as f64);
            sizes.push(blob.len());
        }
    }
    sizes.sort_unstable();

    // Requests: random levels and times within the data, each asked twice (cold, then warm).
    let svc = TileService::new(&db, now_s);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    for _ in 0..requests {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = (x % (u64::from(L_MAX) + 1)) as u8;
        let t = from_us / 1_000_000 + ((x >> 8) % ((days * 86_400.0) as u64).max(1)) as i64;
        let camera = format!("cam-{}", 1 + (x >> 40) as usize % cameras);
        let key = TileKey::containing(level, t);
        // Cold: drop a persisted tile so it must be synthesized from its (persisted) children.
        if let (Some(id), Some((l, r))) = (db.string_id(&camera)?, key.children())
            && db.load_tile(id, l)?.is_some() | db.load_tile(id, r)?.is_some()
        {
            db.store_tile(id, key, &Default::default())?;
            db.set_tiles_built_until_for_bench(id, None)?;
        }
        let started = Instant::now();
        svc.get(&camera, key, now_s)?;
        cold.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        svc.get(&camera, key, now_s)?;
        warm.push(started.elapsed().as_secs_f64() * 1e3);
    }
    warm.sort_by(f64::total_cmp);
    cold.sort_by(f64::total_cmp);
    Ok(TilesReport {
        cameras,
        days,
        events: events.len(),
        ingest_events_per_s: events.len() as f64 / ingest_s,
        live_tracks_per_s: events.len() as f64 / live_s,
        rebuild_s,
        tiles: rebuilt.iter().map(|c| c.1).sum(),
        blob_bytes_mean: sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64,
        blob_bytes_p99: sizes.get((sizes.len() as f64 * 0.99) as usize).copied().unwrap_or(0),
        roaring_bytes_mean: roaring.iter().sum::<f64>() / roaring.len().max(1) as f64,
        warm_ms_p50: percentile(&warm, 0.5),
        warm_ms_p99: percentile(&warm, 0.99),
        cold_ms_p50: percentile(&cold, 0.5),
        cold_ms_p99: percentile(&cold, 0.99),
    })
}
