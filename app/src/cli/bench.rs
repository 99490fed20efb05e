//! `tessera bench …`: end-to-end figures on demo-density data (numbers in BENCHMARKS.md).

use clap::Subcommand;
use serde::Serialize;
use std::time::Instant;
use tessera_storage::EventDb;
use tessera_storage::UnixMicros;
use tessera_storage::tiles::{L_MAX, TileKey, TileMarks, codec};

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Tiles and ingest: events/s in the engine and from JSONL through `tessera events ingest`
    /// (beside bare SQLite inserts of the same rows), rebuild time, request latency, blob sizes.
    Tiles {
        /// Days of demo-density events per camera.
        #[arg(long, default_value_t = 365.0)]
        days: f64,
        #[arg(long, default_value_t = 8)]
        cameras: usize,
        /// Tile requests to time (warm and cold each).
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Tracks without their boxes (class and times only).
        #[arg(long)]
        no_boxes: bool,
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
    /// Previews: `previews build` beside `ffmpeg -threads 1 -skip_frame nokey … -vf
    /// scale=320:-2` on the same stream, and the store's size against the video's.
    Previews(super::bench_previews::PreviewsBenchArgs),
    /// The live edge: a recorder (1080p25 in real time) and a detector (10 events/s) write a
    /// fresh archive while the window's follow path runs; latency from each write to the
    /// picture ready for upload and to the timeline tile that shows the event.
    Live(super::bench_live::LiveBenchArgs),
    /// What following an idle archive costs: the follower and a player per stream, CPU time
    /// over wall time.
    Follow(super::bench_follow::FollowBenchArgs),
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
        /// Strips drawn (the archive's cameras, repeated).
        #[arg(long, default_value_t = 8)]
        strips: usize,
        /// What the strips show: coverage (the GUI's default) or presence.
        #[arg(long, value_enum, default_value_t = super::render_timeline::StyleArg::Coverage)]
        style: super::render_timeline::StyleArg,
        #[arg(long)]
        json: bool,
    },
    /// The window's frame time: a 2×2 grid of videos playing, every camera's timeline strip,
    /// a zoom sweep from the whole archive to a minute and back; drawn offscreen by the
    /// window's own code on the software renderer. For eight strips, use an archive of
    /// eight cameras (`tessera demo --cameras 8`).
    Ui {
        #[arg(long)]
        archive: std::path::PathBuf,
        #[arg(long, default_value_t = 600)]
        frames: usize,
        /// Window size in pixels.
        #[arg(long, default_value = "1920x1080", value_parser = crate::ui::offscreen::parse_size)]
        size: (u32, u32),
        /// Without previews (the filmstrip lane stays, empty): the peer run for their cost.
        #[arg(long)]
        no_previews: bool,
        #[arg(long)]
        json: bool,
    },
    /// Fleet scale: N cameras × D days (real indexes, sparse packets, demo-density events);
    /// archive open, tile requests, timeline with one strip per camera, peak memory.
    Scale(super::bench_scale::ScaleArgs),
    /// Aircraft positions and projection at one instant (what `traj project` and the player's
    /// overlay run per frame) for N airborne aircraft.
    Project {
        #[arg(long, default_value_t = 10_000)]
        aircraft: usize,
        /// Camera file (default: the demo's sky camera).
        #[arg(long)]
        camera: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Populating the observation table from frames files: rows/s through the code path of
    /// `hypertable populate`, embedded and (with `--database`) PostgreSQL.
    Populate {
        /// Source frames (at 30 fps; every one is kept at the 30 fps target).
        #[arg(long, default_value_t = 200_000)]
        frames: u32,
        /// Objects per frame.
        #[arg(long, default_value_t = 5)]
        objects: u32,
        /// Also populate into this PostgreSQL server, in the same run.
        #[arg(long)]
        database: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// `hypertable status` after process start-up: open the catalog and the table, read every
    /// project's state (median of `--repeat` runs), embedded and (with `--database`) PostgreSQL.
    Status {
        #[arg(long)]
        catalog: std::path::PathBuf,
        #[arg(long)]
        database: Option<String>,
        #[arg(long, default_value_t = 50)]
        repeat: usize,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize, Debug)]
struct TilesReport {
    cameras: usize,
    boxes_per_event: f64,
    days: f64,
    events: usize,
    /// `EventDb::insert_events`: rows + tile upkeep in one transaction.
    ingest_events_per_s: f64,
    /// `tessera events ingest FILE.jsonl` (this binary, a child process), file read to commit.
    ingest_jsonl_tracks_per_s: f64,
    /// The peer, same run: the same rows through one prepared INSERT into a bare table with
    /// the same index — no JSON, no strings, no tiles: SQLite's own floor on this machine.
    sqlite_bare_rows_per_s: f64,
    /// Marking every level of every track in memory (`TileMarks`).
    marks_tracks_per_s: f64,
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
        BenchCommand::Tiles { days, cameras, requests, no_boxes, json } => {
            report(&bench_tiles(days, cameras, requests, no_boxes)?, json)
        }
        BenchCommand::Playback { archive, stream, seeks, json } => {
            report(&super::bench_playback::bench_playback(&archive, &stream, seeks.max(20))?, json)
        }
        BenchCommand::Previews(args) => super::bench_previews::run(args),
        BenchCommand::Live(args) => super::bench_live::run(&args),
        BenchCommand::Follow(args) => super::bench_follow::run(&args),
        BenchCommand::MakeHd { dir, seconds, from } => super::bench_playback::make_hd(&dir, seconds.max(20), from),
        BenchCommand::Timeline { archive, frames, strips, style, json } => {
            report(&bench_timeline(&archive, frames.max(2), strips.max(1), style.into())?, json)
        }
        BenchCommand::Ui { archive, frames, size, no_previews, json } => {
            report(&super::bench_ui::run(&archive, frames.max(2), size, !no_previews)?, json)
        }
        BenchCommand::Scale(args) => super::bench_scale::run(&args),
        BenchCommand::Project { aircraft, camera, json } => super::traj::bench_project(aircraft, camera, json),
        BenchCommand::Populate { frames, objects, database, json } => {
            super::observations::bench_populate(frames, objects, database, json)
        }
        BenchCommand::Status { catalog, database, repeat, json } => {
            super::observations::bench_status(&catalog, database, repeat, json)
        }
    }
}

pub(super) fn report(value: &(impl Serialize + std::fmt::Debug), json: bool) -> anyhow::Result<()> {
    if json {
        return crate::cli::print_json(value);
    }
    crate::cli::out!("{value:#?}")?;
    Ok(())
}

pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

fn bench_tiles(days: f64, cameras: usize, requests: usize, no_boxes: bool) -> anyhow::Result<TilesReport> {
    let now_s = UnixMicros::now().secs_floor();
    let end_us = now_s * 1_000_000;
    let from_us = end_us - (days * 86_400e6) as i64;
    let mut events: Vec<_> = (1..=cameras).flat_map(|c| crate::demo::demo_events(c, from_us, end_us)).collect();
    if no_boxes {
        events.iter_mut().for_each(|e| e.boxes.clear());
    }
    let dir = tempfile::tempdir()?;
    let db = EventDb::open_write(dir.path())?;
    let started = Instant::now();
    db.insert_events(&events, now_s)?;
    let ingest_s = started.elapsed().as_secs_f64();
    let jsonl_s = ingest_jsonl(&events)?;
    let bare_s = bare_sqlite_inserts(&events)?;

    // Marks: every track into every level, in memory.
    let ids: Vec<(u32, u32, i64, i64)> = events
        .iter()
        .map(|e| {
            let id = |name: &str| db.string_id(name)?.ok_or_else(|| anyhow::anyhow!("{name} was not ingested"));
            Ok((id(&e.camera)?, id(&e.class)?, e.first_ms.div_euclid(1000), e.last_ms.div_euclid(1000)))
        })
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    let mut marks = TileMarks::new();
    for &(camera, class, first, last) in &ids {
        marks.mark(camera, class, first, last, i64::MAX);
    }
    std::hint::black_box(marks.take());
    let marks_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let rebuilt = db.rebuild_tiles(now_s)?;
    let rebuild_s = started.elapsed().as_secs_f64();

    let mut sizes = Vec::new();
    let mut roaring = Vec::new();
    for (id, _) in db.cameras()? {
        for (_, _, blob) in db.tiles().all(id)? {
            roaring.push(codec::roaring_size(&codec::decode_stored(&blob)?) as f64);
            sizes.push(blob.len());
        }
    }
    sizes.sort_unstable();

    // Requests: random levels and times within the data, each asked twice (cold, then warm).
    let svc = db.tile_service();
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
        let id = db.string_id(&camera)?;
        if let (Some(id), Some((l, r))) = (id, key.children())
            && db.tiles().load(id, l)?.is_some() | db.tiles().load(id, r)?.is_some()
        {
            db.tiles().store(id, key, &Default::default())?;
            db.tiles().set_built_until(id, None)?;
        }
        let started = Instant::now();
        svc.get(id, key, now_s)?;
        cold.push(started.elapsed().as_secs_f64() * 1e3);
        let started = Instant::now();
        svc.get(id, key, now_s)?;
        warm.push(started.elapsed().as_secs_f64() * 1e3);
    }
    warm.sort_by(f64::total_cmp);
    cold.sort_by(f64::total_cmp);
    Ok(TilesReport {
        cameras,
        boxes_per_event: events.iter().map(|e| e.boxes.len()).sum::<usize>() as f64 / events.len().max(1) as f64,
        days,
        events: events.len(),
        ingest_events_per_s: events.len() as f64 / ingest_s,
        ingest_jsonl_tracks_per_s: events.len() as f64 / jsonl_s,
        sqlite_bare_rows_per_s: events.len() as f64 / bare_s,
        marks_tracks_per_s: events.len() as f64 / marks_s,
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

/// Seconds `tessera events ingest` (this binary) takes for `events` written as JSON Lines
/// into a fresh archive: what a user's command costs, process start to commit.
fn ingest_jsonl(events: &[tessera_storage::events::NewEvent]) -> anyhow::Result<f64> {
    use std::io::Write;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("tracks.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
    for e in events {
        serde_json::to_writer(&mut out, e)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    drop(out);
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive)?;
    let started = Instant::now();
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(["events", "ingest", "--archive"])
        .arg(&archive)
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .status()?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "tessera events ingest failed: {status}");
    Ok(seconds)
}

/// Seconds for the same rows as bare SQLite inserts: one prepared statement, one transaction,
/// the same table shape and index, integer camera/class ids given — the floor.
fn bare_sqlite_inserts(events: &[tessera_storage::events::NewEvent]) -> anyhow::Result<f64> {
    let dir = tempfile::tempdir()?;
    let conn = rusqlite::Connection::open(dir.path().join("bare.sqlite"))?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536;
         CREATE TABLE event(id INTEGER PRIMARY KEY, camera INTEGER NOT NULL, class INTEGER NOT NULL,
             first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, bucket INTEGER NOT NULL, confidence REAL, boxes BLOB);
         CREATE INDEX idx ON event(camera, bucket, first_ms);",
    )?;
    let ids: Vec<(i64, i64)> = events.iter().map(|e| (e.camera.len() as i64, e.class.len() as i64)).collect();
    let started = Instant::now();
    conn.execute_batch("BEGIN")?;
    {
        let mut insert = conn.prepare(
            "INSERT INTO event(camera, class, first_ms, last_ms, bucket, confidence, boxes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for (e, (camera, class)) in events.iter().zip(&ids) {
            let boxes = tessera_storage::events::boxes::encode(e.first_ms, &e.boxes);
            let bucket = tessera_storage::events::duration_bucket(e.first_ms, e.last_ms);
            insert.execute(rusqlite::params![camera, class, e.first_ms, e.last_ms, bucket, e.confidence, boxes])?;
        }
    }
    conn.execute_batch("COMMIT")?;
    Ok(started.elapsed().as_secs_f64())
}

#[derive(Serialize, Debug)]
pub(super) struct TimelineReport {
    frames: usize,
    pub(super) cpu_ms_p50: f64,
    pub(super) cpu_ms_p99: f64,
    gpu_upload_bytes_p99: u64,
    tiles_fetched: u64,
    /// Frames per second including the software renderer's GPU time (2000 × strips height).
    pub(super) fps_with_gpu: f64,
    /// Frames that needed no new tile, and the most heap allocations the planning thread
    /// made in any of them (taking in replies + planning; the counting allocator is the
    /// binary's, counted per thread).
    steady_frames: usize,
    steady_plan_allocations_max: u64,
    steady_frames_allocating: usize,
    /// CPU + submit + waiting for the software renderer to finish the frame.
    frame_with_gpu_ms_p50: f64,
    frame_with_gpu_ms_p99: f64,
    pub(super) strips: usize,
    height_px: u32,
    adapter: String,
}

/// Scripted sweep: 1 min → 10 years → 1 min, anchored at the newest data, `strips` strips,
/// 2000 px, offscreen; tiles arrive from the tile-feed thread as in the app.
pub(super) fn bench_timeline(
    archive: &std::path::Path,
    frames: usize,
    strips: usize,
    style: tessera_render::timeline::TileStyle,
) -> anyhow::Result<TimelineReport> {
    use tessera_engine::timeline::{StripArea, TimeView, TimelineModel};
    use tessera_render::offscreen::{self, Headless, Target};
    use tessera_render::timeline::TimelineRenderer;

    let db = EventDb::open_read(archive)?;
    let mut cameras: Vec<String> = db.cameras()?.into_iter().map(|c| c.1).collect();
    let end_us = db
        .cameras()?
        .iter()
        .filter_map(|(id, _)| db.events().bounds(*id).ok().flatten())
        .map(|(_, last)| last * 1000)
        .max()
        .unwrap_or_else(|| UnixMicros::now().0);
    drop(db);
    if cameras.is_empty() {
        anyhow::bail!("{}: no events to draw (run `tessera demo` or `events ingest` first)", archive.display());
    }
    // `strips` strips: the archive's cameras, repeated when it has fewer (each strip is its own
    // atlas source, so the load is that of that many cameras).
    let base = cameras.clone();
    while cameras.len() < strips {
        cameras.push(base[cameras.len() % base.len()].clone());
    }
    cameras.truncate(strips);
    let mut model = TimelineModel::start(archive.to_owned(), cameras.clone(), style);
    let hidden = std::collections::BTreeSet::<String>::new();
    while model.cameras.is_empty() && model.wait(std::time::Duration::from_secs(5)) {}
    // The GUI panel's layout at 2000 px: a label above each strip, video and a gap below.
    let area =
        StripArea { x0: 0.0, y0: 0.0, width: 2000.0, row_height: 12.0, row_pitch: 15.0, header: 16.0, footer: 13.0 };
    let gpu = Headless::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut renderer =
        TimelineRenderer::new(&gpu.device, offscreen::TARGET_FORMAT, crate::ui::ATLAS_SLOTS, crate::ui::MAX_STRIPS);
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
