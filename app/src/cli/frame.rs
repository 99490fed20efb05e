//! `tessera frame --archive DIR --stream NAME --at T --out F`: the picture displayed at a time
//! (in presentation order: the k-th picture of a GOP at its k-th access unit's time, the latest
//! such time ≤ T), as raw I420 (`.yuv`) or PNG (anything else, with the stream's colours).

use crate::engine::playback::FrameSource;
use anyhow::Context;
use std::path::PathBuf;
use tessera_storage::UnixMicros;

#[derive(clap::Args, Debug)]
pub struct FrameArgs {
    #[arg(long)]
    pub archive: PathBuf,
    #[arg(long)]
    pub stream: String,
    #[arg(long)]
    pub at: UnixMicros,
    /// `.yuv` = raw I420 (Y, U, V planes, no padding); otherwise PNG.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: FrameArgs) -> anyhow::Result<()> {
    let mut source = FrameSource::open(&args.archive, &args.stream)?;
    let shown = source.frame_at(args.at.0)?.with_context(|| {
        format!("stream {}: no video at {} (no frame at or before it, or its file does not read)", args.stream, args.at)
    })?;
    let bytes = if args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("yuv")) {
        shown.frame.to_i420()
    } else {
        png_of(&shown.frame, shown.color)?
    };
    crate::output::write_atomically(&args.out, &bytes)
}

/// A decoded picture as PNG bytes, in the stream's colours (also the window's "Save frame").
pub fn png_of(
    frame: &crate::engine::decoder::YuvFrame,
    color: tessera_storage::h264::ColorInfo,
) -> anyhow::Result<Vec<u8>> {
    let rgb = image::RgbImage::from_raw(frame.width as u32, frame.height as u32, frame.to_rgb8(color))
        .context("decoded frame has inconsistent planes")?;
    let mut png = Vec::new();
    rgb.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
    Ok(png)
}
