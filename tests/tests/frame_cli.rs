//! `tessera frame`: the frame displayed at a time, bit-identical (I420) to FFmpeg's decode of
//! the same stream; PNG output; bad data and bad requests handled cleanly.

#![allow(clippy::unwrap_used)]

use tessera::demo::{encode, scene};
use tessera_tests::{ffmpeg, tessera};

const START_US: i64 = 1_700_000_000_000_000;
const FRAMES: u32 = 60;

/// Real H.264 (openh264, GOP 25) of the demo scene; returns the Annex-B file.
fn stream(dir: &std::path::Path) -> std::path::PathBuf {
    let bytes = encode::annex_b_clip(scene::ClipKind::PersonAndCar, 2, FRAMES, 25, 25).unwrap();
    let path = dir.join("in.h264");
    std::fs::write(&path, bytes).unwrap();
    let a = dir.join("a");
    let run = tessera(&[
        "import",
        "h264",
        "--archive",
        a.to_str().unwrap(),
        "--stream",
        "cam-2-HD",
        "--start",
        &START_US.to_string(),
        "--fps",
        "25",
        path.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    path
}

/// FFmpeg's decode of every frame, as one I420 buffer.
fn ffmpeg_frames(input: &std::path::Path) -> Vec<u8> {
    let out = input.with_extension("ref.yuv");
    ffmpeg(&["-i", input.to_str().unwrap(), "-f", "rawvideo", "-pix_fmt", "yuv420p", out.to_str().unwrap()]);
    std::fs::read(out).unwrap()
}

#[test]
fn frames_are_bit_identical_to_ffmpeg() {
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path());
    let reference = ffmpeg_frames(&input);
    let frame_bytes = scene::WIDTH * scene::HEIGHT * 3 / 2;
    assert_eq!(reference.len(), frame_bytes * FRAMES as usize);
    let a = tmp.path().join("a");
    // Exactly on a frame, between frames (shows the earlier one), keyframes and P frames.
    for (k, offset_us) in [(0, 0), (1, 39_000), (24, 0), (25, 0), (26, 20_000), (49, 1), (59, 0), (59, 5_000_000)] {
        let at = START_US + i64::from(k) * 40_000 + offset_us;
        let out = tmp.path().join(format!("f{k}.yuv"));
        let run = tessera(&[
            "frame",
            "--archive",
            a.to_str().unwrap(),
            "--stream",
            "cam-2-HD",
            "--at",
            &at.to_string(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 0, "{run:?}");
        let got = std::fs::read(&out).unwrap();
        let k = k.min(FRAMES - 1) as usize;
        assert_eq!(got.len(), frame_bytes, "cropped to 640x360");
        assert!(got == reference[k * frame_bytes..(k + 1) * frame_bytes], "frame {k} differs from FFmpeg's");
    }
}

#[test]
fn png_output_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    stream(tmp.path());
    let a = tmp.path().join("a");
    let a = a.to_str().unwrap();
    let png = tmp.path().join("f.png");
    let run = tessera(&[
        "frame",
        "--archive",
        a,
        "--stream",
        "cam-2-HD",
        "--at",
        "2023-11-14T22:13:20.5Z",
        "--out",
        png.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let img = image::open(&png).unwrap().to_rgb8();
    assert_eq!((img.width(), img.height()), (640, 360));
    // The sky is light and blue-ish by day, the ground darker: the matrix and range are applied.
    let sky = img.get_pixel(320, 10).0;
    let ground = img.get_pixel(320, 350).0;
    assert!(
        sky.iter().map(|&c| u32::from(c)).sum::<u32>() > ground.iter().map(|&c| u32::from(c)).sum::<u32>(),
        "{sky:?} {ground:?}"
    );

    let out = tmp.path().join("x.yuv");
    tessera(&[
        "frame",
        "--archive",
        a,
        "--stream",
        "cam-2-HD",
        "--at",
        &(START_US - 1).to_string(),
        "--out",
        out.to_str().unwrap(),
    ])
    .assert_clean_error("no frame");
    tessera(&["frame", "--archive", a, "--stream", "nope", "--at", "0", "--out", out.to_str().unwrap()])
        .assert_clean_error("nope");
    assert!(!out.exists(), "nothing written on error");

    // Corrupt a P slice's payload in the packet file: the frame still comes out, no panic.
    let pkt = std::fs::read_dir(tmp.path().join("a/fsv/cam-2-HD"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "rf1p"))
        .unwrap();
    let mut bytes = std::fs::read(&pkt).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n / 2..n / 2 + 200] {
        *b ^= 0x5a;
    }
    std::fs::write(&pkt, bytes).unwrap();
    let run = tessera(&[
        "frame",
        "--archive",
        a,
        "--stream",
        "cam-2-HD",
        "--at",
        &(START_US + 59 * 40_000).to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.stderr.contains("panicked"), "{run:?}");
}
