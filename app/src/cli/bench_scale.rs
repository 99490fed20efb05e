//! `tessera bench scale`: a synthetic fleet archive — N cameras × D days of rf1 files (real
//! index files, one keyframe entry every `--keyframe-s` seconds; packets a few bytes each) and
//! events at demo density — then, in a fresh child process so its peak memory is the reader's
//! alone, what the app does with it: open it (the GUI's archive loader), answer tile requests
//! (the tile feed's call), and draw the timeline with one strip per camera (the panel's path).

use super::bench::{TimelineReport, bench_timeline, percentile};
use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tessera_storage::fsv::{AccessUnit, StreamWriter};
use tessera_storage::rf1::Codec;
use tessera_storage::tiles::L_MAX;
use tessera_storage::{EventDb, UnixMicros};

#[derive(clap::Args, Debug)]
pub struct ScaleArgs {
    /// Archive to write (kept), or to measure when `--measure-only`.
    #[arg(long)]
    pub dir: PathBuf,
    #[arg(long, default_value_t = 64)]
    pub cameras: usize,
    #[arg(long, default_value_t = 30.0)]
    pub days: f64,
    /// Seconds between index entries (keyframes) in the synthetic streams.
    #[arg(long, default_value_t = 10)]
    pub keyframe_s: i64,
    #[arg(long, default_value_t = 2000)]
    pub requests: usize,
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Measure an archive written earlier (the child process's half).
    #[arg(long)]
    pub measure_only: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Debug)]
pub struct ScaleReport {
    cameras: usize,
    days: f64,
    files: usize,
    events: usize,
    db_bytes: u64,
    write_s: f64,
    ingest_events_per_s: f64,
    measured: Option<MeasureReport>,
}

#[derive(Serialize, Debug, serde::Deserialize)]
pub struct MeasureReport {
    /// `load_snapshot` (the GUI's archive loader): best and worst of 3.
    open_s_best: f64,
    open_s_worst: f64,
    tile_request_ms_p50: f64,
    tile_request_ms_p99: f64,
    timeline_strips: usize,
    timeline_cpu_ms_p50: f64,
    timeline_cpu_ms_p99: f64,
    timeline_fps_with_gpu: f64,
    peak_rss_mib: f64,
}

pub fn run(args: &ScaleArgs) -> anyhow::Result<()> {
    if args.measure_only {
        let report = measure(args)?;
        return super::bench::report(&report, args.json);
    }
    let end_us = UnixMicros::now().secs_floor() * 1_000_000;
    let from_us = end_us - (args.days * 86_400e6) as i64;
    if args.dir.exists() {
        anyhow::bail!("{}: exists; bench scale writes a fresh archive", args.dir.display());
    }
    std::fs::create_dir_all(args.dir.join("fsv")).with_context(|| format!("{}", args.dir.display()))?;
    let started = Instant::now();
    let mut files = 0;
    for camera in 1..=args.cameras {
        files += write_stream(&args.dir, camera, from_us, end_us, args.keyframe_s.max(1))?;
    }
    let write_s = started.elapsed().as_secs_f64();
    let db = EventDb::open_write(&args.dir)?;
    let (mut events, mut ingest_s) = (0, 0.0);
    for camera in 1..=args.cameras {
        let batch = crate::demo::demo_events(camera, from_us, end_us);
        let started = Instant::now();
        db.insert_events(&batch, end_us / 1_000_000)?;
        ingest_s += started.elapsed().as_secs_f64();
        events += batch.len();
    }
    drop(db);
    let db_bytes = std::fs::metadata(args.dir.join("tessera.sqlite")).map(|m| m.len()).unwrap_or(0);
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["bench", "scale", "--measure-only", "--json", "--dir"])
        .arg(&args.dir)
        .args(["--requests", &args.requests.to_string(), "--frames", &args.frames.to_string()])
        .args(["--days", &args.days.to_string(), "--cameras", &args.cameras.to_string()])
        .output()?;
    anyhow::ensure!(child.status.success(), "measuring: {}", String::from_utf8_lossy(&child.stderr));
    let measured: MeasureReport = serde_json::from_slice(&child.stdout).context("measuring: not JSON")?;
    let report = ScaleReport {
        cameras: args.cameras,
        days: args.days,
        files,
        events,
        db_bytes,
        write_s,
        ingest_events_per_s: events as f64 / ingest_s,
        measured: Some(measured),
    };
    super::bench::report(&report, args.json)
}

/// One stream `cam-N-HD` over `[from, to)`: an IDR access unit every `step_s` (a 6-byte
/// packet), rolled over every ~1000 s as a recorder does. Returns the files written.
fn write_stream(dir: &Path, camera: usize, from_us: i64, to_us: i64, step_s: i64) -> anyhow::Result<usize> {
    let mut writer = StreamWriter::new(dir, &format!("cam-{camera}-HD"), Codec::H264)?;
    writer.set_size(1920, 1080)?;
    let mut t_us = from_us;
    while t_us < to_us {
        let mut unit = AccessUnit { time_ns: t_us * 1000, nalus: Vec::with_capacity(1) };
        unit.push_h264(&[0, 0, 0, 1, 0x65, 0x88]);
        writer.write(unit)?;
        t_us += step_s * 1_000_000;
    }
    Ok(writer.finish()?.len() / 2)
}

/// The reader's half: open, tile requests, timeline, peak memory.
fn measure(args: &ScaleArgs) -> anyhow::Result<MeasureReport> {
    let mut opens = Vec::new();
    let mut snapshot = None;
    for _ in 0..3 {
        let started = Instant::now();
        snapshot = Some(tessera_engine::archive_loader::load_snapshot(&args.dir).map_err(anyhow::Error::msg)?);
        opens.push(started.elapsed().as_secs_f64());
    }
    opens.sort_by(f64::total_cmp);
    let (first_us, last_us) = snapshot.map(|s| s.bounds).unwrap_or_default();

    // Tile requests as the feed makes them: random camera, level (fine levels included)
    // and time within the data.
    let db = EventDb::open_read(&args.dir)?;
    let cameras: Vec<Option<u32>> = db.cameras()?.into_iter().map(|(id, _)| Some(id)).collect();
    anyhow::ensure!(!cameras.is_empty(), "{}: no events", args.dir.display());
    let service = db.tile_service();
    let now_s = UnixMicros::now().secs_floor();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut times = Vec::with_capacity(args.requests);
    for _ in 0..args.requests {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let level = (x % (u64::from(L_MAX) + 4)) as i8 - 3;
        let t_s = first_us / 1_000_000 + ((x >> 8) % ((last_us - first_us) / 1_000_000).max(1) as u64) as i64;
        let camera = cameras[(x >> 40) as usize % cameras.len()];
        let index =
            if level >= 0 { (t_s / 1024) >> level } else { (t_s * 1000) / (1000i64 << (i64::from(level) + 10)) };
        let started = Instant::now();
        service.get_any(camera, level, index, now_s)?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    drop(service);
    drop(db);

    let strips = args.cameras.max(1);
    let timeline: TimelineReport =
        bench_timeline(&args.dir, args.frames.max(2), strips, tessera_render::timeline::TileStyle::Coverage)?;
    Ok(MeasureReport {
        open_s_best: opens[0],
        open_s_worst: opens[opens.len() - 1],
        tile_request_ms_p50: percentile(&times, 0.5),
        tile_request_ms_p99: percentile(&times, 0.99),
        timeline_strips: timeline.strips,
        timeline_cpu_ms_p50: timeline.cpu_ms_p50,
        timeline_cpu_ms_p99: timeline.cpu_ms_p99,
        timeline_fps_with_gpu: timeline.fps_with_gpu,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// The process's peak resident memory (`VmHWM`), MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
