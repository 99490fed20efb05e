//! `tessera screenshot`: the whole main window at a playhead, drawn offscreen with the
//! window's own code and pipelines (see [`crate::ui::offscreen`]), written as a PNG. The
//! README's pictures come from it.

use crate::ui::offscreen::{self, parse_size};
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
    /// The playhead: RFC 3339 or integer microseconds since 1970.
    #[arg(long, allow_hyphen_values = true)]
    pub at: UnixMicros,
    /// The PNG to write.
    #[arg(long)]
    pub out: PathBuf,
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
}

pub fn run(args: ScreenshotArgs) -> anyhow::Result<()> {
    if !args.archive.is_dir() {
        bail!("{}: no such archive folder", args.archive.display());
    }
    let mut app = TesseraApp::new(Some(args.archive.clone()));
    app.clock = if args.utc { Clock::Utc } else { Clock::Local };
    let size = egui::vec2(args.size.0 as f32, args.size.1 as f32);
    let mut h = offscreen::harness(app, size, u32::MAX)?;
    let patience = Duration::from_secs(60);
    offscreen::settle(&mut h, patience)?;
    if let ArchiveState::Failed { path, error } = &h.state().archive {
        bail!("{}: cannot open: {error}", path.display());
    }
    if args.grid > 1 {
        h.state_mut().push(Command::SetGrid(usize::from(args.grid)));
    }
    let at = args.at.0;
    h.state_mut().push(Command::SeekTo(at));
    if let Some(span) = args.span.filter(|s| s.is_finite() && *s > 0.0) {
        let span_us = (span * 1e6) as i64;
        h.state_mut().push(Command::SetTimeView(TimeView::new(at - span_us / 2, span_us)));
    }
    h.run_steps(1);
    offscreen::settle(&mut h, patience)?;
    let (w, hgt) = offscreen::write_png(&mut h, &args.out)?;
    eprintln!("wrote {} ({w}×{hgt})", args.out.display());
    Ok(())
}
