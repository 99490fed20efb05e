//! Shared GUI test setup: the one snapshot policy, a wgpu harness with Tessera's pipelines,
//! and waiting for background work.

#![allow(dead_code)]

use egui_kittest::{Harness, SnapshotOptions};
use std::time::{Duration, Instant};
use tessera::ui::{ArchiveState, TesseraApp};

/// One tolerance for every snapshot: software Vulkan (lavapipe) is deterministic, but text
/// anti-aliasing may differ by a few levels across Mesa builds.
pub fn snapshot_options() -> SnapshotOptions {
    SnapshotOptions::new().threshold(0.6).max_failed_pixels(20)
}

/// A harness drawing `app` with egui_wgpu on the software renderer, Tessera's pipelines
/// installed (as eframe does at start-up).
pub fn harness(app: TesseraApp, size: egui::Vec2) -> Harness<'static, TesseraApp> {
    let render_state = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    tessera::ui::install_renderers_with(&render_state, u32::MAX);
    Harness::builder()
        .with_size(size)
        .renderer(egui_kittest::wgpu::WgpuTestRenderer::from_render_state(render_state))
        .build_ui_state(|ui, app: &mut TesseraApp| app.ui(ui), app)
}

/// Step until the archive is open and every tile the timeline asked for has arrived.
pub fn settle(harness: &mut Harness<'static, TesseraApp>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.run_steps(1);
        let done = match &harness.state().archive {
            ArchiveState::Open { timeline, .. } => {
                !timeline.model.cameras.is_empty()
                    && timeline.model.pending() == 0
                    && timeline.model.missing_last_frame == 0
            }
            ArchiveState::Failed { .. } => true,
            _ => false,
        };
        if done {
            // Two more frames: one draws with every tile, one settles egui's layout.
            harness.run_steps(2);
            if let ArchiveState::Open { timeline, .. } = &harness.state().archive
                && timeline.model.pending() == 0
                && timeline.model.missing_last_frame == 0
            {
                return;
            }
        }
        assert!(Instant::now() < deadline, "timeline did not settle: {:?}", harness.state().archive);
        std::thread::sleep(Duration::from_millis(5));
    }
}
