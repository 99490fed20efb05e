//! The player thread on a real archive: exact seeks, frame steps across GOP and file
//! boundaries, playing forwards and backwards (keyframe-only above 8×), gaps reported,
//! corrupt data survived, and the decoded-frame cache bounded while scrubbing.

use std::time::Duration;
use tessera::demo::{DemoArgs, scene, write_demo};
use tessera::engine::playback::FrameSource;
use tessera::engine::player::{Picture, Player, PlayerCommand, PlayerFrame};
use tessera_storage::fsv::Archive;

const END_US: i64 = 1_793_534_400_000_000; // 2026-11-01T12:00:00Z, on a 1000 s file boundary
const FRAME_US: i64 = 1_000_000 / scene::FPS as i64;

fn demo(dir: &std::path::Path, hours: f64) {
    let args = DemoArgs {
        dir: None,
        hours,
        cameras: 1,
        end: Some(tessera_storage::UnixMicros(END_US)),
        event_days: 0.0,
        no_gui: true,
    };
    write_demo(dir, &args).expect("demo");
}

/// Frame times come from 1/4096-s ticks: equal within a millisecond.
fn near(a: i64, b: i64) -> bool {
    (a - b).abs() < 1000
}

fn picture(player: &Player) -> Picture {
    loop {
        match player.wait(Duration::from_secs(10)) {
            Some(PlayerFrame::Picture(p)) => return p,
            Some(PlayerFrame::Opened { .. }) => continue,
            Some(PlayerFrame::Error(e)) => panic!("player error: {e}"),
            other => panic!("expected a picture, got {other:?}"),
        }
    }
}

#[test]
fn seek_step_and_play() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 1.0);
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    // A file boundary (files start every 1000 s, on keyframes).
    let boundary = END_US - 1_000_000_000;
    player.send(PlayerCommand::Seek(boundary + FRAME_US / 2));
    let p = picture(&player);
    assert_eq!(p.frame.time_us, boundary, "the frame displayed at a time is the latest at or before it");
    assert_eq!((p.frame.width, p.frame.height), (scene::WIDTH, scene::HEIGHT));
    // Step back across the file boundary, then forward again.
    player.send(PlayerCommand::Step(-1));
    let t = picture(&player).frame.time_us;
    assert!(near(t, boundary - FRAME_US), "{t}");
    player.send(PlayerCommand::Step(2));
    let t = picture(&player).frame.time_us;
    assert!(near(t, boundary + FRAME_US), "{t}");

    // 64×: keyframes only (one per 4 s GOP), moving forwards.
    player.send(PlayerCommand::Play(64.0));
    let times: Vec<i64> = (0..4).map(|_| picture(&player).frame.time_us).collect();
    player.send(PlayerCommand::Pause);
    assert!(times.windows(2).all(|w| near(w[1] - w[0], i64::from(scene::GOP_FRAMES) * FRAME_US)), "{times:?}");

    // Reverse at 8×: every frame, backwards.
    player.send(PlayerCommand::Seek(boundary));
    let _ = picture(&player);
    player.send(PlayerCommand::Play(-8.0));
    let times: Vec<i64> = (0..6).map(|_| picture(&player).frame.time_us).collect();
    player.send(PlayerCommand::Pause);
    assert!(times.windows(2).all(|w| near(w[0] - w[1], FRAME_US)), "{times:?}");

    // Before the first frame: the UI is told, not left waiting.
    player.send(PlayerCommand::Seek(END_US - 10 * 3_600_000_000));
    loop {
        match player.wait(Duration::from_secs(10)) {
            Some(PlayerFrame::NoVideo { .. }) => break,
            Some(PlayerFrame::Picture(_) | PlayerFrame::Opened { .. }) => continue, // frames queued before the seek
            Some(PlayerFrame::Error(e)) => panic!("{e}"),
            None => panic!("no answer"),
        }
    }
}

#[test]
fn gaps_are_reported_and_corrupt_data_is_survived() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.6);
    // Remove a middle file: a gap of 1000 s in the recording.
    let archive = Archive::open(tmp.path()).expect("open");
    let stream = archive.stream("cam-1-HD").expect("stream");
    let middle = &stream.files[1];
    for path in middle.paths(&stream.dir) {
        std::fs::remove_file(path).expect("rm");
    }
    let gap_start = middle.start_ms * 1000;
    // Corrupt the middle of the last file's packets.
    let last = stream.files.last().expect("files");
    let pkt = last.paths(&stream.dir)[1].clone();
    let mut bytes = std::fs::read(&pkt).expect("read");
    let n = bytes.len();
    bytes[n / 3..n / 3 + 300].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(&pkt, bytes).expect("write");

    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    player.send(PlayerCommand::Seek(gap_start - 2 * FRAME_US));
    let _ = picture(&player);
    player.send(PlayerCommand::Play(2.0));
    let mut saw_gap = false;
    for _ in 0..8 {
        let p = picture(&player);
        if p.notice.as_deref().is_some_and(|n| n.contains("gap")) {
            saw_gap = true;
            assert!(p.frame.time_us >= gap_start + 999_000_000, "jumped over the gap");
            break;
        }
    }
    player.send(PlayerCommand::Pause);
    assert!(saw_gap, "the gap was reported");
    // Through the corrupt region: seeks keep answering.
    for k in 0..20 {
        player.send(PlayerCommand::Seek(last.start_ms * 1000 + k * 7_000_000));
        match player.wait(Duration::from_secs(10)) {
            Some(PlayerFrame::Picture(_) | PlayerFrame::Error(_) | PlayerFrame::Opened { .. }) => {}
            other => panic!("no answer to a seek into corrupt data: {other:?}"),
        }
    }
}

#[test]
fn scrubbing_keeps_the_frame_cache_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 1.0);
    let archive = Archive::open(tmp.path()).expect("open");
    let stream = archive.stream("cam-1-HD").expect("stream").clone();
    let budget = 8 << 20;
    let mut source = FrameSource::new(stream.clone(), budget).expect("source");
    for k in 0..300 {
        let at = stream.start_us + k * 11_000_000;
        source.frame_at(at).expect("frame");
        assert!(source.cache_bytes() <= budget + 20 * scene::WIDTH * scene::HEIGHT * 3 / 2, "{}", source.cache_bytes());
    }
    // Stepping back within a cached GOP needs no decoding.
    let t = stream.start_us + 9 * FRAME_US;
    source.frame_at(t).expect("frame");
    let decoded = source.decoded_frames;
    let prev = source.neighbour(t, false).expect("neighbour").expect("previous");
    source.frame_at(prev).expect("frame");
    assert_eq!(source.decoded_frames, decoded);
}
