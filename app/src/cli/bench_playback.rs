//! `tessera bench make-hd` and `tessera bench playback`: decoding and seeking on the code
//! paths the player uses, beside the FFmpeg CLI on the same stream in the same run.
//!
//! - `decode_fps` per backend: pictures per second through [`FrameSource::frame_at`] and
//!   [`FrameSource::neighbour`] (what the player thread calls while playing), single-threaded,
//!   next to `ffmpeg -threads 1` decoding the same access units (exported from the archive).
//! - `ffmpeg_skip_bidir_speedup`: the CLI with `-skip_frame bidir` (no B-picture decoded)
//!   against it in full, on the same access units — the most a seek could gain by skipping.
//! - Seeks (`first_picture_ms_*`: to the first picture of the two-stage seek; `seek_ms_*`: to
//!   the exact picture), steps back (two in three across a GOP boundary: the previous GOP must be decoded)
//!   and scrubbing are timed through a real [`Player`] thread, from the command to the
//!   picture ready for upload. Targets are chosen so each lands in a GOP the player has not
//!   cached.

use anyhow::Context;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tessera_engine::decoder::Backend;
use tessera_engine::playback::FrameSource;
use tessera_engine::player::{Player, PlayerCommand, PlayerFrame};
use tessera_storage::UnixMicros;

/// Pictures decoded sequentially for the decode rate.
const DECODE_PICTURES: u64 = 500;
/// Decode-rate rounds (best of each kept).
const ROUNDS: usize = 3;

#[derive(Serialize, Debug)]
pub struct BackendReport {
    backend: Backend,
    /// Single-threaded pictures per second.
    decode_fps: f64,
    /// `decode_fps` ÷ `ffmpeg -threads 1` on the same stream.
    vs_ffmpeg_cli: f64,
}

#[derive(Serialize, Debug)]
pub struct PlaybackReport {
    /// The default backend's single-threaded decode rate.
    decode_fps: f64,
    backend: Backend,
    /// `ffmpeg -threads 1` decoding the same access units (null output), pictures/s.
    ffmpeg_threads1_fps: Option<f64>,
    backends: Vec<BackendReport>,
    /// The default backend with the player's decoder threads (seeking, playing above 1×).
    decode_fps_threaded: f64,
    /// `ffmpeg -threads <decoder_threads>` on the same stream, pictures/s.
    ffmpeg_threaded_fps: Option<f64>,
    /// How much faster `ffmpeg -threads 1 -skip_frame bidir` gets through the same access units
    /// than `ffmpeg -threads 1` (it decodes no B-picture: what a seek could skip at most).
    ffmpeg_skip_bidir_speedup: Option<f64>,
    decoder_threads: usize,
    /// Seeks to a random picture (uniform over the stream), command to the exact picture.
    seek_ms_p50: f64,
    seek_ms_p95: f64,
    /// The same seeks, command to the first picture of the two-stage seek (the GOP's keyframe
    /// decoded alone, or the exact picture when that is as quick).
    first_picture_ms_p50: f64,
    first_picture_ms_p95: f64,
    /// One frame back after each seek; two seeks in three land on a GOP's first picture, so
    /// those steps cross a GOP boundary (the previous GOP must be decoded).
    step_back_ms_p95: f64,
    /// Across a GOP boundary, sent the moment the seek's picture arrives.
    step_back_across_gop_ms_p95: f64,
    /// Across a GOP boundary, sent 300 ms after the seek's picture arrived (the player decodes
    /// the previous GOP while paused).
    step_back_across_gop_after_look_ms_p95: f64,
    /// Keyframe-only updates per second while scrubbing (from the p95 keyframe time).
    scrub_updates_per_s: f64,
    seeks: usize,
    width: usize,
    height: usize,
    /// Most bytes the decoded-frame cache held during the sequential decode.
    gop_cache_bytes_max: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0.0)
}

/// Decode [`DECODE_PICTURES`] pictures from the start as the player does; pictures/s.
fn decode_rate(source: &mut FrameSource) -> anyhow::Result<(f64, usize)> {
    let (start, end) = (source.stream.start_us, source.stream.end_us);
    let before = source.decoded_frames;
    let started = Instant::now();
    let mut t = start;
    while source.decoded_frames - before < DECODE_PICTURES {
        if source.frame_at(t)?.is_none() {
            break;
        }
        match source.neighbour(t, true)? {
            Some(next) if next <= end => t = next,
            _ => break,
        }
    }
    let fps = (source.decoded_frames - before) as f64 / started.elapsed().as_secs_f64();
    Ok((fps, source.high_water_bytes))
}

/// The stream's first access units as one Annex-B file (what a camera sent), for the CLI.
fn export_annex_b(source: &FrameSource, path: &Path) -> anyhow::Result<()> {
    let stream = &source.stream;
    // 2 × the pictures decoded, at 25 fps, is ample (ffmpeg stops at DECODE_PICTURES).
    let end = stream.start_us + (2 * DECODE_PICTURES as i64) * 40_000;
    let mut out = Vec::new();
    for p in stream.read_range(stream.start_us, end.min(stream.end_us), false)? {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(tessera_storage::codec::strip_start_code(&p.packet.data));
    }
    std::fs::write(path, out).with_context(|| format!("{}: cannot write", path.display()))
}

/// `ffmpeg -threads N` decoding the first [`DECODE_PICTURES`] pictures: pictures/s (wall
/// clock, process start included: ~1 % of the run). `None` without the FFmpeg CLI.
fn ffmpeg_cli_fps(annex_b: &Path, codec: tessera_storage::rf1::Codec, threads: usize) -> Option<f64> {
    let format = match codec {
        tessera_storage::rf1::Codec::H264 => "h264",
        tessera_storage::rf1::Codec::H265 => "hevc",
    };
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-threads", &threads.to_string(), "-f", format, "-i"])
        .arg(annex_b)
        .args(["-frames:v", &DECODE_PICTURES.to_string(), "-f", "null", "-"])
        .status()
        .ok()?;
    status.success().then(|| DECODE_PICTURES as f64 / started.elapsed().as_secs_f64())
}

/// Seconds `ffmpeg -threads 1 [extra]` takes to decode every access unit of `annex_b`.
fn ffmpeg_cli_seconds(annex_b: &Path, codec: tessera_storage::rf1::Codec, extra: &[&str]) -> Option<f64> {
    let format = match codec {
        tessera_storage::rf1::Codec::H264 => "h264",
        tessera_storage::rf1::Codec::H265 => "hevc",
    };
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-threads", "1"])
        .args(extra)
        .args(["-f", format, "-i"])
        .arg(annex_b)
        .args(["-f", "null", "-"])
        .status()
        .ok()?;
    status.success().then(|| started.elapsed().as_secs_f64())
}

/// Wait for the player's next picture (`exact`: passing over a provisional one); its time and
/// whether it is provisional.
fn next_picture(player: &Player, exact: bool) -> anyhow::Result<(i64, bool)> {
    loop {
        match player.wait(Duration::from_secs(30)) {
            Some(PlayerFrame::Picture(p)) if exact && p.provisional => continue,
            Some(PlayerFrame::Picture(p)) => return Ok((p.frame.time_us, p.provisional)),
            Some(PlayerFrame::Opened { .. } | PlayerFrame::Grew { .. }) => continue,
            Some(PlayerFrame::NoVideo { at_us }) => anyhow::bail!("no video at {}", UnixMicros(at_us)),
            Some(PlayerFrame::Error(e)) => anyhow::bail!("player: {e}"),
            None => anyhow::bail!("the player did not answer in 30 s"),
        }
    }
}

/// Send `command`; milliseconds to the exact picture and its time.
fn timed(player: &Player, command: PlayerCommand) -> anyhow::Result<(f64, i64)> {
    timed_two_stage(player, command).map(|(_, exact, t)| (exact, t))
}

/// Send `command`; milliseconds to the first picture and to the exact one, and its time.
fn timed_two_stage(player: &Player, command: PlayerCommand) -> anyhow::Result<(f64, f64, i64)> {
    let started = Instant::now();
    let _ = player.send(command);
    let (mut t, provisional) = next_picture(player, false)?;
    let first = started.elapsed().as_secs_f64() * 1e3;
    if provisional {
        t = next_picture(player, true)?.0;
    }
    Ok((first, started.elapsed().as_secs_f64() * 1e3, t))
}

pub fn bench_playback(archive: &Path, stream: &str, seeks: usize) -> anyhow::Result<PlaybackReport> {
    let mut source = FrameSource::open(archive, stream)?;
    let default_backend = source.backend;
    let threads = source.threads;
    let (start, end) = (source.stream.start_us, source.stream.end_us);

    let dir = tempfile::tempdir()?;
    let annex_b = dir.path().join("stream.annexb");
    export_annex_b(&source, &annex_b)?;

    // Rounds alternate the CLI and each backend, best of each kept: on a shared, noisy
    // machine a ratio of bests holds where single runs swing by ±20 %.
    let backends_here: Vec<Backend> = Backend::available()
        .iter()
        .copied()
        .filter(|&b| b != Backend::OpenH264 || source.codec == tessera_storage::rf1::Codec::H264)
        .collect();
    let mut cli = [None::<f64>; 2];
    let (mut full_s, mut bidir_s) = (None::<f64>, None::<f64>);
    let mut ours = vec![0.0f64; backends_here.len()];
    let mut decode_fps_threaded = 0.0f64;
    let mut cache_max = 0;
    for _round in 0..ROUNDS {
        for (i, t) in [1, threads].into_iter().enumerate() {
            if let Some(fps) = ffmpeg_cli_fps(&annex_b, source.codec, t) {
                cli[i] = Some(cli[i].map_or(fps, |c| c.max(fps)));
            }
        }
        let best = |old: Option<f64>, new: Option<f64>| match (old, new) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        full_s = best(full_s, ffmpeg_cli_seconds(&annex_b, source.codec, &[]));
        bidir_s = best(bidir_s, ffmpeg_cli_seconds(&annex_b, source.codec, &["-skip_frame", "bidir"]));
        for (i, &backend) in backends_here.iter().enumerate() {
            source.set_decoder(backend, 1);
            let (fps, high_water) = decode_rate(&mut source)?;
            cache_max = cache_max.max(high_water);
            ours[i] = ours[i].max(fps);
        }
        source.set_decoder(default_backend, threads);
        decode_fps_threaded = decode_fps_threaded.max(decode_rate(&mut source)?.0);
    }
    let [ffmpeg_threads1_fps, ffmpeg_threaded_fps] = cli;
    let backends: Vec<BackendReport> = backends_here
        .iter()
        .zip(&ours)
        .map(|(&backend, &fps)| BackendReport {
            backend,
            decode_fps: fps,
            vs_ffmpeg_cli: ffmpeg_threads1_fps.map_or(0.0, |f| fps / f),
        })
        .collect();

    // GOP starts (keyframe times) from the index, to aim half the seeks at GOP edges.
    let mut key_times = Vec::new();
    let mut t = start;
    while let Some(next) = source.next_key_frame(t, true)? {
        if next > end || key_times.len() > 100_000 {
            break;
        }
        key_times.push(next);
        t = next;
    }
    source.clear_cache();
    anyhow::ensure!(key_times.len() >= 24, "{stream}: too short to benchmark (needs 24 GOPs)");

    let player = Player::start(archive.to_owned(), stream.to_owned())?;
    let (mut seek_ms, mut back_ms, mut scrub_ms, mut first_ms) = (vec![], vec![], vec![], vec![]);
    let (mut back_across_ms, mut back_across_paused_ms) = (vec![], vec![]);
    let mut recent: Vec<usize> = Vec::new();
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut random = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut round = 0;
    while seek_ms.len() < seeks {
        // A GOP (with its predecessor) that none of the last few seeks touched: cold.
        let gop = 1 + (random() % (key_times.len() as u64 - 2)) as usize;
        if recent.iter().any(|&g| g.abs_diff(gop) <= 2) {
            continue;
        }
        recent.push(gop);
        // Kinds in turn: a random picture; a GOP's first picture, then at once one back; the
        // same after a 300 ms look at the picture (a person's reaction time).
        let kind = round % 3;
        let span = key_times[gop + 1] - key_times[gop];
        let at = if kind == 0 { key_times[gop] + (random() % span.max(1) as u64) as i64 } else { key_times[gop] };
        let (first, ms, shown) = timed_two_stage(&player, PlayerCommand::Seek(at))?;
        if kind == 0 {
            seek_ms.push(ms); // seeks to a GOP's first picture are cheap: not counted here
            first_ms.push(first);
        }
        round += 1;
        if kind == 2 {
            std::thread::sleep(Duration::from_millis(300));
        }
        let (ms, _) = timed(&player, PlayerCommand::Step(-1))?;
        back_ms.push(ms);
        match kind {
            1 if shown == key_times[gop] => back_across_ms.push(ms),
            2 if shown == key_times[gop] => back_across_paused_ms.push(ms),
            _ => {}
        }
        // Scrubbing lands on the keyframe of another cold GOP.
        let other = (gop + key_times.len() / 2) % (key_times.len() - 1);
        let (ms, _) = timed(&player, PlayerCommand::Scrub(key_times[other] + span / 2))?;
        scrub_ms.push(ms);
        recent.push(other);
        // The player's cache holds ~3 1080p GOPs; remembering 4 targets (each blocking 5
        // GOPs) leaves room to choose in a stream of 24 GOPs or more.
        while recent.len() > 4 {
            recent.remove(0);
        }
    }
    let (width, height) = {
        let shown = source.frame_at(key_times[0])?.context("no picture at the first keyframe")?;
        (shown.frame.width, shown.frame.height)
    };
    for v in [&mut seek_ms, &mut first_ms, &mut back_ms, &mut back_across_ms, &mut back_across_paused_ms, &mut scrub_ms]
    {
        v.sort_by(f64::total_cmp);
    }
    Ok(PlaybackReport {
        decode_fps: backends.iter().find(|b| b.backend == default_backend).map_or(0.0, |b| b.decode_fps),
        backend: default_backend,
        ffmpeg_threads1_fps,
        backends,
        decode_fps_threaded,
        ffmpeg_threaded_fps,
        ffmpeg_skip_bidir_speedup: full_s.zip(bidir_s).map(|(full, bidir)| full / bidir.max(1e-6)),
        decoder_threads: threads,
        seek_ms_p50: percentile(&seek_ms, 0.5),
        seek_ms_p95: percentile(&seek_ms, 0.95),
        first_picture_ms_p50: percentile(&first_ms, 0.5),
        first_picture_ms_p95: percentile(&first_ms, 0.95),
        step_back_ms_p95: percentile(&back_ms, 0.95),
        step_back_across_gop_ms_p95: percentile(&back_across_ms, 0.95),
        step_back_across_gop_after_look_ms_p95: percentile(&back_across_paused_ms, 0.95),
        scrub_updates_per_s: 1000.0 / percentile(&scrub_ms, 0.95).max(1e-3),
        seeks: seek_ms.len(),
        width,
        height,
        gop_cache_bytes_max: cache_max,
    })
}

/// Write `<dir>/source.h264` — x264 High, 1080p25, 4 Mbit/s, 2 s GOP with B-frames, of
/// detailed moving content made by the FFmpeg CLI (a moving test pattern under film-grain-like
/// noise: every macroblock changes every frame, as at a busy street) — or take `from`, and
/// import it as stream `hd`.
pub fn make_hd(dir: &Path, seconds: u32, from: Option<PathBuf>) -> anyhow::Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let source = match from {
        Some(path) => path,
        None => encode_hd(dir, seconds)?,
    };
    let fps = tessera_storage::fsv::FrameRate::parse("25").map_err(|e| anyhow::anyhow!(e))?;
    let start_us = UnixMicros::now().0 - i64::from(seconds) * 1_000_000;
    let mut file = std::io::BufReader::new(
        std::fs::File::open(&source).with_context(|| format!("{}: cannot read", source.display()))?,
    );
    let summary = tessera_storage::fsv::import_h264(dir, "hd", start_us, fps, &mut file, &source)?;
    eprintln!(
        "{}: stream hd, {}x{}, {} frames from {}, in {:.1} s",
        dir.display(),
        summary.width,
        summary.height,
        summary.access_units,
        source.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Encode `<dir>/source.h264`: the `make-hd` content (x264 High, 1080p25, 4 Mbit/s, 2 s GOP,
/// B-frames, a moving test pattern under film-grain-like noise) by the FFmpeg CLI.
pub fn encode_hd(dir: &Path, seconds: u32) -> anyhow::Result<PathBuf> {
    let path = dir.join("source.h264");
    let input = format!("testsrc2=size=1920x1080:rate=25:duration={seconds},noise=alls=24:allf=t+u,hue=H=t/4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", &input])
        .args(["-c:v", "libx264", "-preset", "fast", "-profile:v", "high", "-pix_fmt", "yuv420p"])
        .args(["-b:v", "4M", "-maxrate", "4M", "-bufsize", "8M", "-g", "50", "-keyint_min", "50"])
        .args(["-sc_threshold", "0", "-bf", "3", "-f", "h264"])
        .arg(&path)
        .status()
        .context("cannot run the ffmpeg CLI (scripts/setup.sh installs it)")?;
    anyhow::ensure!(status.success(), "ffmpeg could not encode the benchmark stream");
    Ok(path)
}
