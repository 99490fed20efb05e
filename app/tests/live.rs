//! The player at the live edge of a stream a recorder is writing (a real-time import of real
//! x264 into a fresh archive, on its own thread): `Live` shows the newest picture and then each
//! new one as it is written, in order and within a few frames of the wall clock; the player
//! reports the stream's growth; a seek leaves the edge.
//!
//! x264 with B-frames: FFmpeg builds only (openh264 has no B-frames).

#![cfg(feature = "ffmpeg")]

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tessera_engine::player::{Player, PlayerCommand, PlayerFrame};
use tessera_storage::UnixMicros;
use tessera_storage::fsv::{Archive, FrameRate, Pace, import_paced};
use tessera_storage::rf1::Codec;

/// `seconds` of 320×180 x264 at 25 fps with B-frames (the pyramid's reorder delay is part of
/// what is measured) and 1 s GOPs.
fn encode(dir: &Path, seconds: u32) -> PathBuf {
    let input = format!("testsrc2=size=320x180:rate=25:duration={seconds}");
    common::x264(&dir.join("live.h264"), &input, &["-preset", "veryfast", "-bf", "2", "-g", "25"])
}

#[test]
fn the_live_edge_follows_a_recorder_picture_by_picture() {
    let tmp = std::env::temp_dir().join(format!("tessera-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("dir");
    let input = encode(&tmp, 5);
    let archive = tmp.join("a");
    let start_us = UnixMicros::now().0;
    let started = Instant::now();
    let recorder = {
        let (archive, input) = (archive.clone(), input.clone());
        std::thread::Builder::new()
            .name("recorder".into())
            .spawn(move || {
                let mut file = std::fs::File::open(&input).expect("fixture");
                let fps = FrameRate { num: 25, den: 1 };
                import_paced(&archive, "cam", Codec::H264, start_us, fps, &mut file, &input, Pace::Realtime { started })
            })
            .expect("thread")
    };
    // The stream appears with its first access unit.
    while Archive::open(&archive).ok().and_then(|a| a.stream("cam").ok().map(|s| s.end_us)).is_none() {
        assert!(started.elapsed() < Duration::from_secs(5), "the recorder wrote its first picture");
        std::thread::sleep(Duration::from_millis(20));
    }
    let player = Player::start(archive.clone(), "cam".into()).expect("player");
    player.send(PlayerCommand::Live).expect("send");

    let mut shown: Vec<(i64, i64)> = Vec::new(); // (picture time, wall clock when it arrived)
    let mut grew = 0;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        match player.wait(Duration::from_secs(2)) {
            Some(PlayerFrame::Picture(p)) => {
                assert!(p.live, "pictures at the edge say so");
                shown.push((p.frame.time_us, UnixMicros::now().0));
            }
            Some(PlayerFrame::Grew { .. }) => grew += 1,
            Some(PlayerFrame::Opened { .. }) => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    assert!(grew >= 20, "the player saw the stream grow: {grew}");
    assert!(shown.len() >= 40, "about a picture per frame interval over 3 s: {}", shown.len());
    assert!(
        shown.windows(2).all(|w| w[1].0 > w[0].0),
        "in order, never back: {:?}",
        shown.iter().map(|(t, _)| t - start_us).collect::<Vec<_>>()
    );
    // A picture of time t is written at wall-clock t: it is on its way to the screen a few
    // frames later (poll, decode, and the B-pyramid's two-picture reorder delay), not seconds.
    let mut lags: Vec<i64> = shown.iter().skip(1).map(|(t, wall)| wall - t).collect();
    lags.sort_unstable();
    let p95 = lags[lags.len() * 95 / 100];
    eprintln!(
        "live edge: {} pictures, latency p50 {} ms, p95 {} ms",
        shown.len(),
        lags[lags.len() / 2] / 1000,
        p95 / 1000
    );
    assert!(p95 < 600_000, "live latency p95 {p95} µs: {lags:?}");

    // A seek leaves the edge.
    player.send(PlayerCommand::Seek(start_us + 500_000)).expect("send");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "the seek's picture");
        if let Some(PlayerFrame::Picture(p)) = player.wait(Duration::from_secs(10))
            && !p.provisional
            && (p.frame.time_us - (start_us + 500_000)).abs() < 40_000
        {
            assert!(!p.live, "a seek back is off the edge");
            break;
        }
    }
    drop(player);
    recorder.join().expect("recorder").expect("the recording completes");
    let _ = std::fs::remove_dir_all(&tmp);
}
