//! Video display: the decoded Y, U, V planes are uploaded as three `R8Unorm` textures and
//! converted to RGB by `shaders/yuv.wgsl` with the stream's matrix and range.

use bytemuck::{Pod, Zeroable};
use egui_wgpu::wgpu;
use std::sync::Arc;

/// What the renderer needs of a decoded picture: I420 planes (0 = Y, 1 = U, 2 = V), each
/// with its row stride in bytes (a decoder's own buffers are uploaded without a copy).
pub trait YuvPlanes: Send + Sync {
    fn size(&self) -> (u32, u32);
    fn plane(&self, i: usize) -> (&[u8], usize);
}

/// Colour conversion of a stream: matrix coefficients and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorSpace {
    pub kr: f32,
    pub kb: f32,
    pub full_range: bool,
}

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct VideoUniform {
    rect: [f32; 4],
    viewport: [f32; 4],
    matrix: [f32; 4],
}

struct Planes {
    size: (u32, u32),
    textures: [wgpu::Texture; 3],
    bind_group: wgpu::BindGroup,
}

/// One picture on screen (a tile of the video grid): its textures and where it is drawn.
struct Slot {
    uniforms: wgpu::Buffer,
    planes: Option<Planes>,
    shown: u64,
    ready: bool,
}

/// Pictures on screen at most (a 3×3 grid, and room for a 4×4 one).
pub const MAX_SLOTS: usize = 16;

/// The video pipeline and the textures of each picture on screen.
pub struct VideoRenderer {
    pipeline: wgpu::RenderPipeline,
    layout: wgpu::BindGroupLayout,
    sampler: wgpu::Sampler,
    slots: Vec<Slot>,
    srgb_target: bool,
}

impl VideoRenderer {
    pub fn new(device: &wgpu::Device, target_format: wgpu::TextureFormat) -> Self {
        let texture_entry = |binding| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::FRAGMENT,
            ty: wgpu::BindingType::Texture {
                sample_type: wgpu::TextureSampleType::Float { filterable: true },
                view_dimension: wgpu::TextureViewDimension::D2,
                multisampled: false,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("video"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                texture_entry(1),
                texture_entry(2),
                texture_entry(3),
                wgpu::BindGroupLayoutEntry {
                    binding: 4,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let pipeline = crate::quad_pipeline(device, "video", crate::shaders::YUV, &layout, target_format);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("video"),
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            ..Default::default()
        });
        Self { pipeline, layout, sampler, slots: Vec::new(), srgb_target: target_format.is_srgb() }
    }

    /// Slot `i`, created on first use.
    fn slot(&mut self, device: &wgpu::Device, i: usize) -> &mut Slot {
        while self.slots.len() <= i {
            let uniforms = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("video"),
                size: std::mem::size_of::<VideoUniform>() as u64,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.slots.push(Slot { uniforms, planes: None, shown: u64::MAX, ready: false });
        }
        &mut self.slots[i]
    }

    fn ensure_planes(&mut self, device: &wgpu::Device, i: usize, size: (u32, u32)) {
        if self.slot(device, i).planes.as_ref().is_some_and(|p| p.size == size) {
            return;
        }
        let (cw, ch) = (size.0.div_ceil(2), size.1.div_ceil(2));
        let make = |w: u32, h: u32, label: &str| {
            device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d { width: w.max(1), height: h.max(1), depth_or_array_layers: 1 },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format: wgpu::TextureFormat::R8Unorm,
                usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
                view_formats: &[],
            })
        };
        let textures = [make(size.0, size.1, "video Y"), make(cw, ch, "video U"), make(cw, ch, "video V")];
        let views: Vec<wgpu::TextureView> =
            textures.iter().map(|t| t.create_view(&wgpu::TextureViewDescriptor::default())).collect();
        let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("video"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry { binding: 0, resource: self.slots[i].uniforms.as_entire_binding() },
                wgpu::BindGroupEntry { binding: 1, resource: wgpu::BindingResource::TextureView(&views[0]) },
                wgpu::BindGroupEntry { binding: 2, resource: wgpu::BindingResource::TextureView(&views[1]) },
                wgpu::BindGroupEntry { binding: 3, resource: wgpu::BindingResource::TextureView(&views[2]) },
                wgpu::BindGroupEntry { binding: 4, resource: wgpu::BindingResource::Sampler(&self.sampler) },
            ],
        });
        self.slots[i].planes = Some(Planes { size, textures, bind_group });
    }

    /// Upload the picture (when its `id` changed) and set where it is drawn.
    pub fn prepare(&mut self, device: &wgpu::Device, queue: &wgpu::Queue, picture: &VideoCallback) {
        let VideoCallback { frame, id, color, rect_px: rect, viewport_px: viewport, slot } = picture;
        let (frame, id, color, rect, viewport) = (frame.as_ref(), *id, *color, *rect, *viewport);
        let i = (*slot).min(MAX_SLOTS - 1);
        let size = frame.size();
        self.ensure_planes(device, i, size);
        let srgb_target = self.srgb_target;
        let slot = &mut self.slots[i];
        if id != slot.shown
            && let Some(planes) = &slot.planes
        {
            let (cw, ch) = (size.0.div_ceil(2), size.1.div_ceil(2));
            for (i, (w, h)) in [(size.0, size.1), (cw, ch), (cw, ch)].into_iter().enumerate() {
                let texture = &planes.textures[i];
                let (data, stride) = frame.plane(i);
                let needed = stride * (h as usize).saturating_sub(1) + w as usize;
                if stride < w as usize || data.len() < needed || u32::try_from(stride).is_err() {
                    continue; // a malformed picture is not drawn rather than read out of bounds
                }
                queue.write_texture(
                    wgpu::TexelCopyTextureInfo {
                        texture,
                        mip_level: 0,
                        origin: wgpu::Origin3d::ZERO,
                        aspect: wgpu::TextureAspect::All,
                    },
                    &data[..needed],
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(stride as u32),
                        rows_per_image: Some(h),
                    },
                    wgpu::Extent3d { width: w, height: h, depth_or_array_layers: 1 },
                );
            }
            slot.shown = id;
        }
        let u = VideoUniform {
            rect,
            viewport,
            matrix: [color.kr, color.kb, if color.full_range { 1.0 } else { 0.0 }, if srgb_target { 1.0 } else { 0.0 }],
        };
        queue.write_buffer(&slot.uniforms, 0, bytemuck::bytes_of(&u));
        slot.ready = true;
    }

    /// Draw slot `i`'s picture (prepared this frame).
    pub fn paint(&self, pass: &mut wgpu::RenderPass<'_>, i: usize) {
        let Some(slot) = self.slots.get(i.min(MAX_SLOTS - 1)) else { return };
        if let (true, Some(planes)) = (slot.ready, &slot.planes) {
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &planes.bind_group, &[]);
            pass.draw(0..6, 0..1);
        }
    }
}

/// Letterbox a `w`×`h` picture into `area` (x0, y0, x1, y1), keeping its aspect ratio.
pub fn letterbox(area: [f32; 4], w: u32, h: u32) -> [f32; 4] {
    let (aw, ah) = (area[2] - area[0], area[3] - area[1]);
    let scale = (aw / w.max(1) as f32).min(ah / h.max(1) as f32);
    let (pw, ph) = (w as f32 * scale, h as f32 * scale);
    let (x0, y0) = (area[0] + (aw - pw) / 2.0, area[1] + (ah - ph) / 2.0);
    [x0, y0, x0 + pw, y0 + ph]
}

/// egui paint callback showing one picture.
pub struct VideoCallback {
    pub frame: Arc<dyn YuvPlanes>,
    /// Changes whenever `frame` is a different picture (uploads only then).
    pub id: u64,
    pub color: ColorSpace,
    /// Picture rectangle and callback viewport, physical pixels.
    pub rect_px: [f32; 4],
    pub viewport_px: [f32; 4],
    /// Which picture on screen this is (a grid tile): each keeps its own textures.
    pub slot: usize,
}

impl egui_wgpu::CallbackTrait for VideoCallback {
    fn prepare(
        &self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        _screen: &egui_wgpu::ScreenDescriptor,
        _encoder: &mut wgpu::CommandEncoder,
        resources: &mut egui_wgpu::CallbackResources,
    ) -> Vec<wgpu::CommandBuffer> {
        if let Some(renderer) = resources.get_mut::<VideoRenderer>() {
            renderer.prepare(device, queue, self);
        }
        Vec::new()
    }

    fn paint(
        &self,
        _info: egui::PaintCallbackInfo,
        pass: &mut wgpu::RenderPass<'static>,
        resources: &egui_wgpu::CallbackResources,
    ) {
        if let Some(renderer) = resources.get::<VideoRenderer>() {
            renderer.paint(pass, self.slot);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn letterbox_keeps_aspect() {
        let r = super::letterbox([0.0, 0.0, 1000.0, 1000.0], 1920, 1080);
        assert!(r[0].abs() < 0.01);
        assert!((r[3] - r[1] - 562.5).abs() < 0.01);
        assert!((r[1] - 218.75).abs() < 0.01);
    }
}
