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
pub fn harness(app: TesseraApp, size: egui::Vec2, upload_budget: u32) -> anyhow::Result<Harness<'static, TesseraApp>> {
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
/// no other archive loading, every timeline tile asked for arrived, every video tile answered
/// its last request, the Events list answered for the view, the active picture's detection
/// boxes arrived.
pub fn settled(app: &TesseraApp) -> bool {
    if app.opening.is_some() {
        return false;
    }
    match &app.archive {
        ArchiveState::Open { timeline, grid, events, observations, .. } => {
            events.answered(timeline)
                && (timeline.events.is_none() || boxes_shown(grid))
                && observations.as_deref().is_none_or(|o| labels_shown(o, grid))
                && !timeline.model.cameras.is_empty()
                && timeline.model.pending() == 0
                && timeline.model.missing_last_frame == 0
                && timeline.previews.settled()
                && grid.tiles.iter().all(|p| p.waiting_since.is_none() && (p.opened || p.failed.is_some()))
        }
        ArchiveState::Failed { .. } => true,
        _ => false,
    }
}

/// Whether the active tile's picture has its labelled boxes (or has no picture).
fn labels_shown(observations: &super::observations::ObservationsPanel, grid: &super::grid::VideoGrid) -> bool {
    grid.active().is_none_or(|p| match &p.shown {
        Some(shown) => {
            observations.boxes_answered(&p.player.stream, shown.frame.time_us)
                && p.observations.as_ref().is_some_and(|b| b.t_us == shown.frame.time_us)
                    == observations.boxes_at(&p.player.stream, shown.frame.time_us).is_some()
        }
        None => true,
    })
}

/// Whether the active tile's picture has its detection boxes (or has no picture).
pub fn boxes_shown(grid: &super::grid::VideoGrid) -> bool {
    grid.active().is_none_or(|p| match &p.shown {
        Some(shown) => p.event_boxes_for.as_ref().is_some_and(|(_, t)| *t == shown.frame.time_us),
        None => true,
    })
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
    tessera_engine::output::write_atomically(out, &png)?;
    Ok(image.dimensions())
}

/// Frames of the window rendered as eframe renders them (textures updated, shapes
/// tessellated, buffers uploaded, one render pass into a window-sized target), waiting for
/// the GPU to finish each, without reading pixels back: what `tessera bench ui` times.
pub struct WindowFrames {
    pub render_state: egui_wgpu::RenderState,
    target: egui_wgpu::wgpu::TextureView,
    size_px: [u32; 2],
}

impl WindowFrames {
    pub fn new(render_state: egui_wgpu::RenderState, size_px: [u32; 2]) -> Self {
        use egui_wgpu::wgpu;
        let texture = render_state.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("window"),
            size: wgpu::Extent3d { width: size_px[0], height: size_px[1], depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: render_state.target_format,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        });
        let target = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self { render_state, target, size_px }
    }

    /// Paint one frame's output and wait for the GPU.
    pub fn paint(&mut self, ctx: &egui::Context, mut output: egui::FullOutput) -> anyhow::Result<()> {
        use egui_wgpu::wgpu;
        let rs = &self.render_state;
        let mut renderer = rs.renderer.write();
        #[expect(clippy::iter_over_hash_type)] // order does not matter
        for (id, deltas) in output.textures_delta.set.drain() {
            for delta in deltas {
                renderer.update_texture(&rs.device, &rs.queue, id, &delta);
            }
        }
        let screen =
            egui_wgpu::ScreenDescriptor { size_in_pixels: self.size_px, pixels_per_point: ctx.pixels_per_point() };
        let jobs = ctx.tessellate(std::mem::take(&mut output.shapes), ctx.pixels_per_point());
        let mut encoder = rs.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("window") });
        let user = renderer.update_buffers(&rs.device, &rs.queue, &mut encoder, &jobs, &screen);
        {
            let mut pass = encoder
                .begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("window"),
                    color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                        view: &self.target,
                        resolve_target: None,
                        ops: wgpu::Operations {
                            load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                            store: wgpu::StoreOp::Store,
                        },
                        depth_slice: None,
                    })],
                    ..Default::default()
                })
                .forget_lifetime();
            renderer.render(&mut pass, &jobs, &screen);
        }
        rs.queue.submit(user.into_iter().chain(std::iter::once(encoder.finish())));
        #[expect(clippy::iter_over_hash_type)] // order does not matter
        for id in output.textures_delta.free.drain() {
            renderer.free_texture(&id);
        }
        rs.device
            .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(Duration::from_secs(10)) })
            .map_err(|e| anyhow!("the GPU did not finish a frame: {e}"))?;
        Ok(())
    }
}
