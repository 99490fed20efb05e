// Video display: Y, U and V planes as three R8 textures, converted to RGB here with the
// stream's colour matrix and range (BT.601 / BT.709, limited / full from the SPS VUI), drawn
// letterboxed into the player panel. No CPU RGB conversion on the display path.

struct Video {
    rect: vec4<f32>,      // picture rectangle in framebuffer pixels: x0, y0, x1, y1
    viewport: vec4<f32>,  // x, y, width, height of the render pass viewport
    matrix: vec4<f32>,    // kr, kb, full_range (1/0), srgb target (1 = write linear)
}

@group(0) @binding(0) var<uniform> video: Video;
@group(0) @binding(1) var plane_y: texture_2d<f32>;
@group(0) @binding(2) var plane_u: texture_2d<f32>;
@group(0) @binding(3) var plane_v: texture_2d<f32>;
@group(0) @binding(4) var bilinear: sampler;

struct VsOut {
    @builtin(position) position: vec4<f32>,
    @location(0) uv: vec2<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    var corners = array<vec2<f32>, 6>(vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0), vec2(0.0, 1.0), vec2(1.0, 0.0), vec2(1.0, 1.0));
    let c = corners[i % 6u];
    let px = mix(video.rect.xy, video.rect.zw, c);
    let rel = (px - video.viewport.xy) / video.viewport.zw;
    var out: VsOut;
    out.position = vec4<f32>(rel.x * 2.0 - 1.0, 1.0 - rel.y * 2.0, 0.0, 1.0);
    out.uv = c;
    return out;
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let y8 = textureSample(plane_y, bilinear, in.uv).r * 255.0;
    let u8 = textureSample(plane_u, bilinear, in.uv).r * 255.0;
    let v8 = textureSample(plane_v, bilinear, in.uv).r * 255.0;
    var y: f32;
    var cb: f32;
    var cr: f32;
    if video.matrix.z > 0.5 {
        y = y8 / 255.0;
        cb = (u8 - 128.0) / 255.0;
        cr = (v8 - 128.0) / 255.0;
    } else {
        y = (y8 - 16.0) / 219.0;
        cb = (u8 - 128.0) / 224.0;
        cr = (v8 - 128.0) / 224.0;
    }
    let kr = video.matrix.x;
    let kb = video.matrix.y;
    let r = y + 2.0 * (1.0 - kr) * cr;
    let b = y + 2.0 * (1.0 - kb) * cb;
    let g = (y - kr * r - kb * b) / (1.0 - kr - kb);
    var rgb = clamp(vec3<f32>(r, g, b), vec3<f32>(0.0), vec3<f32>(1.0));
    if video.matrix.w > 0.5 {
        rgb = srgb_to_linear(rgb);
    }
    return vec4<f32>(rgb, 1.0);
}
