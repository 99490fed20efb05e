//! Headless rendering: a wgpu device without a window (the software Vulkan/GL driver in CI),
//! and a helper that renders strips into an RGBA image with the app's own pipeline.

use crate::timeline::{StripPlan, TimelineRenderer};
use egui_wgpu::wgpu;

/// A headless device and queue.
pub struct Headless {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter_info: wgpu::AdapterInfo,
}

impl Headless {
    /// Any adapter (`WGPU_BACKEND` picks the backend, e.g. `vulkan` for lavapipe in CI).
    pub fn new() -> Result<Self, String> {
        // WGPU_BACKEND wins; otherwise Vulkan (lavapipe in CI), then GL, then Metal.
        let candidates = match wgpu::Backends::from_env() {
            Some(b) => vec![b],
            None => vec![wgpu::Backends::VULKAN, wgpu::Backends::GL, wgpu::Backends::METAL],
        };
        let mut last_error = String::from("no backend tried");
        let mut found = None;
        for backends in candidates {
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends,
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            match pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::LowPower,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })) {
                Ok(adapter) => {
                    found = Some(adapter);
                    break;
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        let adapter = found
            .ok_or_else(|| format!("no GPU adapter (install mesa-vulkan-drivers for software Vulkan): {last_error}"))?;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("tessera offscreen"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| format!("cannot open the GPU device: {e}"))?;
        Ok(Self { device, queue, adapter_info: adapter.get_info() })
    }
}

/// An offscreen `Rgba8Unorm` target (bytes are sRGB values, as in a PNG).
pub struct Target {
    pub texture: wgpu::Texture,
    pub view: wgpu::TextureView,
    pub width: u32,
    pub height: u32,
}

pub const TARGET_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;

impl Target {
    pub fn new(device: &wgpu::Device, width: u32, height: u32) -> Self {
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("offscreen target"),
            size: wgpu::Extent3d { width, height, depth_or_array_layers: 1 },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: TARGET_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        Self { texture, view, width, height }
    }
}

/// Prepare and draw `plans` into `target` (cleared to `clear`), submitting the work.
pub fn draw(gpu: &Headless, renderer: &mut TimelineRenderer, target: &Target, plans: &[StripPlan], clear: [u8; 3]) {
    let commands = encode(gpu, renderer, target, plans, clear);
    gpu.queue.submit([commands]);
}

/// Prepare (uploads, uniforms) and record the draw, without submitting it.
pub fn encode(
    gpu: &Headless,
    renderer: &mut TimelineRenderer,
    target: &Target,
    plans: &[StripPlan],
    clear: [u8; 3],
) -> wgpu::CommandBuffer {
    renderer.prepare(&gpu.queue, plans, [0.0, 0.0, target.width as f32, target.height as f32]);
    let mut encoder =
        gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("timeline offscreen") });
    {
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("timeline offscreen"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: &target.view,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color {
                        r: f64::from(clear[0]) / 255.0,
                        g: f64::from(clear[1]) / 255.0,
                        b: f64::from(clear[2]) / 255.0,
                        a: 1.0,
                    }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        renderer.paint(&mut pass);
    }
    encoder.finish()
}

/// Copy the target back to the CPU as tightly packed RGBA rows.
pub fn read_back(gpu: &Headless, target: &Target) -> Result<Vec<u8>, String> {
    let row = target.width * 4;
    let padded = row.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT;
    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: u64::from(padded) * u64::from(target.height),
        usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        mapped_at_creation: false,
    });
    let mut encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("readback") });
    encoder.copy_texture_to_buffer(
        wgpu::TexelCopyTextureInfo {
            texture: &target.texture,
            mip_level: 0,
            origin: wgpu::Origin3d::ZERO,
            aspect: wgpu::TextureAspect::All,
        },
        wgpu::TexelCopyBufferInfo {
            buffer: &buffer,
            layout: wgpu::TexelCopyBufferLayout {
                offset: 0,
                bytes_per_row: Some(padded),
                rows_per_image: Some(target.height),
            },
        },
        wgpu::Extent3d { width: target.width, height: target.height, depth_or_array_layers: 1 },
    );
    gpu.queue.submit([encoder.finish()]);
    let slice = buffer.slice(..);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    gpu.device.poll(wgpu::PollType::wait_indefinitely()).map_err(|e| format!("GPU poll failed: {e}"))?;
    rx.recv().map_err(|e| e.to_string())?.map_err(|e| format!("cannot map the readback buffer: {e}"))?;
    let data = slice.get_mapped_range().map_err(|e| format!("cannot read the readback buffer: {e:?}"))?;
    let mut out = Vec::with_capacity((row * target.height) as usize);
    for y in 0..target.height as usize {
        out.extend_from_slice(&data[y * padded as usize..y * padded as usize + row as usize]);
    }
    drop(data);
    buffer.unmap();
    Ok(out)
}
