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

/// Step until the archive is open, every tile the timeline asked for has arrived and the
/// player has answered its last request.
pub fn settle(harness: &mut Harness<'static, TesseraApp>) {
    let settled = |app: &TesseraApp| match &app.archive {
        ArchiveState::Open { timeline, player, .. } => {
            !timeline.model.cameras.is_empty()
                && timeline.model.pending() == 0
                && timeline.model.missing_last_frame == 0
                && player.as_ref().is_none_or(|p| p.waiting_since.is_none())
        }
        ArchiveState::Failed { .. } => true,
        _ => false,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        harness.run_steps(1);
        if settled(harness.state()) {
            // Two more frames: one draws with every tile, one settles egui's layout.
            harness.run_steps(2);
            if settled(harness.state()) {
                return;
            }
        }
        assert!(Instant::now() < deadline, "did not settle: {:?}", harness.state().archive);
        std::thread::sleep(Duration::from_millis(5));
    }
}
