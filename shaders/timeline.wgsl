// Timeline strips: one quad per camera strip; each fragment finds its class row, ORs the tile
// bits its pixel column covers at the fine level (L) and the coarse level (L+1), and blends
// the two so zooming never pops. Missing tiles fall back to coarser levels (depth 1..5).
//
// Atlas: Rg32Uint, 1024 x SLOTS. Row `slot` holds one tile; texel `col` is the 64-bit class
// mask of that column (x = classes 0..31, y = classes 32..63), or in the coverage style
// (params.z = 1) 4 bits per class for classes 0..15: the share of the column's time the
// class was seen, 0..15 (x = classes 0..7, y = classes 8..15). Coverage is drawn as
// intensity, so busy hours and quiet nights differ at a glance.

const DEPTHS: u32 = 6u;
const TILES: u32 = 6u;
const SLOT_EMPTY: i32 = -2; // known to have no detections
const SLOT_MISSING: i32 = -1; // not loaded yet: fall back to a coarser level

struct Level {
    // Pixel 0's left edge in bits of this level, relative to the start of tile `tile0`.
    bit0: f32,
    bits_per_px: f32,
    _pad0: f32,
    _pad1: f32,
    slots_a: vec4<i32>, // tiles tile0 .. tile0+3
    slots_b: vec4<i32>, // tiles tile0+4, tile0+5, unused, unused
}

struct Strip {
    rect: vec4<f32>,          // x0, y0, x1, y1 in framebuffer pixels
    viewport: vec4<f32>,      // x, y, width, height of the render pass viewport, framebuffer pixels
    row: vec4<f32>,           // row height, row pitch, blend (0 = fine, 1 = coarse), future_x (strip-relative px)
    params: vec4<f32>,        // srgb target (1 = write linear), rows, coverage style (1), unused
    background: vec4<f32>,    // row background (sRGB 0..1)
    future: vec4<f32>,        // future fill (sRGB 0..1)
    levels: array<Level, 6>,
    row_bits: array<vec4<u32>, 16>,   // class bit of each row (64 rows)
    row_colors: array<vec4<f32>, 64>, // sRGB 0..1
}

@group(0) @binding(0) var<uniform> strip: Strip;
@group(0) @binding(1) var atlas: texture_2d<u32>;

struct VsOut {
    @builtin(position) position: vec4<f32>,
}

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> VsOut {
    // Two triangles covering the strip rectangle.
    var corners = array<vec2<f32>, 6>(vec2(0.0, 0.0), vec2(1.0, 0.0), vec2(0.0, 1.0), vec2(0.0, 1.0), vec2(1.0, 0.0), vec2(1.0, 1.0));
    let px = mix(strip.rect.xy, strip.rect.zw, corners[i % 6u]);
    let rel = (px - strip.viewport.xy) / strip.viewport.zw;
    let ndc = vec2<f32>(rel.x * 2.0 - 1.0, 1.0 - rel.y * 2.0);
    var out: VsOut;
    out.position = vec4<f32>(ndc, 0.0, 1.0);
    return out;
}

fn slot_of(level: Level, tile: u32) -> i32 {
    if tile < 4u {
        return level.slots_a[tile];
    }
    if tile < TILES {
        return level.slots_b[tile - 4u];
    }
    return SLOT_MISSING;
}

// The class's value in a texel: presence 0/1, or coverage 0..1.
fn class_value(mask: vec2<u32>, class_bit: u32) -> f32 {
    if strip.params.z > 0.5 {
        if class_bit >= 16u {
            return 0.0;
        }
        let word = select(mask.x, mask.y, class_bit >= 8u);
        return f32((word >> ((class_bit & 7u) * 4u)) & 15u) / 15.0;
    }
    let word = select(mask.x, mask.y, class_bit >= 32u);
    return f32((word >> (class_bit & 31u)) & 1u);
}

// The most of `class_bit` in the pixel's span (presence: 1 = set somewhere; coverage: the
// busiest column's share), or -1 when a tile is missing.
fn sample_level(level: Level, px: f32, class_bit: u32) -> f32 {
    // A hair of slack so f32 rounding never drops a bit the column touches.
    let a = level.bit0 + px * level.bits_per_px - 1e-3;
    let b = level.bit0 + (px + 1.0) * level.bits_per_px + 1e-3;
    let first = i32(floor(max(a, 0.0)));
    let last = i32(ceil(b)) - 1;
    var found = 0.0;
    for (var bit = first; bit <= last; bit++) {
        let tile = u32(bit) >> 10u;
        let slot = slot_of(level, tile);
        if slot == SLOT_MISSING {
            return -1.0;
        }
        if slot == SLOT_EMPTY {
            continue;
        }
        let mask = textureLoad(atlas, vec2<i32>(bit & 1023, slot), 0).xy;
        found = max(found, class_value(mask, class_bit));
    }
    return found;
}

// Sample at `depth`, falling back to coarser levels while tiles load.
fn sample(depth: u32, px: f32, class_bit: u32) -> f32 {
    for (var d = depth; d < DEPTHS; d++) {
        let s = sample_level(strip.levels[d], px, class_bit);
        if s >= 0.0 {
            return s;
        }
    }
    return 0.0;
}

fn to_output(c: vec3<f32>) -> vec3<f32> {
    if strip.params.x > 0.5 {
        // sRGB target: the hardware encodes, so write linear.
        let lo = c / 12.92;
        let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
        return select(hi, lo, c <= vec3<f32>(0.04045));
    }
    return c;
}

@fragment
fn fs_main(in: VsOut) -> @location(0) vec4<f32> {
    let local = in.position.xy - strip.rect.xy;
    let px = floor(local.x);
    let row_pitch = strip.row.y;
    let row = u32(floor(local.y / row_pitch));
    let in_row = local.y - f32(row) * row_pitch;
    if row >= u32(strip.params.y) || in_row >= strip.row.x {
        discard;
    }
    if px >= strip.row.w {
        return vec4<f32>(to_output(strip.future.rgb), 1.0);
    }
    let class_bit = strip.row_bits[row / 4u][row % 4u];
    let fine = sample(0u, px, class_bit);
    let coarse = sample(1u, px, class_bit);
    var on = mix(fine, coarse, strip.row.z);
    if strip.params.z > 0.5 && on > 0.0 {
        // A few seconds in a long column must still show: a floor, then the square root.
        on = 0.25 + 0.75 * sqrt(on);
    }
    let color = mix(strip.background.rgb, strip.row_colors[row].rgb, on);
    return vec4<f32>(to_output(color), 1.0);
}
