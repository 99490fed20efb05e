//! `tessera render-timeline`: the timeline strips rendered offscreen with the app's own wgpu
//! pipeline, written as a PNG (+ a layout JSON saying which pixels are which).

use crate::engine::tile_feed::{TileRequest, coverage_masks, masks_of};
use crate::timeline::{CameraRows, Palette, StripGeometry, TimeView, plan_strip};
use anyhow::Context;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use tessera_render::offscreen::{self, Headless, Target};
use tessera_render::timeline::{TileData, TileStyle, TimelineRenderer};
use tessera_storage::EventDb;
use tessera_storage::UnixMicros;

/// Row height and pitch of the offscreen strips, and the gap between cameras.
pub const ROW_HEIGHT: f32 = 8.0;
pub const ROW_PITCH: f32 = 10.0;
pub const CAMERA_GAP: f32 = 12.0;
pub const MARGIN: f32 = 4.0;
/// Clear colour between strips.
pub const CLEAR: [u8; 3] = [20, 20, 22];

#[derive(clap::Args, Debug)]
pub struct RenderTimelineArgs {
    #[arg(long)]
    pub archive: PathBuf,
    /// Comma-separated cameras, top to bottom.
    #[arg(long, value_delimiter = ',', required = true)]
    pub cameras: Vec<String>,
    #[arg(long)]
    pub from: UnixMicros,
    #[arg(long)]
    pub to: UnixMicros,
    /// PNG width in pixels.
    #[arg(long, default_value_t = 2000)]
    pub width: u32,
    #[arg(long)]
    pub out: PathBuf,
    /// Write the pixel layout as JSON.
    #[arg(long)]
    pub layout: Option<PathBuf>,
    /// Pin the clock (unix seconds): later columns are drawn as the future.
    #[arg(long, allow_hyphen_values = true)]
    pub now: Option<i64>,
    /// `presence`: the class colour wherever a detection is; `coverage`: brighter where
    /// more of the time under a pixel has the class (the GUI's default).
    #[arg(long, value_enum, default_value_t = StyleArg::Presence)]
    pub style: StyleArg,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StyleArg {
    Presence,
    Coverage,
}

#[derive(Serialize)]
struct Layout {
    x0: u32,
    x1: u32,
    t0_ms: i64,
    t1_ms: i64,
    rows: Vec<LayoutRow>,
}

#[derive(Serialize)]
struct LayoutRow {
    camera: String,
    class: String,
    y0: u32,
    y1: u32,
    color: [u8; 3],
}

pub fn run(args: RenderTimelineArgs) -> anyhow::Result<()> {
    // Far inside i64 for every µs computation below (years 9999 BCE … 9999 CE).
    let limit_ms = tessera_storage::events::MAX_TIME_MS;
    for (flag, t) in [("--from", args.from), ("--to", args.to)] {
        if t.0.div_euclid(1000).abs() > limit_ms {
            anyhow::bail!("{flag} {} is out of range (years -9999 … 9999)", t.0);
        }
    }
    let t0_ms = args.from.0.div_euclid(1000);
    let t1_ms = args.to.0.div_euclid(1000);
    if t1_ms <= t0_ms {
        anyhow::bail!("--to must be after --from (at least 1 ms)");
    }
    if !(1..=16_384).contains(&args.width) {
        anyhow::bail!("--width {} is out of range (1..=16384)", args.width);
    }
    let now_s = args.now.unwrap_or_else(|| UnixMicros::now().secs_floor());
    let db = EventDb::open_read(&args.archive)?;
    let service = db.tile_service();
    let palette = Palette::builtin();
    let view = TimeView { start_us: t0_ms * 1000, span_us: (t1_ms - t0_ms) * 1000 };
    let width = args.width as f32;

    let mut layout = Layout { x0: 0, x1: args.width, t0_ms, t1_ms, rows: Vec::new() };
    let mut plans = Vec::new();
    let mut y = MARGIN;
    for (source, camera) in args.cameras.iter().enumerate() {
        let camera_id = db.string_id(camera)?;
        let classes = match camera_id {
            Some(id) => db.events().camera_classes(id)?,
            None => Vec::new(),
        };
        let rows = CameraRows::new(camera, source as u32, &classes, &palette);
        let mut fetched: HashMap<(i8, i64), TileData> = HashMap::new();
        let mut failure = None;
        let mut tile = |level: i8, index: i64| -> TileData {
            fetched
                .entry((level, index))
                .or_insert_with(|| {
                    let masks = service.get_any(camera_id, level, index, now_s).map_err(anyhow::Error::from).and_then(
                        |(t, _)| match args.style {
                            StyleArg::Presence => Ok(masks_of(&t, &classes)),
                            StyleArg::Coverage => {
                                let request = TileRequest { source: source as u32, level, index, now_s };
                                coverage_masks(&service, camera_id, &request, &t, &classes).map(|(m, _)| m)
                            }
                        },
                    );
                    match masks {
                        Ok(Some(m)) => TileData::Masks { generation: 0, masks: Arc::from(m) },
                        Ok(None) => TileData::Empty,
                        Err(e) => {
                            failure = Some(e);
                            TileData::Empty
                        }
                    }
                })
                .clone()
        };
        let geometry = StripGeometry { x0: 0.0, y0: y, width, row_height: ROW_HEIGHT, row_pitch: ROW_PITCH };
        let mut plan = plan_strip(&rows, &|_| true, geometry, &view, now_s.saturating_mul(1_000_000), &mut tile);
        plan.style = match args.style {
            StyleArg::Presence => TileStyle::Presence,
            StyleArg::Coverage => TileStyle::Coverage,
        };
        if let Some(e) = failure {
            return Err(e);
        }
        for (i, row) in rows.rows.iter().enumerate() {
            let y0 = (y + ROW_PITCH * i as f32) as u32;
            layout.rows.push(LayoutRow {
                camera: camera.clone(),
                class: row.class.clone(),
                y0,
                y1: y0 + ROW_HEIGHT as u32,
                color: row.color,
            });
        }
        y += ROW_PITCH * rows.rows.len() as f32 + CAMERA_GAP;
        plans.push(plan);
    }
    let height = (y - CAMERA_GAP + MARGIN).max(1.0) as u32;

    let gpu = Headless::new().map_err(|e| anyhow::anyhow!("{e}"))?;
    let tiles_needed: usize = plans.iter().flat_map(|p| p.levels.iter()).map(|l| l.tiles.len()).sum();
    let mut renderer = TimelineRenderer::new(
        &gpu.device,
        offscreen::TARGET_FORMAT,
        (tiles_needed as u32).max(1),
        plans.len().max(1) as u32,
    );
    renderer.upload_budget = u32::MAX;
    let target = Target::new(&gpu.device, args.width, height);
    offscreen::draw(&gpu, &mut renderer, &target, &plans, CLEAR);
    let rgba = offscreen::read_back(&gpu, &target).map_err(|e| anyhow::anyhow!("{e}"))?;
    let image = image::RgbaImage::from_raw(args.width, height, rgba).context("readback has the wrong size")?;
    let mut png = Vec::new();
    image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).context("cannot encode the PNG")?;
    crate::output::write_atomically(&args.out, &png)?;
    if let Some(path) = &args.layout {
        std::fs::write(path, serde_json::to_vec(&layout)?)
            .with_context(|| format!("{}: cannot write", path.display()))?;
    }
    Ok(())
}
