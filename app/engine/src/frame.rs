//! The picture displayed at a time (in presentation order: the k-th picture of a GOP at its
//! k-th access unit's time, the latest such time ≤ T), as raw I420 (`.yuv`) or PNG (anything
//! else, with the stream's colours): `tessera frame`, and the GUI's "Save frame" ([`png_of`]).

use crate::decoder::YuvFrame;
use crate::playback::FrameSource;
use anyhow::Context;
use std::path::PathBuf;
use tessera_storage::UnixMicros;
use tessera_storage::codec::ColorInfo;

/// Which picture to write, and where: `stream` of `archive` at `at_us`, to `out` (`.yuv` = raw
/// I420: Y, U, V planes, no padding; otherwise PNG).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSpec {
    pub archive: PathBuf,
    pub stream: String,
    pub at_us: i64,
    pub out: PathBuf,
}

/// Write the picture `spec` names (atomically, like every output).
pub fn write_frame(spec: &FrameSpec) -> anyhow::Result<()> {
    let mut source = FrameSource::open(&spec.archive, &spec.stream)?;
    let shown = source.frame_at(spec.at_us)?.with_context(|| {
        format!(
            "stream {}: no video at {} (no frame at or before it, or its file does not read)",
            spec.stream,
            UnixMicros(spec.at_us)
        )
    })?;
    let bytes = if spec.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("yuv")) {
        shown.frame.to_i420()
    } else {
        png_of(&shown.frame, shown.color)?
    };
    crate::output::write_atomically(&spec.out, &bytes)
}

/// A decoded picture as PNG bytes, in the stream's colours (also the window's "Save frame").
pub fn png_of(frame: &YuvFrame, color: ColorInfo) -> anyhow::Result<Vec<u8>> {
    let rgb = image::RgbImage::from_raw(frame.width as u32, frame.height as u32, frame.to_rgb8(color))
        .context("decoded frame has inconsistent planes")?;
    let mut png = Vec::new();
    rgb.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}
