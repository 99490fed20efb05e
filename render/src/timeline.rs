//! The timeline renderer: tile bitmaps live in an `Rg32Uint` atlas (one 1024-texel row per
//! tile, one 64-bit class mask per texel, 8 KiB a tile) managed as an LRU with a fixed slot
//! budget; each camera strip is one quad whose fragment shader ORs the bits a pixel column
//! covers at the fine and coarse level and blends them (see `shaders/timeline.wgsl`).
//!
//! The UI describes each strip with a [`StripPlan`] (which tiles, which rows, which colours);
//! [`TimelineRenderer::prepare`] uploads what is missing (at most `upload_budget` tiles a
//! frame, so a frame never stalls; the rest is drawn from coarser levels) and resolves slots.

use arrayvec::ArrayVec;
use bytemuck::{Pod, Zeroable};
use egui_wgpu::wgpu;
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::Arc;

use tessera_tile_geometry::L_FINE_MIN;
/// Highest tile level.
pub use tessera_tile_geometry::L_MAX;
/// Columns per tile: storage's bits per tile line.
pub use tessera_tile_geometry::TILE_BITS as TILE_COLUMNS;
/// Levels sampled per strip: fine, coarse, and four coarser fallbacks while tiles load.
pub const DEPTHS: usize = 6;
/// Tiles per level a 2000-px strip can touch (≤ 4000 bits = 4 tiles, plus partial ends).
pub const TILES_PER_LEVEL: usize = 6;
/// Class rows per strip (64 classes per camera).
pub const MAX_ROWS: usize = 64;
/// Bytes of one tile in the atlas.
pub const TILE_BYTES: u64 = (TILE_COLUMNS * 8) as u64;

/// Tiles uploaded per frame by default: 8 × 8 KiB = 64 KiB (the per-frame budget).
pub const DEFAULT_UPLOAD_BUDGET: u32 = 8;

const SLOT_EMPTY: i32 = -2;
const SLOT_MISSING: i32 = -1;
const STRIP_STRIDE: u64 = 1792; // size_of::<StripUniform>() rounded up to 256

/// One tile's columns: bit `b` of `masks[col]` = class row bit `b` has a detection there.
pub type TileMasks = [u64; TILE_COLUMNS];

/// What a tile's 64 bits per column mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TileStyle {
    /// One bit per class: seen at some time in the column (issue 4's contract).
    #[default]
    Presence,
    /// 4 bits per class for the first [`COVERAGE_CLASSES`]: the share of the column's time
    /// in which the class was seen, 0..=15 (see the tile feed).
    Coverage,
}

/// Classes a coverage tile has room for (16 × 4 bits).
pub const COVERAGE_CLASSES: usize = 16;

/// What the UI knows of a tile.
#[derive(Clone, Debug)]
pub enum TileData {
    /// Not fetched yet: draw from a coarser level.
    Missing,
    /// Fetched: no detections.
    Empty,
    /// Fetched; `generation` changes when a live tile is refetched (re-uploaded in place).
    Masks { generation: u64, masks: Arc<TileMasks> },
}

/// Identifies a tile in the atlas: a strip source (camera), level and index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AtlasKey {
    pub source: u32,
    pub level: i8,
    pub index: i64,
}

/// One level of a strip: where pixel 0 falls, and the tiles the strip spans.
#[derive(Clone, Debug)]
pub struct LevelPlan {
    pub level: i8,
    pub tile0: i64,
    /// Pixel 0's left edge, in bits of this level from the start of `tile0`.
    pub bit0: f64,
    pub bits_per_px: f64,
    pub tiles: ArrayVec<TileData, TILES_PER_LEVEL>,
}

/// Everything needed to draw one camera strip.
#[derive(Clone, Debug)]
pub struct StripPlan {
    pub source: u32,
    /// Strip rectangle in target pixels: x0, y0, x1, y1.
    pub rect: [f32; 4],
    pub row_height: f32,
    pub row_pitch: f32,
    /// Class bit and sRGB colour (0..=255) of each row, top to bottom.
    pub rows: ArrayVec<(u32, [u8; 3]), MAX_ROWS>,
    /// 0 = fine level only, 1 = coarse only.
    pub blend: f32,
    /// Strip-relative x where the future starts.
    pub future_x: f32,
    pub levels: ArrayVec<LevelPlan, DEPTHS>,
    /// How the tiles' bits are read.
    pub style: TileStyle,
}

/// Seconds-per-pixel → (fine level, blend towards the next).
pub fn level_for(seconds_per_px: f64) -> (i8, f32) {
    let l2 = seconds_per_px.max(1e-9).log2();
    let level = l2.floor().clamp(f64::from(L_FINE_MIN), f64::from(L_MAX));
    let blend = if level >= f64::from(L_MAX) { 0.0 } else { (l2 - level).clamp(0.0, 1.0) };
    (level as i8, blend as f32)
}

/// Level geometry for a view starting at `t0_s` with `seconds_per_px` over `width` px.
pub fn level_geometry(level: i8, t0_s: f64, seconds_per_px: f64, width: f32) -> (i64, f64, f64, usize) {
    let bit_s = 2f64.powi(i32::from(level));
    let tile_s = bit_s * TILE_COLUMNS as f64;
    let tile0 = (t0_s / tile_s).floor() as i64;
    let bit0 = (t0_s - tile0 as f64 * tile_s) / bit_s;
    let bits_per_px = seconds_per_px / bit_s;
    let tiles = ((bit0 + f64::from(width) * bits_per_px) / TILE_COLUMNS as f64).floor() as usize + 1;
    (tile0, bit0, bits_per_px, tiles.min(TILES_PER_LEVEL))
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct LevelUniform {
    bit0: f32,
    bits_per_px: f32,
    pad: [f32; 2],
    slots: [i32; 8],
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StripUniform {
    rect: [f32; 4],
    viewport: [f32; 4],
    row: [f32; 4],
    params: [f32; 4],
    background: [f32; 4],
    future: [f32; 4],
    levels: [LevelUniform; DEPTHS],
    row_bits: [u32; MAX_ROWS],
    row_colors: [[f32; 4]; MAX_ROWS],
}

/// Colours of the parts that are not detections.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub background: [u8; 3],
    pub future: [u8; 3],
}

impl Default for Style {
    fn default() -> Self {
        Self { background: [40, 40, 44], future: [85, 85, 85] }
    }
}

fn rgb(c: [u8; 3]) -> [f32; 4] {
    [f32::from(c[0]) / 255.0, f32::from(c[1]) / 255.0, f32::from(c[2]) / 255.0, 1.0]
}

/// GPU LRU of tiles: `slots` rows of an `Rg32Uint` texture.
pub struct TileAtlas {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    resident: HashMap<AtlasKey, (u32, u64, u64)>, // slot, generation, last used frame
    free: Vec<u32>,
    frame: u64,
    /// Bytes uploaded since the last `begin_frame`.
    pub uploaded_bytes: u64,
    /// Tiles uploaded (ever).
    pub uploads: u64,
}

impl TileAtlas {
    fn new(device: &wgpu::Device, slots: u32) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("timeline tile atlas"),
            size: wgpu::Extent3d { width: TILE_COLUMNS as u32, height: slots, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rg32Uint,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self {
            texture,
            view,
            resident: HashMap::new(),
            free: (0..slots).rev().collect(),
            frame: 0,
            uploaded_bytes: 0,
            uploads: 0,
        }
    }

    /// Resident tiles (for tests and stats).
    pub fn len(&self) -> usize {
        self.resident.len()
    }
    pub fn is_empty(&self) -> bool {
        self.resident.is_empty()
    }

    fn begin_frame(&mut self) {
        self.frame += 1;
        self.uploaded_bytes = 0;
    }

    /// Slot of a tile, uploading it (in place when only its generation changed) if the
    /// frame's budget allows; `None` = draw from a coarser level this frame.
    fn slot_for(
        &mut self,
        queue: &wgpu::Queue,
        key: AtlasKey,
        generation: u64,
        masks: &TileMasks,
        budget: &mut u32,
    ) -> Option<u32> {
        let frame = self.frame;
        if let Some(entry) = self.resident.get_mut(&key) {
            entry.2 = frame;
            if entry.1 == generation {
                return Some(entry.0);
            }
            if *budget == 0 {
                return Some(entry.0); // stale for a frame beats a hole
            }
            entry.1 = generation;
            let slot = entry.0;
            self.write(queue, slot, masks);
            *budget -= 1;
            return Some(slot);
        }
        if *budget == 0 {
            return None;
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                // Evict the least recently used tile not drawn this frame.
                let (&victim, &(slot, _, used)) = self.resident.iter().min_by_key(|(_, v)| v.2)?;
                if used == frame {
                    return None;
                }
                self.resident.remove(&victim);
                slot
            }
        };
        self.write(queue, slot, masks);
        self.resident.insert(key, (slot, generation, frame));
        *budget -= 1;
        Some(slot)
    }

    fn write(&mut self, queue: &wgpu::Queue, slot: u32, masks: &TileMasks) {
        queue.write_texture(
            wgpu::TexelCopyTextureInfo {
                texture: &self.texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: 0, y: slot, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            bytemuck::cast_slice(masks.as_slice()),
            wgpu::TexelCopyBufferLayout { offset: 0, bytes_per_row: Some(TILE_BYTES as u32), rows_per_image: Some(1) },
            wgpu::Extent3d { width: TILE_COLUMNS as u32, height: 1, depth_or_array_layers: 1 },
        );
        self.uploaded_bytes += TILE_BYTES;
        self.uploads += 1;
    }
}

/// The timeline pipeline, its uniform buffer and the tile atlas.
pub struct TimelineRenderer {
    pipeline: wgpu::RenderPipeline,
    uniforms: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
    pub atlas: TileAtlas,
    max_strips: u32,
    strips: u32,
    srgb_target: bool,
    /// Tiles uploaded per frame at most (8 × 8 KiB = 64 KiB).
    pub upload_budget: u32,
    pub style: Style,
    staged: Vec<StripUniform>,
    staging: Vec<u8>,
}

impl TimelineRenderer {
    /// `atlas_slots` × 8 KiB of GPU memory; `max_strips` cameras per frame.
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat, atlas_slots: u32, max_strips: u32) -> Self {
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("timeline"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: NonZeroU64::new(std::mem::size_of::<StripUniform>() as u64),
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Uint,
                        view_dimension: wgpu::TextureViewDimension::D2,
                        multisampled: false,
                    },
                    count: None,
                },
            ],
        });
        let pipeline = crate::quad_pipeline(device, "timeline", crate::shaders::TIMELINE, &layout, target_format);
        let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timeline strips"),
            size: STRIP_STRIDE * u64::from(max_strips),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let atlas = TileAtlas::new(device, atlas_slots);
        let bind_group = Self::bind(device, &layout, &uniforms, &atlas);
        Self {
            pipeline,
            uniforms,
            bind_group,
            atlas,
            max_strips,
            strips: 0,
            srgb_target: target_format.is_srgb(),
            upload_budget: DEFAULT_UPLOAD_BUDGET,
            style: Style::default(),
            staged: Vec::new(),
            staging: Vec::new(),
        }
    }

    fn bind(
        device: &wgpu::Device,
        layout: &wgpu::BindGroupLayout,
        uniforms: &wgpu::Buffer,
        atlas: &TileAtlas,
    ) -> wgpu::BindGroup {
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("timeline"),
            layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: uniforms,
                        offset: 0,
                        size: NonZeroU64::new(std::mem::size_of::<StripUniform>() as u64),
                    }),
                },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&atlas.view) },
            ],
        })
    }

    /// Upload what the plans need (within the budget), resolve slots and write the uniforms.
    /// `viewport` is the render pass viewport in target pixels (x, y, w, h).
    pub fn prepare(&mut self, queue: &wgpu::Queue, plans: &[StripPlan], viewport: [f32; 4]) {
        self.atlas.begin_frame();
        let mut budget = self.upload_budget;
        self.staged.clear();
        for plan in plans.iter().take(self.max_strips as usize) {
            let mut u = StripUniform::zeroed();
            u.rect = plan.rect;
            u.viewport = viewport;
            u.row = [plan.row_height, plan.row_pitch, plan.blend, plan.future_x];
            let coverage = if plan.style == TileStyle::Coverage { 1.0 } else { 0.0 };
            u.params = [if self.srgb_target { 1.0 } else { 0.0 }, plan.rows.len().min(MAX_ROWS) as f32, coverage, 0.0];
            u.background = rgb(self.style.background);
            u.future = rgb(self.style.future);
            for (row, (bit, color)) in plan.rows.iter().take(MAX_ROWS).enumerate() {
                u.row_bits[row] = *bit;
                u.row_colors[row] = rgb(*color);
            }
            for (d, level) in u.levels.iter_mut().enumerate() {
                level.slots = [SLOT_MISSING; 8];
                let Some(lp) = plan.levels.get(d) else { continue };
                level.bit0 = lp.bit0 as f32;
                level.bits_per_px = lp.bits_per_px as f32;
                for (k, tile) in lp.tiles.iter().take(TILES_PER_LEVEL).enumerate() {
                    level.slots[k] = match tile {
                        TileData::Missing => SLOT_MISSING,
                        TileData::Empty => SLOT_EMPTY,
                        TileData::Masks { generation, masks } => {
                            let key = AtlasKey { source: plan.source, level: lp.level, index: lp.tile0 + k as i64 };
                            self.atlas
                                .slot_for(queue, key, *generation, masks, &mut budget)
                                .map_or(SLOT_MISSING, |s| s as i32)
                        }
                    };
                }
            }
            self.staged.push(u);
        }
        // Staging reused frame to frame: steady state allocates nothing here.
        self.staging.clear();
        self.staging.resize((STRIP_STRIDE as usize) * self.staged.len(), 0);
        for (i, u) in self.staged.iter().enumerate() {
            let at = i * STRIP_STRIDE as usize;
            self.staging[at..at + std::mem::size_of::<StripUniform>()].copy_from_slice(bytemuck::bytes_of(u));
        }
        if !self.staging.is_empty() {
            queue.write_buffer(&self.uniforms, 0, &self.staging);
        }
        self.strips = self.staged.len() as u32;
    }

    /// Draw the prepared strips.
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>) {
        pass.set_pipeline(&self.pipeline);
        for i in 0..self.strips {
            pass.set_bind_group(0, &self.bind_group, &[i * STRIP_STRIDE as u32]);
            pass.draw(0..6, 0..1);
        }
    }
}

/// egui paint callback: prepare + paint the timeline with the app's [`TimelineRenderer`],
/// kept in egui_wgpu's callback resources. Plans are in physical target pixels; the render
/// pass viewport is the callback's rectangle as egui_wgpu sets it before `paint` (rounded and
/// clamped to the target the same way, so a strip lands on the pixels it was planned for).
pub struct TimelineCallback {
    pub plans: Vec<StripPlan>,
    /// The callback's rectangle in points (the one given to `new_paint_callback`).
    pub rect: egui::Rect,
}

impl egui_wgpu::CallbackTrait for TimelineCallback {
    fn prepare(
        &self,
        _device: &wgpu::Device,
        queue: &wgpu::Queue,
        screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(renderer) = resources.get_mut::<TimelineRenderer>() {
            let v =
                egui::epaint::ViewportInPixels::from_points(&self.rect, screen.pixels_per_point, screen.size_in_pixels);
            let viewport = [v.left_px as f32, v.top_px as f32, v.width_px as f32, v.height_px as f32];
            renderer.prepare(queue, &self.plans, viewport);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(renderer) = resources.get::<TimelineRenderer>() {
            renderer.paint(pass);
        }
    }
}
