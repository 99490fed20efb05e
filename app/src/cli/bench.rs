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
    /// Playback: decode rate per backend beside `ffmpeg -threads 1`, seeks, steps back and
    /// scrubbing through the player thread.
    Playback {
        #[arg(long)]
        archive: std::path::PathBuf,
        #[arg(long)]
        stream: String,
        #[arg(long, default_value_t = 60)]
        seeks: usize,
        #[arg(long)]
        json: bool,
    },
    /// Write an archive with one 1080p stream (`hd`): x264 High, 25 fps, 2 s GOP, B-frames,
    /// 4 Mbit/s, detailed moving content from the FFmpeg CLI (or `--from FILE.h264`).
    MakeHd {
        #[arg(long)]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 60)]
        seconds: u32,
        /// Import this Annex-B H.264 file (at 25 fps) instead of encoding one.
        #[arg(long)]
        from: Option<std::path::PathBuf>,
    },
    /// Timeline: scripted zoom sweep 1 min → 10 years → 1 min, 8 strips, 2000 px, offscreen.
    Timeline {
        #[arg(long)]
        archive: std::path::PathBuf,
        #[arg(long, default_value_t = 600)]
        frames: usize,
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
    match command {
        BenchCommand::Tiles { days, cameras, requests, json } => report(&bench_tiles(days, cameras, requests)?, json),
        BenchCommand::Playback { archive, stream, seeks, json } => {
            report(&super::bench_playback::bench_playback(&archive, &stream, seeks.max(20))?, json)
        }
        BenchCommand::MakeHd { dir, seconds, from } => super::bench_playback::make_hd(&dir, seconds.max(20), from),
        BenchCommand::Timeline { archive, frames, json } => report(&bench_timeline(&archive, frames.max(2))?, json),
    }
}

fn report(value: &(impl Serialize + std::fmt::Debug), json: bool) -> anyhow::Result<()> {
    if json {
        return crate::cli::print_json(value);
    }
    println!("{value:#?}");
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

#[derive(Serialize, Debug)]
struct TimelineReport {
    frames: usize,
    cpu_ms_p50: f64,
    cpu_ms_p99: f64,
    gpu_upload_bytes_p99: u64,
    tiles_fetched: u64,
    /// Frames per second including the software renderer's GPU time (2000 × strips height).
    fps_with_gpu: f64,
    /// Frames that needed no new tile, and the most heap allocations the planning thread
    /// made in any of them (taking in replies + planning; the counting allocator is the
    /// binary's, counted per thread).
    steady_frames: usize,
    steady_plan_allocations_max: u64,
    steady_frames_allocating: usize,
    /// CPU + submit + waiting for the software renderer to finish the frame.
    frame_with_gpu_ms_p50: f64,
    frame_with_gpu_ms_p99: f64,
    strips: usize,
    height_px: u32,
    adapter: String,
}

/// Scripted sweep: 1 min → 10 years → 1 min, anchored at the newest data, 8 strips, 2000 px,
/// offscreen; tiles arrive from the tile-feed thread as in the app.
fn bench_timeline(archive: &std::path::Path, frames: usize) -> anyhow::Result<TimelineReport> {
    use crate::engine::tile_feed::TileFeed;
    use crate::timeline::{StripArea, TimeView, TimelineModel};
    use tessera_render::offscreen::{self, Headless, Target};
    use tessera_render::timeline::TimelineRenderer;

    let db = EventDb::open(archive)?;
    let mut cameras: Vec<String> = db.cameras()?.into_iter().map(|c| c.1).collect();
    let end_us = db
        .cameras()?
        .iter()
        .filter_map(|(id, _)| db.event_bounds(*id).ok().flatten())
        .map(|(_, last)| last * 1000)
        .max()
        .unwrap_or_else(|| UnixMicros::now().0);
    drop(db);
    if cameras.is_empty() {
        anyhow::bail!("{}: no events to draw (run `tessera demo` or `events ingest` first)", archive.display());
    }
    // Eight strips: the archive's cameras, repeated when it has fewer (each strip is its own
    // atlas source, so the load is that of eight cameras).
    let base = cameras.clone();
    while cameras.len() < 8 {
        cameras.push(base[cameras.len() % base.len()].clone());
    }
    cameras.truncate(8);
    let mut model = TimelineModel::new(TileFeed::start(archive.to_owned(), cameras.clone()));
    let hidden = std::collections::BTreeSet::<String>::new();
    while model.cameras.is_empty() && model.wait(std::time::Duration::from_secs(5)) {}
    // The GUI panel's layout at 2000 px: a label above each strip, video and a gap below.
    let area =
        StripArea { x0: 0.0, y0: 0.0, width: 2000.0, row_height: 12.0, row_pitch: 15.0, header: 16.0, footer: 13.0 };
    let gpu = Headless::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut renderer = TimelineRenderer::new(&gpu.device, offscreen::TARGET_FORMAT, 2048, 16);
    let rows: usize = model.cameras.iter().map(|c| c.rows.len()).sum();
    let height = ((rows as f32 * area.row_pitch + 8.0 * (area.header + area.footer)) as u32).max(600);
    let target = Target::new(&gpu.device, 2000, height);

    let (min_span, max_span): (f64, f64) = (60e6, 10.0 * 365.25 * 86_400e6);
    let half = frames / 2;
    let mut cpu = Vec::with_capacity(frames);
    let mut uploads = Vec::with_capacity(frames);
    let mut frame_total = Vec::with_capacity(frames);
    let mut steady_allocations = Vec::with_capacity(frames);
    let started = Instant::now();
    for f in 0..frames {
        let k = if f <= half { f as f64 / half as f64 } else { (frames - f) as f64 / (frames - half) as f64 };
        let span = (min_span * (max_span / min_span).powf(k)) as i64;
        let view = TimeView { start_us: end_us - span * 9 / 10, span_us: span };
        // CPU: what the UI thread does for the timeline each frame — take in tiles, plan,
        // upload, write uniforms, record the pass. The submit is timed apart: on the software
        // renderer it is where the rasterising (the "GPU") happens.
        let frame_start = Instant::now();
        let allocs_before = crate::alloc_count::allocations();
        model.poll();
        // The panel's call, with its legend filter (nothing hidden).
        let plans = model.plans(&view, area, end_us, &|r| !hidden.contains(&r.class));
        let plan_allocations = crate::alloc_count::allocations() - allocs_before;

        let commands = offscreen::encode(&gpu, &mut renderer, &target, plans, [20, 20, 22]);
        cpu.push(frame_start.elapsed().as_secs_f64() * 1e3);
        uploads.push(renderer.atlas.uploaded_bytes);
        // Steady state: every tile this view needed was already here.
        if model.missing_last_frame == 0 && model.pending() == 0 && f > 0 {
            steady_allocations.push(plan_allocations);
        }
        gpu.queue.submit([commands]);
        // Let the GPU finish this frame before the next (outside the CPU measurement).
        let _ = gpu.device.poll(tessera_render::wgpu::PollType::wait_indefinitely());
        frame_total.push(frame_start.elapsed().as_secs_f64() * 1e3);
    }
    frame_total.sort_by(f64::total_cmp);
    let total_s = started.elapsed().as_secs_f64();
    if let Some(e) = model.errors.first() {
        anyhow::bail!("tile feed: {e}");
    }
    cpu.sort_by(f64::total_cmp);
    uploads.sort_unstable();
    Ok(TimelineReport {
        frames,
        cpu_ms_p50: percentile(&cpu, 0.5),
        cpu_ms_p99: percentile(&cpu, 0.99),
        gpu_upload_bytes_p99: uploads.get(((uploads.len() as f64 - 1.0) * 0.99).round() as usize).copied().unwrap_or(0),
        tiles_fetched: model.tiles_fetched,
        fps_with_gpu: frames as f64 / total_s,
        steady_frames: steady_allocations.len(),
        steady_plan_allocations_max: steady_allocations.iter().copied().max().unwrap_or(0),
        steady_frames_allocating: steady_allocations.iter().filter(|&&a| a > 0).count(),
        frame_with_gpu_ms_p50: percentile(&frame_total, 0.5),
        frame_with_gpu_ms_p99: percentile(&frame_total, 0.99),
        strips: cameras.len(),
        height_px: height,
        adapter: format!("{} ({:?})", gpu.adapter_info.name, gpu.adapter_info.backend),
    })
}
