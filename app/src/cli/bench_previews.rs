//! `tessera bench previews`: `previews build` beside the FFmpeg CLI making keyframe thumbnails
//! of the same stream in the same run (`ffmpeg -threads 1 -skip_frame nokey -i S.h264 -vf
//! scale=320:-2 -f image2 …`), and what the previews cost in storage against the video.
//!
//! Both make one 320-px picture per keyframe (`--every 0`) into a fresh temporary store or
//! folder; the storage figure is for the default spacing (one per 10 s).

use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use tessera_engine::previews::{BuildSpec, build};
use tessera_storage::fsv::Archive;
use tessera_storage::previews::DEFAULT_EVERY_US;

#[derive(clap::Args, Debug)]
pub struct PreviewsBenchArgs {
    /// An archive made by `tessera bench make-hd`.
    #[arg(long)]
    archive: PathBuf,
    #[arg(long, default_value = "hd")]
    stream: String,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Debug)]
pub struct PreviewsBenchReport {
    /// Keyframes of the stream (one preview each with `--every 0`).
    keyframes: u64,
    /// `previews build --every 0` on every core, previews per second (wall clock).
    previews_per_s: f64,
    workers: usize,
    /// The same with one decoding thread.
    previews_per_s_1_thread: f64,
    /// `ffmpeg -threads 1 -skip_frame nokey … -vf scale=320:-2` thumbnails per second.
    ffmpeg_thumbnails_per_s: Option<f64>,
    ffmpeg_thumbnails: u64,
    /// `previews_per_s` ÷ `ffmpeg_thumbnails_per_s` (target ≥ 1.5).
    vs_ffmpeg: f64,
    /// The stream's rf1 files.
    video_bytes: u64,
    /// The store file after `previews build` at the default spacing (one per 10 s).
    store_bytes_default: u64,
    previews_default: u64,
    /// `store_bytes_default` ÷ `video_bytes` (target ≤ 1 %).
    store_fraction_default: f64,
    /// The store with every keyframe, and the mean JPEG size.
    store_bytes_every_keyframe: u64,
    jpeg_bytes_mean: f64,
}

fn file_bytes(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(PathBuf::from(p)).ok()
        })
        .map(|m| m.len())
        .sum()
}

pub fn run(args: PreviewsBenchArgs) -> anyhow::Result<()> {
    let report = bench(&args.archive, &args.stream)?;
    if args.json {
        return crate::cli::print_json(&report);
    }
    crate::cli::out!("{report:#?}")?;
    Ok(())
}

fn bench(root: &Path, stream_name: &str) -> anyhow::Result<PreviewsBenchReport> {
    let archive = Archive::open(root)?;
    let stream = archive.stream(stream_name)?;
    let codec = stream.codec().context("the stream has no readable video")?;
    let tmp = tempfile::tempdir().context("cannot make a temporary folder")?;
    // The stream as the camera sent it, for the CLI.
    let annex_b = tmp.path().join("stream.es");
    let mut bytes = Vec::new();
    for p in stream.read_range(stream.start_us, stream.end_us, false)? {
        bytes.extend_from_slice(&[0, 0, 0, 1]);
        bytes.extend_from_slice(tessera_storage::codec::strip_start_code(&p.packet.data));
    }
    std::fs::write(&annex_b, &bytes).with_context(|| format!("{}: cannot write", annex_b.display()))?;
    drop(bytes);

    let run = |name: &str, every_us: i64, workers: usize| {
        let store = tmp.path().join(name);
        let spec = BuildSpec {
            archive: root.to_owned(),
            stream: Some(stream_name.to_owned()),
            every_us,
            workers,
            store: Some(store.clone()),
        };
        let report = build(&spec, |_| {})?;
        anyhow::Ok((report, file_bytes(&store)))
    };
    let (all, store_bytes_every_keyframe) = run("all.sqlite", 0, 0)?;
    let (one, _) = run("one.sqlite", 0, 1)?;
    let (default, store_bytes_default) = run("default.sqlite", DEFAULT_EVERY_US, 0)?;

    let thumbs = tmp.path().join("thumbs");
    std::fs::create_dir(&thumbs)?;
    let format = match codec {
        tessera_storage::rf1::Codec::H264 => "h264",
        tessera_storage::rf1::Codec::H265 => "hevc",
    };
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-threads", "1", "-skip_frame", "nokey", "-f", format, "-i"])
        .arg(&annex_b)
        .args(["-vf", "scale=320:-2", "-fps_mode", "passthrough", "-f", "image2"])
        .arg(thumbs.join("%06d.jpg"))
        .status();
    let ffmpeg_seconds = started.elapsed().as_secs_f64();
    let ffmpeg_thumbnails = std::fs::read_dir(&thumbs)?.count() as u64;
    let ffmpeg_thumbnails_per_s = status.is_ok_and(|s| s.success()).then(|| ffmpeg_thumbnails as f64 / ffmpeg_seconds);

    let previews_per_s = all.previews as f64 / all.seconds;
    let video_bytes = stream.bytes();
    let jpeg_bytes = tessera_storage::previews::PreviewStore::open_read_at(&tmp.path().join("all.sqlite"))?
        .map(|s| s.totals())
        .transpose()?
        .unwrap_or((0, 0));
    Ok(PreviewsBenchReport {
        keyframes: all.previews,
        previews_per_s,
        workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
        previews_per_s_1_thread: one.previews as f64 / one.seconds,
        ffmpeg_thumbnails_per_s,
        ffmpeg_thumbnails,
        vs_ffmpeg: ffmpeg_thumbnails_per_s.map_or(0.0, |f| previews_per_s / f),
        video_bytes,
        store_bytes_default,
        previews_default: default.previews,
        store_fraction_default: store_bytes_default as f64 / video_bytes.max(1) as f64,
        store_bytes_every_keyframe,
        jpeg_bytes_mean: jpeg_bytes.1 as f64 / jpeg_bytes.0.max(1) as f64,
    })
}
