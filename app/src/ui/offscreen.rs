//! The whole main window drawn offscreen: the app's own `ui`, egui_wgpu and Tessera's
//! pipelines on a headless device (software Vulkan in CI), driven frame by frame by
//! egui_kittest. `tessera screenshot`, `tessera bench ui` and the GUI tests share it, so what
//! they show and time is what the window shows.

use super::{ArchiveState, TesseraApp};
use anyhow::{Context, anyhow};
use egui_kittest::Harness;
use std::time::{Duration, Instant};

/// A fresh render state on a headless adapter (a software rasterizer when there is one).
pub fn render_state() -> anyhow::Result<egui_wgpu::RenderState> {
    let setup = egui_kittest::wgpu::default_wgpu_setup();
    let instance = pollster::block_on(setup.new_instance());
    let config = egui_wgpu::WgpuConfiguration { wgpu_setup: setup, ..Default::default() };
    pollster::block_on(egui_wgpu::RenderState::create(
        &config,
        &instance,
        None,
        egui_wgpu::RendererOptions::PREDICTABLE,
    ))
    .map_err(|e| anyhow!("no GPU adapter for offscreen drawing (install mesa-vulkan-drivers): {e}"))
}

/// `app` in a `size` window drawn by egui_wgpu with Tessera's pipelines installed (as
/// eframe does at start-up). `upload_budget` caps timeline tiles uploaded per frame
/// (`u32::MAX` for complete single pictures).
pub fn harness(
    app: TesseraApp,
    size: egui::Vec2,
    upload_budget: u32,
) -> anyhow::Result<Harness<'static, TesseraApp>> {
    let render_state = render_state()?;
    super::install_renderers_with(&render_state, upload_budget);
    // Names come from the user's files: draw a box for a character no font has (kittest's
    // default, a panic, is for tests).
    Ok(Harness::builder()
        .with_size(size)
        .allow_missing_glyphs()
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(render_state))
        .build_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), app))
}

/// Whether the background work a picture waits for is done: the archive open (or failed),
/// every timeline tile asked for arrived, every video tile answered its last request.
pub fn settled(app: &TesseraApp) -> bool {
    match &app.archive {
        ArchiveState::Open { timeline, grid, .. } => {
            !timeline.model.cameras.is_empty()
                && timeline.model.pending() == 0
                && timeline.model.missing_last_frame == 0
                && grid.tiles.iter().all(|p| p.waiting_since.is_none() && (p.opened || p.failed.is_some()))
        }
        ArchiveState::Failed { .. } => true,
        _ => false,
    }
}

/// Step (in real time: workers answer on their own threads) until [`settled`], then two
/// more frames (one draws with everything, one settles egui's layout).
pub fn settle(h: &mut Harness<'static, TesseraApp>, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        h.run_steps(1);
        if settled(h.state()) {
            h.run_steps(2);
            if settled(h.state()) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(anyhow!("the window did not settle within {timeout:?}: {:?}", h.state().archive));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Parse `WIDTHxHEIGHT`.
pub fn parse_size(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(|| format!("{text:?} is not WIDTHxHEIGHT"))?;
    let parse = |v: &str| v.trim().parse::<u32>().ok().filter(|v| (200..=8192).contains(v));
    match (parse(w), parse(h)) {
        (Some(w), Some(h)) => Ok((w, h)),
        _ => Err(format!("{text:?}: width and height must be 200 … 8192 pixels")),
    }
}

/// Render the current frame to a PNG file (written beside it, then renamed).
pub fn write_png(h: &mut Harness<'static, TesseraApp>, out: &std::path::Path) -> anyhow::Result<(u32, u32)> {
    let image = h.render().map_err(|e| anyhow!("cannot draw the window offscreen: {e}"))?;
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("cannot encode the PNG")?;
    crate::output::write_atomically(out, &png)?;
    Ok(image.dimensions())
}
