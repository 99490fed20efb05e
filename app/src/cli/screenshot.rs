//! `tessera screenshot`: the whole main window at a playhead, drawn offscreen with the
//! window's own code and pipelines (see [`crate::ui::offscreen`]), written as a PNG; with
//! `--json`, the layout as drawn (panels, axis, each camera's strip) on stdout. The README's
//! pictures come from it.

use crate::ui::offscreen::{self, parse_size};
use crate::ui::player_panel::Transport;
use crate::ui::{ArchiveState, Command, TesseraApp};
use anyhow::bail;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use tessera_engine::timeline::TimeView;
use tessera_engine::timeline::ticks::Clock;
use tessera_storage::UnixMicros;

#[derive(Args, Debug)]
pub struct ScreenshotArgs {
    /// The archive to open.
    #[arg(long)]
    pub archive: PathBuf,
    /// The playhead: RFC 3339 or integer microseconds since 1970 (or `--live`).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "live", conflicts_with = "live")]
    pub at: Option<UnixMicros>,
    /// At the live edge: the active tile's newest picture, through the window's own follow path
    /// (the Live button), while a recorder writes. `--json` adds `picture_us` and `newest_us`.
    #[arg(long)]
    pub live: bool,
    /// The PNG to write (optional with --json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Window size in pixels.
    #[arg(long, default_value = "1920x1080", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Videos per side of the grid (1, 2 or 3).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub grid: u8,
    /// The timeline's span around the playhead, seconds (default: the whole archive).
    #[arg(long)]
    pub span: Option<f64>,
    /// Times in UTC (default: local time, as the window shows them).
    #[arg(long)]
    pub utc: bool,
    /// Show the first N cameras' strips (all when the archive has fewer).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub cameras: Option<u32>,
    /// A marked selection, FROM,TO (each RFC 3339 or integer microseconds since 1970).
    #[arg(long, allow_hyphen_values = true, value_parser = parse_selection)]
    pub select: Option<(UnixMicros, UnixMicros)>,
    /// The light colour theme (default: dark, as the window starts).
    #[arg(long)]
    pub light: bool,
    /// Print the window's layout as drawn, in window pixels, as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn parse_selection(text: &str) -> Result<(UnixMicros, UnixMicros), String> {
    let (a, b) = text.split_once(',').ok_or_else(|| format!("--select {text:?}: expected FROM,TO"))?;
    let parse = |v: &str| v.trim().parse::<UnixMicros>().map_err(|e| format!("--select {v:?}: {e}"));
    let (a, b) = (parse(a)?, parse(b)?);
    if b.0 < a.0 {
        return Err(format!("--select {text:?}: TO is before FROM"));
    }
    Ok((a, b))
}

pub fn run(args: ScreenshotArgs) -> anyhow::Result<()> {
    if !args.archive.is_dir() {
        bail!("{}: no such archive folder", args.archive.display());
    }
    if args.out.is_none() && !args.json {
        bail!("nothing to write: give --out FILE.png, --json, or both");
    }
    let mut app = TesseraApp::new(None);
    app.camera_limit = args.cameras.map(|n| n as usize);
    app.open(args.archive.clone());
    app.clock = if args.utc { Clock::Utc } else { Clock::Local };
    let size = egui::vec2(args.size.0 as f32, args.size.1 as f32);
    let mut h = offscreen::harness(app, size, u32::MAX)?;
    if args.light {
        h.ctx.set_theme(egui::Theme::Light);
    }
    let patience = Duration::from_secs(60);
    offscreen::settle(&mut h, patience)?;
    if let ArchiveState::Failed { path, error } = &h.state().archive {
        bail!("{}: cannot open: {error}", path.display());
    }
    if args.grid > 1 {
        h.state_mut().push(Command::SetGrid(usize::from(args.grid)));
    }
    let at = match args.at {
        Some(at) => {
            h.state_mut().push(Command::SeekTo(at.0));
            at.0
        }
        None => go_live(&mut h, patience)?,
    };
    if let Some(span) = args.span.filter(|s| s.is_finite() && *s > 0.0) {
        let span_us = (span * 1e6) as i64;
        h.state_mut().push(Command::SetTimeView(TimeView::new(at - span_us / 2, span_us)));
    }
    if let Some((a, b)) = args.select {
        h.state_mut().push(Command::Select(a.0, b.0));
    }
    h.run_steps(1);
    offscreen::settle(&mut h, patience)?;
    // Read when the picture is taken: the newest access unit on disk at that moment.
    let live = args.live.then(|| live_times(h.state(), &args.archive));
    if let Some(out) = &args.out {
        let (w, hgt) = offscreen::write_png(&mut h, out)?;
        eprintln!("wrote {} ({w}×{hgt})", out.display());
    }
    if args.json {
        let mut layout = layout_json(h.state(), args.size, h.ctx.pixels_per_point());
        if let Some((picture, newest)) = live
            && let Some(map) = layout.as_object_mut()
        {
            map.insert("picture_us".into(), serde_json::json!(picture));
            map.insert("newest_us".into(), serde_json::json!(newest));
        }
        super::print_json(&layout)?;
    }
    Ok(())
}

/// Press Live (every tile when synced) and wait for the active tile's first picture from the
/// edge; returns its time (the playhead).
fn go_live(h: &mut egui_kittest::Harness<'static, TesseraApp>, patience: Duration) -> anyhow::Result<i64> {
    if let ArchiveState::Open { grid, .. } = &mut h.state_mut().archive {
        grid.apply(Transport::Live);
    }
    let deadline = std::time::Instant::now() + patience;
    loop {
        h.run_steps(1);
        let live = match &h.state().archive {
            ArchiveState::Open { grid, .. } => grid.active().and_then(|p| p.shown.as_ref().filter(|s| s.live)),
            _ => None,
        };
        if let Some(shown) = live {
            return Ok(shown.frame.time_us);
        }
        if std::time::Instant::now() > deadline {
            bail!("no picture at the live edge within {patience:?} (does the archive have video?)");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The active tile's picture time and the newest access unit of its stream on disk now.
fn live_times(app: &TesseraApp, archive: &std::path::Path) -> (Option<i64>, Option<i64>) {
    let ArchiveState::Open { grid, .. } = &app.archive else { return (None, None) };
    let Some(tile) = grid.active() else { return (None, None) };
    let picture = tile.shown.as_ref().map(|s| s.frame.time_us);
    let newest = tessera_storage::fsv::Archive::open(archive)
        .ok()
        .and_then(|a| a.stream(&tile.player.stream).ok().map(|s| s.end_us));
    (picture, newest)
}

/// The window's layout as drawn last frame, in window pixels: `[x0, y0, x1, y1]` rectangles.
fn layout_json(app: &TesseraApp, size: (u32, u32), ppp: f32) -> serde_json::Value {
    let px = |r: egui::Rect| {
        if r.is_positive() {
            serde_json::json!([r.min.x * ppp, r.min.y * ppp, r.max.x * ppp, r.max.y * ppp])
        } else {
            serde_json::Value::Null
        }
    };
    let ArchiveState::Open { timeline, grid, .. } = &app.archive else {
        return serde_json::json!({});
    };
    let layout = &timeline.layout;
    let strips: Vec<_> =
        layout.strips.iter().map(|(camera, rect)| serde_json::json!({"camera": camera, "rect": px(*rect)})).collect();
    // The active picture and the labelled boxes drawn over it, as `paint_boxes` places them.
    let active = grid.active();
    let picture = active.and_then(|p| Some((p, p.shown.as_ref()?, p.picture_rect?)));
    let observation_boxes: Vec<_> = picture
        .and_then(|(p, shown, rect)| {
            let boxes = p.observations.as_ref().filter(|b| b.t_us == shown.frame.time_us && p.no_video_at.is_none())?;
            Some(
                boxes
                    .rows
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "classification": r.classification,
                            "frame_index": r.frame_index,
                            "label": r.label,
                            "track_id": r.track_id,
                            "confidence": r.confidence,
                            "bbox": r.bbox,
                            "rect": px(crate::ui::observations::box_rect(rect, boxes, r)),
                        })
                    })
                    .collect(),
            )
        })
        .unwrap_or_default();
    let picture = picture.map(|(p, shown, rect)| {
        serde_json::json!({
            "stream": p.player.stream,
            "time_us": shown.frame.time_us,
            "width": shown.frame.width,
            "height": shown.frame.height,
            "rect": px(rect),
        })
    });
    serde_json::json!({
        "picture": picture,
        "observation_boxes": observation_boxes,
        "window": [0, 0, size.0, size.1],
        "timeline": px(layout.timeline),
        "timeline_panel": px(app.layout.timeline_panel),
        "side_panel": px(app.layout.side_panel),
        "ticks": px(layout.ticks),
        "strips": strips,
        "cameras": timeline.tracks.len(),
        "timeline_scrolls": layout.scrolls,
        "filmstrip": px(layout.filmstrip),
        "selection": timeline.selection,
    })
}
