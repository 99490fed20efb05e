//! With `--features ffmpeg`: H.265 streams and H.264 streams with B-frames decode exactly as
//! FFmpeg decodes them (streams made by FFmpeg's libx265 / libx264 encoders).

#![cfg(feature = "ffmpeg")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use tessera_tests::{ffmpeg, tessera};

const START_US: i64 = 1_700_000_000_000_000;
const FRAMES: usize = 50;
const FRAME_BYTES: usize = 320 * 240 * 3 / 2;

/// Encode a test pattern, import it, and return FFmpeg's own decode of every frame.
fn fixture(dir: &Path, codec: &str, encoder_args: &[&str]) -> Vec<u8> {
    let input = dir.join(format!("in.{codec}"));
    let mut args = vec!["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-frames:v", "50", "-pix_fmt", "yuv420p"];
    args.extend_from_slice(encoder_args);
    args.extend_from_slice(&["-f", codec, input.to_str().unwrap()]);
    ffmpeg(&args);
    let import = if codec == "hevc" { "h265" } else { "h264" };
    let run = tessera(&[
        "import",
        import,
        "--archive",
        dir.join("a").to_str().unwrap(),
        "--stream",
        "s",
        "--start",
        &START_US.to_string(),
        "--fps",
        "25",
        input.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let reference = dir.join("ref.yuv");
    ffmpeg(&["-i", input.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", "yuv420p", reference.to_str().unwrap()]);
    let bytes = std::fs::read(reference).unwrap();
    assert_eq!(bytes.len(), FRAMES * FRAME_BYTES);
    bytes
}

fn frame_at(dir: &Path, k: usize) -> Vec<u8> {
    let out = dir.join(format!("f{k}.yuv"));
    let at = START_US + k as i64 * 40_000;
    let run = tessera(&[
        "frame",
        "--archive",
        dir.join("a").to_str().unwrap(),
        "--stream",
        "s",
        "--at",
        &at.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    std::fs::read(out).unwrap()
}

#[test]
fn h265_frames_are_bit_identical_to_ffmpeg() {
    let tmp = tempfile::tempdir().unwrap();
    let reference =
        fixture(tmp.path(), "hevc", &["-c:v", "libx265", "-x265-params", "bframes=0:keyint=25:log-level=error"]);
    for k in [0, 1, 12, 24, 25, 37, 49] {
        let got = frame_at(tmp.path(), k);
        assert!(got == reference[k * FRAME_BYTES..(k + 1) * FRAME_BYTES], "H.265 frame {k} differs from FFmpeg's");
    }
}

#[test]
fn b_frame_streams_decode_every_picture_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let reference =
        fixture(tmp.path(), "h264", &["-c:v", "libx264", "-bf", "2", "-g", "25", "-x264-params", "log-level=error"]);
    // rf1 keeps access units in decode order, so a time shows the picture of the access unit
    // stored there. Every one of them must be one of FFmpeg's pictures, each exactly once.
    let mut remaining: BTreeMap<&[u8], usize> = BTreeMap::new();
    for chunk in reference.chunks_exact(FRAME_BYTES) {
        *remaining.entry(chunk).or_default() += 1;
    }
    for k in 0..FRAMES {
        let got = frame_at(tmp.path(), k);
        let left = remaining
            .get_mut(got.as_slice())
            .unwrap_or_else(|| panic!("access unit {k}: the picture is not one FFmpeg decodes"));
        assert!(*left > 0, "access unit {k}: picture shown twice");
        *left -= 1;
    }
}
