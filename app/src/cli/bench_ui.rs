//! `tessera bench ui`: the window's frame time in a scripted session — a 2×2 grid of synced
//! videos playing, every camera's timeline strip, a zoom sweep from the whole archive down
//! to a minute and back — drawn offscreen by the window's own code (`TesseraApp::ui`,
//! egui_wgpu, Tessera's pipelines, the default tile upload budget) on whatever adapter there
//! is (the software renderer here). A frame is timed from input to the GPU having finished
//! it, as a window would present it.

use super::bench::percentile;
use crate::ui::offscreen::{self, WindowFrames};
use crate::ui::player_panel::Transport;
use crate::ui::{ArchiveState, Command, TesseraApp};
use anyhow::bail;
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::Clock;

#[derive(Serialize, Debug)]
pub struct UiReport {
    pub frames: usize,
    pub frame_ms_p50: f64,
    pub frame_ms_p99: f64,
    pub frame_ms_max: f64,
    /// The app's `ui` alone (layout, input, planning); the rest of a frame is egui_wgpu and
    /// the (software) GPU.
    pub ui_ms_p50: f64,
    pub ui_ms_p99: f64,
    /// The peer: a bare egui window of the same size on the same renderer.
    pub bare_egui_frame_ms_p50: f64,
    pub bare_egui_frame_ms_p99: f64,
    /// Videos on screen, and the pictures they showed during the timed frames.
    pub videos: usize,
    pub pictures_shown: u64,
    /// Camera strips on the timeline.
    pub timelines: usize,
    pub width: u32,
    pub height: u32,
    pub adapter: String,
    /// Previews on (`--no-previews`: off, the filmstrip lane empty).
    pub previews: bool,
    /// Previews uploaded to the atlas during the timed frames (the filmstrip fills in as the
    /// sweep goes: the frame times above include them).
    pub previews_uploaded: u64,
    /// Hover preview latency: the pointer stops over the first camera's strip at a new time
    /// until the frame that draws its preview has finished, ms. `first`: times not asked
    /// before (decoded unless the archive's store has them); `stored`: a pixel beside each,
    /// answered from the store the first pass filled.
    /// (`null` with `--no-previews`.)
    pub hover_preview_ms_first_p50: Option<f64>,
    pub hover_preview_ms_first_max: Option<f64>,
    pub hover_preview_ms_stored_p50: Option<f64>,
    pub hover_preview_ms_stored_max: Option<f64>,
    /// The `previews` thread alone (a feed of its own, no window): request → answer ready
    /// for upload, ms, for eight keyframes with no preview yet (decoded) and a pixel beside
    /// each (from the store).
    pub preview_answer_ms_decoded_p50: Option<f64>,
    pub preview_answer_ms_decoded_max: Option<f64>,
    pub preview_answer_ms_stored_p50: Option<f64>,
    pub preview_answer_ms_stored_max: Option<f64>,
}

pub fn run(archive: &Path, frames: usize, size: (u32, u32), previews: bool) -> anyhow::Result<UiReport> {
    if !archive.is_dir() {
        bail!("{}: no such archive folder", archive.display());
    }
    let mut app = TesseraApp::new(Some(archive.to_owned()));
    app.clock = Clock::Utc;
    let render_state = offscreen::render_state()?;
    let adapter = render_state.adapter.get_info().name;
    crate::ui::install_renderers(&render_state);
    let mut window = WindowFrames::new(render_state, [size.0, size.1]);
    let ctx = egui::Context::default();
    let bare_ctx = egui::Context::default();
    let started = Instant::now();
    // The peer, in the same run: a bare egui window (a central panel and a label) of the
    // same size on the same renderer — the floor every egui app pays per frame.
    let mut bare = Vec::with_capacity(60);
    for _ in 0..60 {
        let t = Instant::now();
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size.0 as f32, size.1 as f32))),
            time: Some(started.elapsed().as_secs_f64()),
            ..Default::default()
        };
        let output = bare_ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| ui.label("Tessera"));
        });
        window.paint(&bare_ctx, output)?;
        bare.push(t.elapsed().as_secs_f64() * 1e3);
    }
    bare.sort_by(f64::total_cmp);
    // One frame; returns the time spent in the app's `ui` (the rest is egui_wgpu and the GPU).
    let mut frame_with = |app: &mut TesseraApp, events: Vec<egui::Event>| -> anyhow::Result<f64> {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(size.0 as f32, size.1 as f32))),
            time: Some(started.elapsed().as_secs_f64()),
            events,
            ..Default::default()
        };
        let t = Instant::now();
        let output = ctx.run_ui(input, |ui| app.ui(ui));
        let ui_ms = t.elapsed().as_secs_f64() * 1e3;
        window.paint(&ctx, output)?;
        Ok(ui_ms)
    };
    let mut frame = |app: &mut TesseraApp| frame_with(app, Vec::new());
    // Untimed: open the archive, show four videos, start them playing together.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut wait = |app: &mut TesseraApp, what: &str, done: &dyn Fn(&TesseraApp) -> bool| -> anyhow::Result<()> {
        while !done(app) {
            if Instant::now() > deadline {
                bail!("{}: timed out waiting for {what}: {:?}", archive.display(), app.archive);
            }
            frame(app)?;
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    };
    wait(&mut app, "the archive to open", &|a| {
        !matches!(a.archive, ArchiveState::Loading { .. } | ArchiveState::None)
    })?;
    if !previews && let ArchiveState::Open { timeline, .. } = &mut app.archive {
        timeline.previews = crate::ui::previews::Previews::disabled();
    }
    let ArchiveState::Open { grid, timeline, streams, .. } = &app.archive else {
        bail!("{}: cannot open: {:?}", archive.display(), app.archive);
    };
    if grid.tiles.is_empty() {
        bail!("{}: no streams to play", archive.display());
    }
    let (first, last) = timeline.bounds;
    // Ten minutes before the newest video (or the whole span's middle for a short archive).
    let video =
        streams.iter().map(|s| (s.start_us, s.end_us)).fold((i64::MAX, i64::MIN), |a, b| (a.0.min(b.0), a.1.max(b.1)));
    let start_at = (video.1 - 600_000_000).max((video.0 + video.1) / 2);
    app.push(Command::SetGrid(2));
    app.push(Command::SeekTo(start_at));
    wait(
        &mut app,
        "the videos to open",
        &|a| matches!(&a.archive, ArchiveState::Open { grid, .. } if grid.tiles.iter().all(|t| t.shown.is_some() || t.failed.is_some() || t.no_video_at.is_some())),
    )?;
    if let ArchiveState::Open { grid, .. } = &mut app.archive {
        grid.apply(Transport::TogglePlay { at: None });
    }
    // Timed: the zoom sweep, whole archive → one minute → whole archive, around the playhead.
    let ids_before = picture_ids(&app);
    let uploaded_before = uploaded(&app);
    let (max_span, min_span) = (((last - first) as f64).max(120e6), 60e6);
    let half = frames / 2;
    let mut times = Vec::with_capacity(frames);
    let mut ui_times = Vec::with_capacity(frames);
    let mut changes = 0u64;
    let mut last_ids = ids_before.clone();
    for f in 0..frames {
        let k = if f <= half { f as f64 / half.max(1) as f64 } else { (frames - f) as f64 / (frames - half) as f64 };
        let span = (max_span * (min_span / max_span).powf(k)) as i64;
        let playhead = match &app.archive {
            ArchiveState::Open { timeline, .. } => timeline.playhead_us.unwrap_or(last),
            _ => last,
        };
        app.push(Command::SetTimeView(TimeView::new(playhead - span / 2, span)));
        let t = Instant::now();
        ui_times.push(frame(&mut app)?);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        let ids = picture_ids(&app);
        changes += ids.iter().zip(&last_ids).filter(|(a, b)| a != b).count() as u64;
        last_ids = ids;
    }
    times.sort_by(f64::total_cmp);
    ui_times.sort_by(f64::total_cmp);
    let previews_uploaded = uploaded(&app) - uploaded_before;
    // Hover previews: paused, ten minutes in view, the pointer stops at eight places over the
    // first camera's strip, then a pixel beside each.
    if let ArchiveState::Open { grid, .. } = &mut app.archive {
        grid.apply(Transport::Pause);
    }
    let playhead = match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.playhead_us.unwrap_or(last),
        _ => last,
    };
    app.push(Command::SetTimeView(TimeView::new(playhead - 300_000_000, 600_000_000)));
    for _ in 0..3 {
        frame_with(&mut app, Vec::new())?;
    }
    let (rect, strip) = match &app.archive {
        ArchiveState::Open { timeline, .. } => {
            (timeline.rect, timeline.layout.strips.first().map_or(timeline.rect, |s| s.1))
        }
        _ => bail!("{}: the archive closed", archive.display()),
    };
    let mut hover = |app: &mut TesseraApp, x: f32| -> anyhow::Result<f64> {
        let t = Instant::now();
        let mut events = vec![egui::Event::PointerMoved(egui::pos2(x, strip.center().y))];
        loop {
            frame_with(app, std::mem::take(&mut events))?;
            let shown =
                matches!(&app.archive, ArchiveState::Open { timeline, .. } if timeline.hover_preview().is_some());
            if shown || t.elapsed() > Duration::from_secs(5) {
                return Ok(t.elapsed().as_secs_f64() * 1e3);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    let xs: Vec<f32> = (0..8).map(|i| rect.left() + rect.width() * (0.1 + 0.1 * i as f32)).collect();
    let (mut first, mut stored) = (Vec::new(), Vec::new());
    if previews {
        for &x in &xs {
            first.push(hover(&mut app, x)?);
        }
        for &x in &xs {
            stored.push(hover(&mut app, x + 1.0)?);
        }
    }
    first.sort_by(f64::total_cmp);
    stored.sort_by(f64::total_cmp);
    // The thread alone, at times the hover did not ask for (37 s on from each).
    let (mut decoded, mut from_store) = (Vec::new(), Vec::new());
    let stream = match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.film_stream.clone(),
        _ => None,
    };
    if previews && let Some(stream) = stream {
        let feed = tessera_engine::previews::start_feed(archive.to_owned())?;
        let px_us = 600_000_000 / i64::from(rect.width().max(1.0) as i32);
        let ask = |t_us: i64| -> anyhow::Result<f64> {
            let t = Instant::now();
            let request =
                tessera_engine::previews::PreviewRequest { stream: stream.clone(), t_us, tolerance_us: 4 * px_us };
            if feed.send(request).is_err() {
                bail!("the previews thread refused a request");
            }
            match feed.wait(Duration::from_secs(10)) {
                Some(answer) if answer.result.is_ok() => Ok(t.elapsed().as_secs_f64() * 1e3),
                other => bail!("no preview answer: {other:?}"),
            }
        };
        let times: Vec<i64> = (0..8).map(|i| playhead - 250_000_000 + i * 60_000_000 + 37_000_000).collect();
        for &t in &times {
            decoded.push(ask(t)?);
        }
        for &t in &times {
            from_store.push(ask(t + px_us)?);
        }
    }
    decoded.sort_by(f64::total_cmp);
    from_store.sort_by(f64::total_cmp);
    let p50 = |v: &[f64]| (!v.is_empty()).then(|| percentile(v, 0.5));
    let max = |v: &[f64]| v.last().copied();
    let (videos, timelines) = match &app.archive {
        ArchiveState::Open { grid, timeline, .. } => (grid.tiles.len(), timeline.tracks.len()),
        _ => (0, 0),
    };
    Ok(UiReport {
        frames,
        frame_ms_p50: percentile(&times, 0.5),
        frame_ms_p99: percentile(&times, 0.99),
        frame_ms_max: times.last().copied().unwrap_or(0.0),
        ui_ms_p50: percentile(&ui_times, 0.5),
        ui_ms_p99: percentile(&ui_times, 0.99),
        bare_egui_frame_ms_p50: percentile(&bare, 0.5),
        bare_egui_frame_ms_p99: percentile(&bare, 0.99),
        videos,
        pictures_shown: changes,
        timelines,
        width: size.0,
        height: size.1,
        adapter,
        previews,
        previews_uploaded,
        hover_preview_ms_first_p50: p50(&first),
        hover_preview_ms_first_max: max(&first),
        hover_preview_ms_stored_p50: p50(&stored),
        hover_preview_ms_stored_max: max(&stored),
        preview_answer_ms_decoded_p50: p50(&decoded),
        preview_answer_ms_decoded_max: max(&decoded),
        preview_answer_ms_stored_p50: p50(&from_store),
        preview_answer_ms_stored_max: max(&from_store),
    })
}

/// Previews uploaded to the atlas so far.
fn uploaded(app: &TesseraApp) -> u64 {
    match &app.archive {
        ArchiveState::Open { timeline, .. } => timeline.previews.uploaded,
        _ => 0,
    }
}

/// The id of each tile's picture on screen (0 for none).
fn picture_ids(app: &TesseraApp) -> Vec<u64> {
    match &app.archive {
        ArchiveState::Open { grid, .. } => grid.tiles.iter().map(|t| t.shown.as_ref().map_or(0, |s| s.id)).collect(),
        _ => Vec::new(),
    }
}
