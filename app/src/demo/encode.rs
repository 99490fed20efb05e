//! H.264 encoding of demo pictures with the bundled openh264 encoder.

use super::scene::{self, ClipKind, Picture};
use anyhow::Context;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode};
use openh264::formats::YUVSlices;
use tessera_storage::h264;

/// One encoded frame: its NALUs without start codes.
pub type EncodedFrame = Vec<Vec<u8>>;

/// An encoder at `fps` with a keyframe every `gop` frames and a fixed quantiser (the demo's
/// flat scenes then cost almost nothing between keyframes).
pub fn encoder(fps: u32, gop: u32, bitrate_bps: u32) -> anyhow::Result<Encoder> {
    encoder_with(fps, gop, bitrate_bps, RateControlMode::Off)
}

/// An encoder with the given rate control (`Bitrate` holds a camera-like bitrate).
pub fn encoder_with(fps: u32, gop: u32, bitrate_bps: u32, rate_control: RateControlMode) -> anyhow::Result<Encoder> {
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .bitrate(BitRate::from_bps(bitrate_bps))
        .rate_control_mode(rate_control)
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(gop));
    Encoder::with_api_config(OpenH264API::from_source(), config).context("cannot start the openh264 encoder")
}

/// Encode one I420 picture; returns its NALUs (start codes stripped).
pub fn encode_picture(
    encoder: &mut Encoder,
    pic: &Picture,
    width: usize,
    height: usize,
) -> anyhow::Result<EncodedFrame> {
    let source = YUVSlices::new((&pic.y, &pic.u, &pic.v), (width, height), (width, width / 2, width / 2));
    let bitstream = encoder.encode(&source).context("openh264 failed to encode a frame")?;
    let mut nalus = Vec::new();
    for l in 0..bitstream.num_layers() {
        let Some(layer) = bitstream.layer(l) else { continue };
        for n in 0..layer.nal_count() {
            if let Some(nal) = layer.nal_unit(n) {
                nalus.push(h264::strip_start_code(nal).to_vec());
            }
        }
    }
    Ok(nalus)
}

/// Encode one clip (`CLIP_SECS` at `FPS`) for a camera. A fresh encoder per clip makes every
/// clip start with SPS/PPS + IDR, so clips can be concatenated in any order.
pub fn encode_clip(kind: ClipKind, camera: usize, night: bool) -> anyhow::Result<Vec<EncodedFrame>> {
    let mut enc = encoder(scene::FPS, scene::GOP_FRAMES, 120_000)?;
    let objects = scene::clip_objects(kind, camera);
    let mut pic = Picture::new();
    let frames = scene::CLIP_SECS * scene::FPS;
    (0..frames)
        .map(|i| {
            scene::draw(&mut pic, camera, night, f64::from(i) / f64::from(scene::FPS), &objects);
            encode_picture(&mut enc, &pic, scene::WIDTH, scene::HEIGHT)
        })
        .collect()
}

/// An Annex-B elementary stream of `frames` frames of a camera's scene (for tests and import demos).
pub fn annex_b_clip(kind: ClipKind, camera: usize, frames: u32, fps: u32, gop: u32) -> anyhow::Result<Vec<u8>> {
    let mut enc = encoder(fps, gop, 200_000)?;
    let objects = scene::clip_objects(kind, camera);
    let mut pic = Picture::new();
    let mut out = Vec::new();
    for i in 0..frames {
        scene::draw(&mut pic, camera, false, f64::from(i) / f64::from(fps), &objects);
        for nalu in encode_picture(&mut enc, &pic, scene::WIDTH, scene::HEIGHT)? {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&nalu);
        }
    }
    Ok(out)
}

/// An Annex-B stream of the demo scene upscaled `scale`× (nearest neighbour): real H.264 at
/// e.g. 1920×1080 for the playback benchmarks, without drawing code for every size.
pub fn annex_b_scaled(frames: u32, fps: u32, gop: u32, scale: usize, bitrate_bps: u32) -> anyhow::Result<Vec<u8>> {
    let (w, h) = (scene::WIDTH * scale, scene::HEIGHT * scale);
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .bitrate(BitRate::from_bps(bitrate_bps))
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(gop));
    let mut enc =
        Encoder::with_api_config(OpenH264API::from_source(), config).context("cannot start the openh264 encoder")?;
    let objects = scene::clip_objects(ClipKind::PersonAndCar, 1);
    let mut small = Picture::new();
    let mut big = Picture { y: vec![0; w * h], u: vec![0; w * h / 4], v: vec![0; w * h / 4] };
    let mut out = Vec::new();
    for i in 0..frames {
        scene::draw(&mut small, 1, false, f64::from(i % (scene::CLIP_SECS * fps)) / f64::from(fps), &objects);
        for (dst, src, dw, sw) in [
            (&mut big.y, &small.y, w, scene::WIDTH),
            (&mut big.u, &small.u, w / 2, scene::WIDTH / 2),
            (&mut big.v, &small.v, w / 2, scene::WIDTH / 2),
        ] {
            for (r, row) in dst.chunks_exact_mut(dw).enumerate() {
                let src_row = &src[(r / scale) * sw..(r / scale + 1) * sw];
                for (c, px) in row.iter_mut().enumerate() {
                    *px = src_row[c / scale];
                }
            }
        }
        // Sensor-like grain, so P frames carry real residuals (a camera's bitrate, not a
        // cartoon's): ±4 luma levels, changing every frame.
        let mut x = 0x2545_F491_4F6C_DD1Du64 ^ u64::from(i);
        for px in big.y.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *px = px.saturating_add((x % 9) as u8).saturating_sub(4);
        }
        for nalu in encode_picture(&mut enc, &big, w, h)? {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(&nalu);
        }
    }
    Ok(out)
}
