//! Video decoding behind a trait ([`VideoDecoder`]), with two backends ([`Backend`]): FFmpeg
//! (system libavcodec, `ffmpeg_decoder.rs`, cargo feature `ffmpeg`, on by default) whenever the
//! build has it, and the bundled openh264 for builds without it (`--no-default-features`) or
//! when `TESSERA_DECODER=openh264` asks for it. openh264 is configured with
//! `flush_after_decode(NoFlush)` and flushed at end of stream.

use openh264::OpenH264API;
use openh264::decoder::{Decoder as OpenH264, DecoderConfig, Flush};
use openh264::formats::YUVSource;
use std::sync::Arc;
use tessera_storage::codec::ColorInfo;
use tessera_storage::rf1::Codec;

/// A decoded picture: I420 planes cropped to the display size, each with its row stride —
/// either our own tightly packed copy or the decoder's buffers, shared without a copy
/// (copying a 1080p picture costs ~1 ms, 15 % of decoding it).
#[derive(Clone, Debug)]
pub struct YuvFrame {
    pub width: usize,
    pub height: usize,
    planes: Planes,
    /// Presentation time, µs since the epoch (set by [`crate::playback`] from the picture's
    /// place in presentation order; decoders leave it 0).
    pub time_us: i64,
    /// The colour description the decoder read from the stream (FFmpeg reports the SPS VUI of
    /// H.264 and H.265); `None` when the decoder does not say (openh264).
    pub color: Option<ColorInfo>,
    /// The tag of the access unit the picture came from ([`VideoDecoder::decode_tagged`]);
    /// `None` from decoders that do not carry tags.
    pub tag: Option<i64>,
}

#[derive(Clone, Debug)]
enum Planes {
    Packed([Vec<u8>; 3]),
    Shared(Arc<dyn DecodedPlanes>),
}

/// A decoder's picture buffers, kept alive as long as the picture is shown or cached.
pub trait DecodedPlanes: Send + Sync + std::fmt::Debug {
    /// Plane `i` (0 = Y, 1 = U, 2 = V) from its first visible pixel, and its stride.
    fn plane(&self, i: usize) -> (&[u8], usize);
    /// Bytes held (for the cache budget).
    fn bytes(&self) -> usize;
}

impl YuvFrame {
    /// A picture over a decoder's buffers (no copy).
    pub fn shared(width: usize, height: usize, planes: Arc<dyn DecodedPlanes>) -> Self {
        Self { width, height, planes: Planes::Shared(planes), time_us: 0, color: None, tag: None }
    }

    pub fn chroma_size(&self) -> (usize, usize) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// Plane `i` (0 = Y, 1 = U, 2 = V) and its row stride in bytes.
    pub fn plane(&self, i: usize) -> (&[u8], usize) {
        match &self.planes {
            Planes::Packed(p) => (&p[i], if i == 0 { self.width } else { self.chroma_size().0 }),
            Planes::Shared(s) => s.plane(i),
        }
    }

    /// Bytes held by the picture's buffers.
    pub fn bytes(&self) -> usize {
        match &self.planes {
            Planes::Packed(p) => p.iter().map(Vec::len).sum(),
            Planes::Shared(s) => s.bytes(),
        }
    }

    /// Raw I420: the Y plane, then U, then V, no padding.
    pub fn to_i420(&self) -> Vec<u8> {
        let (cw, ch) = self.chroma_size();
        let mut out = Vec::with_capacity(self.width * self.height + 2 * cw * ch);
        for (i, (w, h)) in [(self.width, self.height), (cw, ch), (cw, ch)].into_iter().enumerate() {
            let (data, stride) = self.plane(i);
            for row in 0..h {
                let start = row * stride;
                out.extend_from_slice(data.get(start..start + w).unwrap_or(&[]));
            }
        }
        out.resize(self.width * self.height + 2 * cw * ch, 0);
        out
    }

    /// RGB8, converted with the stream's matrix and range (the same maths as `yuv.wgsl`).
    pub fn to_rgb8(&self, color: ColorInfo) -> Vec<u8> {
        let m = ColorMatrix::of(color, self.height);
        let ((y_plane, ys), (u_plane, us), (v_plane, vs)) = (self.plane(0), self.plane(1), self.plane(2));
        let at = |data: &[u8], i: usize| f32::from(data.get(i).copied().unwrap_or(0));
        let mut out = Vec::with_capacity(self.width * self.height * 3);
        for row in 0..self.height {
            for col in 0..self.width {
                let y = at(y_plane, row * ys + col);
                let (u, v) = (at(u_plane, (row / 2) * us + col / 2), at(v_plane, (row / 2) * vs + col / 2));
                out.extend_from_slice(&m.rgb(y, u, v));
            }
        }
        out
    }
}

impl tessera_render::video::YuvPlanes for YuvFrame {
    fn size(&self) -> (u32, u32) {
        (self.width as u32, self.height as u32)
    }
    fn plane(&self, i: usize) -> (&[u8], usize) {
        YuvFrame::plane(self, i)
    }
}

/// YUV → RGB coefficients for a matrix and range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorMatrix {
    pub kr: f32,
    pub kb: f32,
    pub full_range: bool,
}

impl ColorMatrix {
    /// BT.709 for `matrix_coefficients` 1, BT.601 for 5/6; unspecified: BT.709 at HD sizes,
    /// BT.601 below (what players commonly assume).
    pub fn of(color: ColorInfo, height: usize) -> Self {
        let bt709 = match color.matrix {
            1 => true,
            5 | 6 => false,
            _ => height > 576,
        };
        let (kr, kb) = if bt709 { (0.2126, 0.0722) } else { (0.299, 0.114) };
        Self { kr, kb, full_range: color.full_range }
    }

    pub fn rgb(&self, y: f32, u: f32, v: f32) -> [u8; 3] {
        let (y, cb, cr) = if self.full_range {
            (y / 255.0, (u - 128.0) / 255.0, (v - 128.0) / 255.0)
        } else {
            ((y - 16.0) / 219.0, (u - 128.0) / 224.0, (v - 128.0) / 224.0)
        };
        let kg = 1.0 - self.kr - self.kb;
        let r = y + 2.0 * (1.0 - self.kr) * cr;
        let b = y + 2.0 * (1.0 - self.kb) * cb;
        let g = (y - self.kr * r - self.kb * b) / kg;
        let q = |x: f32| (x * 255.0).round().clamp(0.0, 255.0) as u8;
        [q(r), q(g), q(b)]
    }
}

/// A video decoder: feed access units (Annex-B) in decode order; pictures come out in
/// presentation order (a decoder that reorders — B-frames, H.265 — holds pictures back).
pub trait VideoDecoder: Send {
    /// Decode one access unit; returns the pictures that became ready.
    fn decode(&mut self, access_unit: &[u8]) -> anyhow::Result<Vec<YuvFrame>>;
    /// End of stream: every picture still buffered.
    fn flush(&mut self) -> anyhow::Result<Vec<YuvFrame>>;
    /// Decode one access unit whose pictures come out with [`YuvFrame::tag`] = `tag`, so a
    /// caller that leaves access units out still knows which picture is which.
    fn decode_tagged(&mut self, access_unit: &[u8], tag: i64) -> anyhow::Result<Vec<YuvFrame>> {
        let _ = tag;
        self.decode(access_unit)
    }
    /// Whether [`Self::decode_tagged`] tags the pictures (FFmpeg: the packet's pts).
    fn tags_pictures(&self) -> bool {
        false
    }
}

/// Decoder backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// FFmpeg's libavcodec (cargo feature `ffmpeg`, on by default): H.264 of every profile
    /// (B-frames included) and H.265; frame threads on request.
    Ffmpeg,
    /// Bundled openh264: H.264 without B-frames, single-threaded.
    OpenH264,
}

impl Backend {
    /// The backends this build has.
    pub fn available() -> &'static [Backend] {
        if cfg!(feature = "ffmpeg") { &[Backend::Ffmpeg, Backend::OpenH264] } else { &[Backend::OpenH264] }
    }

    /// The backend for a stream. FFmpeg whenever the build has it: on detailed x264 content
    /// it decodes ~2.7× faster than openh264 single-threaded (BENCHMARKS.md), uses a second
    /// core when asked, and decodes every profile; `TESSERA_DECODER=openh264` forces openh264
    /// for H.264.
    pub fn for_codec(codec: Codec) -> Backend {
        let forced_openh264 = std::env::var("TESSERA_DECODER").as_deref() == Ok("openh264");
        if cfg!(feature = "ffmpeg") && (codec == Codec::H265 || !forced_openh264) {
            Backend::Ffmpeg
        } else {
            Backend::OpenH264
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Ffmpeg => "ffmpeg",
            Backend::OpenH264 => "openh264",
        }
    }

    /// A decoder for `codec`, using up to `threads` threads where the backend can.
    pub fn decoder(self, codec: Codec, threads: usize) -> anyhow::Result<Box<dyn VideoDecoder>> {
        match (self, codec) {
            #[cfg(feature = "ffmpeg")]
            (Backend::Ffmpeg, _) => Ok(Box::new(crate::ffmpeg_decoder::FfmpegDecoder::new(codec, threads)?)),
            #[cfg(not(feature = "ffmpeg"))]
            (Backend::Ffmpeg, _) => {
                let _ = threads;
                anyhow::bail!("this build has no FFmpeg decoder (built with --no-default-features)")
            }
            (Backend::OpenH264, Codec::H264) => Ok(Box::new(OpenH264Decoder::new()?)),
            (Backend::OpenH264, Codec::H265) => {
                anyhow::bail!("H.265 video needs the FFmpeg decoder (this build has only openh264)")
            }
        }
    }
}

/// The bundled openh264 backend (H.264 without B-frames; it outputs in decode order).
pub struct OpenH264Decoder {
    inner: OpenH264,
}

impl OpenH264Decoder {
    pub fn new() -> anyhow::Result<Self> {
        let config = DecoderConfig::new().flush_after_decode(Flush::NoFlush);
        let inner = OpenH264::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| anyhow::anyhow!("openh264: {e}"))?;
        Ok(Self { inner })
    }
}

fn copy_planes(src: &impl YUVSource) -> YuvFrame {
    let (w, h) = src.dimensions();
    let (ys, us, vs) = src.strides();
    YuvFrame::from_planes(w, h, [(src.y(), ys), (src.u(), us), (src.v(), vs)])
}

impl YuvFrame {
    /// Copy strided I420 planes into a tightly packed frame (time 0).
    pub fn from_planes(w: usize, h: usize, planes: [(&[u8], usize); 3]) -> Self {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let plane = |(data, stride): (&[u8], usize), pw: usize, ph: usize| {
            let mut out = Vec::with_capacity(pw * ph);
            for r in 0..ph {
                let start = r * stride;
                out.extend_from_slice(data.get(start..start + pw).unwrap_or(&[]));
            }
            out.resize(pw * ph, 0);
            out
        };
        let [y, u, v] = planes;
        YuvFrame {
            width: w,
            height: h,
            planes: Planes::Packed([plane(y, w, h), plane(u, cw, ch), plane(v, cw, ch)]),
            time_us: 0,
            color: None,
            tag: None,
        }
    }
}

impl VideoDecoder for OpenH264Decoder {
    fn decode(&mut self, access_unit: &[u8]) -> anyhow::Result<Vec<YuvFrame>> {
        let out = self.inner.decode(access_unit).map_err(|e| anyhow::anyhow!("openh264: {e}"))?;
        Ok(out.map(|f| copy_planes(&f)).into_iter().collect())
    }

    fn flush(&mut self) -> anyhow::Result<Vec<YuvFrame>> {
        let frames = self.inner.flush_remaining().map_err(|e| anyhow::anyhow!("openh264: {e}"))?;
        Ok(frames.iter().map(copy_planes).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_matrices() {
        let bt601 = ColorMatrix::of(ColorInfo { matrix: 6, full_range: false }, 360);
        assert_eq!(bt601.rgb(16.0, 128.0, 128.0), [0, 0, 0]);
        assert_eq!(bt601.rgb(235.0, 128.0, 128.0), [255, 255, 255]);
        let full = ColorMatrix::of(ColorInfo { matrix: 1, full_range: true }, 1080);
        assert_eq!(full.rgb(255.0, 128.0, 128.0), [255, 255, 255]);
        // Pure red in BT.709 limited range.
        let bt709 = ColorMatrix::of(ColorInfo { matrix: 1, full_range: false }, 1080);
        let [r, g, b] = bt709.rgb(63.0, 102.0, 240.0);
        assert!(r > 250 && g < 5 && b < 5, "{r} {g} {b}");
    }
}
