//! H.264 encoding of demo pictures with the bundled openh264 encoder.

use super::scene::{self, ClipKind, Picture};
use anyhow::Context;
use openh264::OpenH264API;
use openh264::encoder::{BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode};
use openh264::formats::YUVSlices;
use tessera_storage::codec::strip_start_code;

/// One encoded frame: its NALUs without start codes.
pub type EncodedFrame = Vec<Vec<u8>>;

/// An encoder at `fps` with a keyframe every `gop` frames and a fixed quantiser (the demo's
/// flat scenes then cost almost nothing between keyframes).
pub fn encoder(fps: u32, gop: u32, bitrate_bps: u32) -> anyhow::Result<Encoder> {
    let config = EncoderConfig::new()
        .max_frame_rate(FrameRate::from_hz(fps as f32))
        .bitrate(BitRate::from_bps(bitrate_bps))
        .rate_control_mode(RateControlMode::Off)
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
                nalus.push(strip_start_code(nal).to_vec());
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
