//! `tessera bench live`: a recorder and a detector write a fresh archive while the window's
//! follow path runs without a window, and the latency from each write to what the window
//! would draw.
//!
//! - The recorder is `import --realtime` on its own thread (the `make-hd` 1080p25 x264 content,
//!   or `--from FILE.h264`): each access unit written when its time comes.
//! - The detector commits one event every 100 ms (`EventDb::insert_events`, as `events ingest`
//!   commits a batch), each of its own class of ten (so each event sets its own bit in its
//!   second's tile column).
//! - The follow path is the window's: a real [`Player`] thread at the live edge
//!   ([`PlayerCommand::Live`]), and a [`TimelineModel`] asked for a 2000-px view ending at now
//!   every 20 ms, as the timeline panel asks each frame (its live tiles refetched every
//!   [`tessera_engine::timeline::model::LIVE_REFRESH`]).
//!
//! Frame latency = the access unit's due instant (when the recorder writes it; the write
//! itself takes well under a millisecond) → its picture arriving from the player, ready for
//! upload. Event latency = the event's commit → the first model tile holding its bit.

use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tessera_engine::player::{Player, PlayerCommand, PlayerFrame};
use tessera_engine::timeline::model::{StripArea, TimelineModel};
use tessera_engine::timeline::view::TimeView;
use tessera_render::timeline::{TILE_COLUMNS, TileData, TileStyle};
use tessera_storage::events::NewEvent;
use tessera_storage::fsv::{Archive, FrameRate, Pace, import_paced};
use tessera_storage::rf1::Codec;
use tessera_storage::{EventDb, UnixMicros};

const STREAM: &str = "hd";
const CLASSES: usize = 10;
const EVENT_EVERY: Duration = Duration::from_millis(100);

#[derive(clap::Args, Debug)]
pub struct LiveBenchArgs {
    /// Where to write (the archive goes to DIR/archive, made fresh; the source is kept).
    #[arg(long, default_value = "/tmp/tessera-bench-live")]
    pub dir: PathBuf,
    /// Seconds to record (and of source to encode).
    #[arg(long, default_value_t = 60)]
    pub seconds: u32,
    /// Record this Annex-B H.264 file (25 fps) instead of encoding the `make-hd` content.
    #[arg(long)]
    pub from: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Debug)]
pub struct LiveReport {
    pub frame_latency_ms_p50: f64,
    pub frame_latency_ms_p95: f64,
    pub event_latency_ms_p50: f64,
    pub event_latency_ms_p95: f64,
    /// Pictures the live edge delivered.
    pub frames: usize,
    /// Access units the recorder wrote.
    pub frames_written: u64,
    /// Events committed, and those the timeline never showed before the end.
    pub events: usize,
    pub events_missed: usize,
    pub seconds: f64,
}

pub fn run(args: &LiveBenchArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir).with_context(|| format!("{}: cannot create", args.dir.display()))?;
    let source = match &args.from {
        Some(path) => path.clone(),
        None => {
            let path = args.dir.join("source.h264");
            if path.is_file() { path } else { super::bench_playback::encode_hd(&args.dir, args.seconds.max(2))? }
        }
    };
    let archive = args.dir.join("archive");
    if archive.exists() {
        std::fs::remove_dir_all(&archive).with_context(|| format!("{}: cannot clear", archive.display()))?;
    }
    std::fs::create_dir_all(&archive)?;
    let report = measure(&archive, &source, Duration::from_secs(u64::from(args.seconds.max(2))))?;
    if args.json {
        return super::print_json(&report);
    }
    crate::cli::out!("{report:#?}")?;
    Ok(())
}

fn class(k: usize) -> String {
    format!("c{}", k % CLASSES)
}

fn measure(archive: &std::path::Path, source: &std::path::Path, duration: Duration) -> anyhow::Result<LiveReport> {
    // The detector's classes exist before the window's feed starts (an hour back), so each has
    // its bit from the first tile.
    let db = EventDb::open_write(archive)?;
    let setup_ms = UnixMicros::now().0 / 1000 - 3_600_000;
    let seed: Vec<NewEvent> = (0..CLASSES).map(|k| event(setup_ms + k as i64 * 1000, k)).collect();
    db.insert_events(&seed, UnixMicros::now().secs_floor())?;

    let started = Instant::now();
    let start_us = UnixMicros::now().0;
    let recorder = {
        let (archive, source) = (archive.to_owned(), source.to_owned());
        std::thread::Builder::new().name("bench-recorder".into()).spawn(move || {
            let mut file =
                std::fs::File::open(&source).with_context(|| format!("{}: cannot read", source.display()))?;
            let fps = FrameRate { num: 25, den: 1 };
            let pace = Pace::Realtime { started };
            anyhow::Ok(import_paced(&archive, STREAM, Codec::H264, start_us, fps, &mut file, &source, pace)?)
        })?
    };
    while Archive::open(archive).ok().and_then(|a| a.stream(STREAM).ok().map(|s| s.end_us)).is_none() {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(10), "the recorder wrote nothing in 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }

    // The window's follow path.
    let player = Player::start(archive.to_owned(), STREAM.into())?;
    player.send(PlayerCommand::Live).map_err(|_| anyhow::anyhow!("the player refused Live"))?;
    let mut model = TimelineModel::start(archive.to_owned(), vec![STREAM.into()], TileStyle::Presence);
    let area =
        StripArea { x0: 0.0, y0: 0.0, width: 2000.0, row_height: 6.0, row_pitch: 7.0, header: 14.0, footer: 6.0 };

    let mut frame_lags = Vec::new();
    let mut event_lags = Vec::new();
    // Committed events not yet seen: (second, class bit, commit instant).
    let mut waiting: Vec<(i64, usize, Instant)> = Vec::new();
    let mut events = 0usize;
    let mut next_event = Instant::now();
    let end = started + duration;
    while Instant::now() < end {
        if Instant::now() >= next_event {
            let now_ms = UnixMicros::now().0 / 1000;
            db.insert_events(&[event(now_ms - 150, events)], now_ms / 1000)?;
            waiting.push(((now_ms - 150).div_euclid(1000), events % CLASSES, Instant::now()));
            events += 1;
            next_event += EVENT_EVERY;
        }
        for answer in player.answers() {
            if let PlayerFrame::Picture(p) = answer
                && p.live
            {
                let due = started + Duration::from_micros(u64::try_from(p.frame.time_us - start_us).unwrap_or(0));
                frame_lags.push(Instant::now().saturating_duration_since(due).as_secs_f64() * 1e3);
            }
        }
        // A frame of the timeline panel: ~2000 s in 2000 px ending just after now (level-0
        // tiles, one second a column).
        let now_us = UnixMicros::now().0;
        let view = TimeView::new(now_us - 1_950_000_000, 2_000_000_000);
        model.poll();
        model.plans(&view, area, now_us, &|_| true);
        waiting.retain(|&(second, bit, committed)| {
            let index = second.div_euclid(TILE_COLUMNS as i64);
            let column = second.rem_euclid(TILE_COLUMNS as i64) as usize;
            let shown =
                matches!(model.held(0, 0, index), Some(TileData::Masks { masks, .. }) if masks[column] >> bit & 1 == 1);
            if shown {
                event_lags.push(committed.elapsed().as_secs_f64() * 1e3);
            }
            !shown
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(player);
    let written = recorder.join().map_err(|_| anyhow::anyhow!("the recorder panicked"))??.access_units;
    Ok(LiveReport {
        frame_latency_ms_p50: percentile(&mut frame_lags, 0.50),
        frame_latency_ms_p95: percentile(&mut frame_lags, 0.95),
        event_latency_ms_p50: percentile(&mut event_lags, 0.50),
        event_latency_ms_p95: percentile(&mut event_lags, 0.95),
        frames: frame_lags.len(),
        frames_written: written,
        events,
        events_missed: waiting.len(),
        seconds,
    })
}

fn event(first_ms: i64, k: usize) -> NewEvent {
    NewEvent {
        camera: STREAM.into(),
        class: class(k),
        first_ms,
        last_ms: first_ms + 100,
        confidence: Some(0.9),
        boxes: Vec::new(),
    }
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let i = ((values.len() - 1) as f64 * q).round() as usize;
    (values[i] * 10.0).round() / 10.0
}
