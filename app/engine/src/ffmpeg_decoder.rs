//! The FFmpeg decoder backend (cargo feature `ffmpeg`, on by default; system libavcodec):
//! H.264 of every profile and H.265, decoded exactly as the FFmpeg CLI decodes them. Pictures
//! come out in presentation order; [`crate::playback`] gives each its time.
//!
//! `threads > 1` turns on FFmpeg's frame threads: each thread decodes one picture while the
//! others run, so a seek (decode from the keyframe to the asked picture) uses the second
//! core. Output is identical, only delayed by `threads − 1` pictures until the flush.

use crate::decoder::{DecodedPlanes, VideoDecoder, YuvFrame};
use anyhow::Context;
use ffmpeg_next as ff;
use tessera_storage::codec::ColorInfo;
use tessera_storage::rf1::Codec;

pub struct FfmpegDecoder {
    decoder: ff::decoder::Video,
    /// One frame reused for every `receive_frame` (its buffers are refcounted by FFmpeg).
    frame: ff::frame::Video,
}

// The codec context is used from one thread at a time (the player's), never shared.
#[allow(unsafe_code)]
unsafe impl Send for FfmpegDecoder {}

impl FfmpegDecoder {
    pub fn new(codec: Codec, threads: usize) -> anyhow::Result<Self> {
        ff::init().context("cannot initialise FFmpeg")?;
        // FFmpeg's own log would print to stderr ("error while decoding MB …") and break the
        // CLI's one-line errors; we report decode failures ourselves (tracing, toasts).
        ff::util::log::set_level(ff::util::log::Level::Fatal);
        let id = match codec {
            Codec::H264 => ff::codec::Id::H264,
            Codec::H265 => ff::codec::Id::HEVC,
        };
        let found = ff::decoder::find(id).with_context(|| format!("this FFmpeg has no {} decoder", codec.name()))?;
        let mut context = ff::codec::context::Context::new_with_codec(found);
        let threads = threads.max(1);
        context.set_threading(ff::codec::threading::Config {
            kind: if threads > 1 { ff::codec::threading::Type::Frame } else { ff::codec::threading::Type::None },
            count: threads,
            ..Default::default()
        });
        let decoder = context.decoder().video().context("cannot open the FFmpeg decoder")?;
        Ok(Self { decoder, frame: ff::frame::Video::empty() })
    }

    fn receive(&mut self) -> anyhow::Result<Vec<YuvFrame>> {
        let mut out = Vec::new();
        while self.decoder.receive_frame(&mut self.frame).is_ok() {
            let frame = &self.frame;
            let full_range = match frame.format() {
                ff::format::Pixel::YUVJ420P => true,
                ff::format::Pixel::YUV420P => frame.color_range() == ff::color::Range::JPEG,
                other => anyhow::bail!("FFmpeg decoded {other:?} pictures; only 8-bit 4:2:0 is supported"),
            };
            let (w, h) = (frame.width() as usize, frame.height() as usize);
            let color = ColorInfo { matrix: matrix_code(frame.color_space()), full_range };
            // Hand the decoder's buffers over (the frame holds a reference), no pixel copy.
            let shared = SharedFrame(std::mem::replace(&mut self.frame, ff::frame::Video::empty()));
            let tag = shared.0.pts();
            let mut picture = YuvFrame::shared(w, h, std::sync::Arc::new(shared));
            picture.color = Some(color);
            picture.tag = tag;
            out.push(picture);
        }
        Ok(out)
    }
}

/// A decoded FFmpeg frame shown or cached without copying its planes.
struct SharedFrame(ff::frame::Video);

// The frame's buffers are reference-counted by FFmpeg and never written once decoded; the
// frame itself is only read after it leaves the decoder, so sharing it between threads is
// sound.
#[allow(unsafe_code)]
unsafe impl Send for SharedFrame {}
#[allow(unsafe_code)]
unsafe impl Sync for SharedFrame {}

impl std::fmt::Debug for SharedFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedFrame({}x{})", self.0.width(), self.0.height())
    }
}

impl DecodedPlanes for SharedFrame {
    fn plane(&self, i: usize) -> (&[u8], usize) {
        (self.0.data(i), self.0.stride(i))
    }
    fn bytes(&self) -> usize {
        (0..3).map(|i| self.0.data(i).len()).sum()
    }
}

/// `matrix_coefficients` (H.264/H.265 VUI, ISO/IEC 23091-2) of FFmpeg's colour space; 2 =
/// unspecified.
fn matrix_code(space: ff::color::Space) -> u8 {
    use ff::color::Space;
    match space {
        Space::RGB => 0,
        Space::BT709 => 1,
        Space::FCC => 4,
        Space::BT470BG => 5,
        Space::SMPTE170M => 6,
        Space::SMPTE240M => 7,
        Space::YCGCO => 8,
        Space::BT2020NCL => 9,
        Space::BT2020CL => 10,
        _ => 2,
    }
}

impl VideoDecoder for FfmpegDecoder {
    fn decode(&mut self, access_unit: &[u8]) -> anyhow::Result<Vec<YuvFrame>> {
        let packet = ff::Packet::copy(access_unit);
        self.decoder.send_packet(&packet).context("FFmpeg rejected an access unit")?;
        self.receive()
    }

    fn flush(&mut self) -> anyhow::Result<Vec<YuvFrame>> {
        self.decoder.send_eof().context("FFmpeg flush")?;
        self.receive()
    }

    /// The tag rides as the packet's pts: libavcodec gives each frame the pts of the packet
    /// its picture came from, through reordering and frame threads alike.
    fn decode_tagged(&mut self, access_unit: &[u8], tag: i64) -> anyhow::Result<Vec<YuvFrame>> {
        let mut packet = ff::Packet::copy(access_unit);
        packet.set_pts(Some(tag));
        self.decoder.send_packet(&packet).context("FFmpeg rejected an access unit")?;
        self.receive()
    }

    fn tags_pictures(&self) -> bool {
        true
    }
}
