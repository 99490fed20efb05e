//! tessera-render: the wgpu pipelines Tessera draws, used through egui_wgpu paint callbacks
//! in the app and directly for offscreen rendering (`tessera render-timeline`, benchmarks).
//! Knows nothing of panels or storage: it draws what a plan describes.
//!
//! - [`timeline`]: tile atlas (GPU LRU), strip plans, the timeline pipeline and its callback.
//! - [`video`]: Y/U/V plane textures and the colour-matrix shader for the player.
//! - [`offscreen`]: a headless device and a render-to-image helper.

pub mod offscreen;
pub mod timeline;
pub mod video;

pub use egui_wgpu::wgpu;

/// A pipeline that draws quads generated in the vertex shader (`vs_main`, no vertex
/// buffers) and shades them with `fs_main`, one bind group, no blending: what the timeline
/// and video renderers both need.
pub(crate) fn quad_pipeline(
    device: &wgpu::Device,
    label: &str,
    source: &str,
    layout: &wgpu::BindGroupLayout,
    target_format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(label),
        bind_group_layouts: &[Some(layout)],
        immediate_size: 0,
    });
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(label),
        layout: Some(&pipeline_layout),
        vertex: wgpu::VertexState {
            module: &shader,
            entry_point: Some("vs_main"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module: &shader,
            entry_point: Some("fs_main"),
            compilation_options: Default::default(),
            targets: &[Some(wgpu::ColorTargetState {
                format: target_format,
                blend: None,
                write_mask: wgpu::ColorWrites::ALL,
            })],
        }),
        multiview_mask: None,
        cache: None,
    })
}

/// WGSL sources, embedded at build time (validated by a naga test).
pub mod shaders {
    pub const TIMELINE: &str = include_str!("../../shaders/timeline.wgsl");
    pub const YUV: &str = include_str!("../../shaders/yuv.wgsl");
    /// Every shader with its file name.
    pub const ALL: &[(&str, &str)] = &[("timeline.wgsl", TIMELINE), ("yuv.wgsl", YUV)];
}

#[cfg(test)]
mod tests {
    /// Every shader parses and validates with naga (no GPU needed).
    #[test]
    fn shaders_validate() {
        for &(name, source) in super::shaders::ALL {
            let module =
                naga::front::wgsl::parse_str(source).unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
                .validate(&module)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        }
    }
}
