//! The player thread on a real archive: exact seeks, frame steps across GOP and file
//! boundaries, playing forwards and backwards (keyframe-only above 8×), gaps reported,
//! corrupt data survived, and the decoded-frame cache bounded while scrubbing.

use std::time::Duration;
use tessera::demo::{DemoArgs, scene, write_demo};
use tessera_engine::playback::FrameSource;
use tessera_engine::player::{Picture, Player, PlayerCommand, PlayerFrame};
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
        no_sky: true,
        no_labels: true,
    };
    write_demo(dir, &args).expect("demo");
}

/// Frame times come from 1/4096-s ticks: equal within a millisecond.
fn near(a: i64, b: i64) -> bool {
    (a - b).abs() < 1000
}

/// The next exact picture (the provisional first stage of a seek is passed over).
fn picture(player: &Player) -> Picture {
    loop {
        match player.wait(Duration::from_secs(10)) {
            Some(PlayerFrame::Picture(p)) if p.provisional => continue,
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
    player.send(PlayerCommand::Seek(boundary + FRAME_US / 2)).expect("queued");
    let p = picture(&player);
    assert_eq!(p.frame.time_us, boundary, "the frame displayed at a time is the latest at or before it");
    assert_eq!((p.frame.width, p.frame.height), (scene::WIDTH, scene::HEIGHT));
    // Step back across the file boundary, then forward again.
    player.send(PlayerCommand::Step(-1)).expect("queued");
    let t = picture(&player).frame.time_us;
    assert!(near(t, boundary - FRAME_US), "{t}");
    player.send(PlayerCommand::Step(2)).expect("queued");
    let t = picture(&player).frame.time_us;
    assert!(near(t, boundary + FRAME_US), "{t}");

    // 64×: keyframes only (one per 4 s GOP), moving forwards.
    player.send(PlayerCommand::Play(64.0)).expect("queued");
    let times: Vec<i64> = (0..4).map(|_| picture(&player).frame.time_us).collect();
    player.send(PlayerCommand::Pause).expect("queued");
    assert!(times.windows(2).all(|w| near(w[1] - w[0], i64::from(scene::GOP_FRAMES) * FRAME_US)), "{times:?}");

    // Reverse at 8×: every frame, backwards.
    player.send(PlayerCommand::Seek(boundary)).expect("queued");
    let _ = picture(&player);
    player.send(PlayerCommand::Play(-8.0)).expect("queued");
    let times: Vec<i64> = (0..6).map(|_| picture(&player).frame.time_us).collect();
    player.send(PlayerCommand::Pause).expect("queued");
    assert!(times.windows(2).all(|w| near(w[0] - w[1], FRAME_US)), "{times:?}");

    // Before the first frame: the UI is told, not left waiting.
    player.send(PlayerCommand::Seek(END_US - 10 * 3_600_000_000)).expect("queued");
    loop {
        match player.wait(Duration::from_secs(10)) {
            Some(PlayerFrame::NoVideo { .. }) => break,
            Some(PlayerFrame::Picture(_) | PlayerFrame::Opened { .. } | PlayerFrame::Grew { .. }) => continue, // frames queued before the seek
            Some(PlayerFrame::Error(e)) => panic!("{e}"),
            None => panic!("no answer"),
        }
    }
}

/// A 0.6 h demo whose middle file is removed: a 1000 s gap in the recording. The archive as
/// opened before the removal (its file list still names the removed file) and the gap's start.
fn demo_with_gap(dir: &std::path::Path) -> (Archive, i64) {
    demo(dir, 0.6);
    let archive = Archive::open(dir).expect("open");
    let stream = archive.stream("cam-1-HD").expect("stream");
    let middle = &stream.files[1];
    for path in middle.paths(&stream.dir) {
        std::fs::remove_file(path).expect("rm");
    }
    let gap_start = middle.start_ms * 1000;
    (archive, gap_start)
}

#[test]
fn gaps_are_reported_and_corrupt_data_is_survived() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (archive, gap_start) = demo_with_gap(tmp.path());
    let stream = archive.stream("cam-1-HD").expect("stream");
    // Corrupt the middle of the last file's packets.
    let last = stream.files.last().expect("files");
    let pkt = last.paths(&stream.dir)[1].clone();
    let mut bytes = std::fs::read(&pkt).expect("read");
    let n = bytes.len();
    bytes[n / 3..n / 3 + 300].iter_mut().for_each(|b| *b = !*b);
    std::fs::write(&pkt, bytes).expect("write");

    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    player.send(PlayerCommand::Seek(gap_start - 2 * FRAME_US)).expect("queued");
    let _ = picture(&player);
    player.send(PlayerCommand::Play(2.0)).expect("queued");
    let mut saw_gap = false;
    for _ in 0..8 {
        let p = picture(&player);
        if p.notice.as_deref().is_some_and(|n| n.contains("gap")) {
            saw_gap = true;
            assert!(p.frame.time_us >= gap_start + 999_000_000, "jumped over the gap");
            break;
        }
    }
    player.send(PlayerCommand::Pause).expect("queued");
    assert!(saw_gap, "the gap was reported");
    // Through the corrupt region: seeks keep answering.
    for k in 0..20 {
        player.send(PlayerCommand::Seek(last.start_ms * 1000 + k * 7_000_000)).expect("queued");
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
        assert!(source.cache_bytes() <= budget, "{} > {budget}", source.cache_bytes());
    }
    assert!(source.high_water_bytes <= budget, "the budget holds while decoding too");
    // Stepping back within a cached GOP needs no decoding.
    let t = stream.start_us + 9 * FRAME_US;
    source.frame_at(t).expect("frame");
    let decoded = source.decoded_frames;
    let prev = source.neighbour(t, false).expect("neighbour").expect("previous");
    source.frame_at(prev).expect("frame");
    assert_eq!(source.decoded_frames, decoded);
}

/// A budget smaller than one GOP (a 4K GOP is ~620 MB): decoding to the GOP's last picture
/// keeps a window, never more than the budget, and a dropped picture is decoded again.
#[test]
fn the_budget_holds_within_one_gop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.1);
    let archive = Archive::open(tmp.path()).expect("open");
    let stream = archive.stream("cam-1-HD").expect("stream").clone();
    let picture = scene::WIDTH * scene::HEIGHT * 3 / 2;
    let budget = 12 * picture;
    let gop_us = i64::from(scene::GOP_FRAMES) * FRAME_US;
    const { assert!(scene::GOP_FRAMES > 12, "the GOP must not fit the budget") };
    let mut source = FrameSource::new(stream.clone(), budget).expect("source");
    let first = source.frame_at(stream.start_us).expect("frame").expect("picture");
    let last_t = stream.start_us + gop_us - FRAME_US;
    let last = source.frame_at(last_t).expect("frame").expect("picture");
    assert!(near(last.frame.time_us, last_t));
    assert!(source.high_water_bytes <= budget, "{} > {budget}", source.high_water_bytes);
    assert!(source.cached_pictures() < scene::GOP_FRAMES as usize);
    // One step back from the last picture is inside the kept window: no decoding.
    let decoded = source.decoded_frames;
    let prev = source.neighbour(last_t, false).expect("neighbour").expect("previous");
    source.frame_at(prev).expect("frame");
    assert_eq!(source.decoded_frames, decoded);
    // The first picture was dropped for the budget: asked again, it is decoded again, exactly.
    let again = source.frame_at(stream.start_us).expect("frame").expect("picture");
    assert!(source.decoded_frames > decoded);
    assert_eq!(again.frame.to_i420(), first.frame.to_i420());
    assert!(source.high_water_bytes <= budget, "{} > {budget}", source.high_water_bytes);
}

/// Pictures until `n` arrived; their times and the wall time it took.
fn play_pictures(player: &Player, n: usize) -> (Vec<i64>, Duration) {
    let started = std::time::Instant::now();
    let times = (0..n).map(|_| picture(player).frame.time_us).collect();
    (times, started.elapsed())
}

/// Pacing follows the clock whatever the cache holds: replaying a stretch whose pictures are
/// all cached takes as long as playing it the first time (video time ÷ speed).
#[test]
fn replaying_a_cached_stretch_keeps_the_speed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.2);
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    let from = END_US - 600_000_000;
    for pass in 0..2 {
        player.send(PlayerCommand::Seek(from)).expect("queued");
        let _ = picture(&player);
        player.send(PlayerCommand::Play(16.0)).expect("queued");
        let (times, took) = play_pictures(&player, 6);
        player.send(PlayerCommand::Pause).expect("queued");
        // Drain what was sent before the pause.
        while player.wait(Duration::from_millis(300)).is_some() {}
        let video_us = times[5] - from;
        let expected = Duration::from_micros((video_us as f64 / 16.0) as u64);
        assert!(
            took >= expected.mul_f64(0.85),
            "pass {pass}: {:.1} s of video in {took:?} at 16× (expected ≥ {expected:?})",
            video_us as f64 / 1e6
        );
    }
}

/// Play before any seek starts a minute before the end of the recording.
#[test]
fn play_without_a_seek_starts_at_the_latest_video() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.2);
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    player.send(PlayerCommand::Play(1.0)).expect("queued");
    let p = picture(&player);
    let end = Archive::open(tmp.path()).expect("open").stream("cam-1-HD").expect("stream").end_us;
    let start = end - tessera_engine::player::START_BEFORE_END_US;
    assert!((start - FRAME_US * 25..=start).contains(&p.frame.time_us), "{} vs {start}", p.frame.time_us);
    let q = picture(&player);
    assert!(q.frame.time_us > p.frame.time_us, "and plays on");
}

/// A seek into a gap or past the end answers NoVideo (the UI dims the old picture), and Play
/// from there continues with the next recorded frame.
#[test]
fn gaps_and_the_end_answer_no_video() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (archive, gap_start) = demo_with_gap(tmp.path());
    let gap_at = gap_start + 300_000_000;
    let end = archive.stream("cam-1-HD").expect("stream").end_us;
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    let no_video = |at: i64| {
        player.send(PlayerCommand::Seek(at)).expect("queued");
        loop {
            match player.wait(Duration::from_secs(10)) {
                Some(PlayerFrame::NoVideo { at_us }) => return at_us,
                Some(PlayerFrame::Opened { .. }) => continue,
                other => panic!("expected NoVideo at {at}, got {other:?}"),
            }
        }
    };
    assert_eq!(no_video(gap_at), gap_at);
    player.send(PlayerCommand::Play(1.0)).expect("queued");
    let p = picture(&player);
    assert!(p.frame.time_us > gap_at, "play continues after the gap");
    player.send(PlayerCommand::Pause).expect("queued");
    while player.wait(Duration::from_millis(300)).is_some() {}
    assert_eq!(no_video(end + 3_600_000_000), end + 3_600_000_000);
    // Within a few seconds after the last frame is still video (the last picture stays).
    player.send(PlayerCommand::Seek(end + 1_000_000)).expect("queued");
    let p = picture(&player);
    assert!(near(p.frame.time_us, end) || p.frame.time_us <= end);
}

/// Idle decoding of the previous GOP makes one frame back across a GOP boundary a cache hit.
#[test]
fn idle_work_decodes_the_previous_gop() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.1);
    let archive = Archive::open(tmp.path()).expect("open");
    let stream = archive.stream("cam-1-HD").expect("stream").clone();
    let mut source = FrameSource::new(stream.clone(), 256 << 20).expect("source");
    let gop_us = i64::from(scene::GOP_FRAMES) * FRAME_US;
    let key = stream.start_us + 3 * gop_us;
    let shown = source.frame_at(key).expect("frame").expect("picture");
    assert!(near(shown.frame.time_us, key), "a GOP's first picture");
    let mut steps = 0;
    while source.prefetch_previous(key).expect("prefetch") {
        steps += 1;
        assert!(steps < 100, "idle work ends");
    }
    let decoded = source.decoded_frames;
    let prev = source.neighbour(shown.frame.time_us, false).expect("neighbour").expect("previous");
    assert!(near(prev, key - FRAME_US));
    let back = source.frame_at(prev).expect("frame").expect("picture");
    assert_eq!(source.decoded_frames, decoded, "no decoding on the step back");
    // The prefetched picture is the one a cold decode gives.
    let mut cold = FrameSource::new(stream, 256 << 20).expect("source");
    assert_eq!(cold.frame_at(prev).expect("frame").expect("picture").frame.to_i420(), back.frame.to_i420());
}

/// Steps queued behind a seek (the player busy decoding) are taken from the seek's frame,
/// every one of them; steps queued before a seek are overtaken by it.
#[test]
fn steps_queued_behind_a_seek_all_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.5);
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    let last_pictures = |player: &Player| {
        let mut last = None;
        while let Some(frame) = player.wait(Duration::from_millis(1500)) {
            if let PlayerFrame::Picture(p) = frame {
                last = Some(p.frame.time_us);
            }
        }
        last.expect("a picture")
    };
    // A GOP's last frame: the seek decodes the whole GOP while the commands behind it queue.
    let at = END_US - 600_000_000 + i64::from(scene::GOP_FRAMES - 1) * FRAME_US;
    for command in [PlayerCommand::Step(5), PlayerCommand::Seek(at), PlayerCommand::Step(1), PlayerCommand::Step(1)] {
        player.send(command).expect("queued");
    }
    player.send(PlayerCommand::Step(1)).expect("queued");
    let t = last_pictures(&player);
    assert!(near(t, at + 3 * FRAME_US), "three frames after the seek: {t} vs {at}");
}

/// A seek to a picture not decoded yet answers twice: first, at once, the GOP's keyframe
/// marked provisional, then the exact picture (with its own id). A seek to a cached picture,
/// or to a keyframe, answers once.
#[test]
fn a_seek_shows_the_keyframe_before_the_exact_picture() {
    let tmp = tempfile::tempdir().expect("tempdir");
    demo(tmp.path(), 0.1);
    let player = Player::start(tmp.path().to_owned(), "cam-1-HD".into()).expect("player");
    let answers = |player: &Player| {
        let mut pictures = Vec::new();
        while let Some(frame) = player.wait(Duration::from_millis(1500)) {
            match frame {
                PlayerFrame::Picture(p) => pictures.push((p.provisional, p.frame.time_us, p.id)),
                PlayerFrame::Opened { .. } => {}
                other => panic!("expected pictures, got {other:?}"),
            }
        }
        pictures
    };
    let start = Archive::open(tmp.path()).expect("open").stream("cam-1-HD").expect("stream").start_us;
    let gop_us = i64::from(scene::GOP_FRAMES) * FRAME_US;
    let key = start + 10 * gop_us;
    let target = key + 12 * FRAME_US + FRAME_US / 2;
    player.send(PlayerCommand::Seek(target)).expect("queued");
    let got = answers(&player);
    assert_eq!(got.len(), 2, "a provisional picture, then the exact one: {got:?}");
    assert!(got[0].0 && near(got[0].1, key), "first the GOP's keyframe, provisional: {got:?}");
    assert!(!got[1].0 && near(got[1].1, key + 12 * FRAME_US), "then the exact picture: {got:?}");
    assert_ne!(got[0].2, got[1].2, "picture ids stay unique");
    // Decoded now: one exact answer.
    player.send(PlayerCommand::Seek(target - FRAME_US)).expect("queued");
    let again = answers(&player);
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(!again[0].0 && near(again[0].1, key + 11 * FRAME_US));
    // Another GOP's keyframe: exact at once.
    player.send(PlayerCommand::Seek(key - 4 * gop_us)).expect("queued");
    let keyframe = answers(&player);
    assert_eq!(keyframe.len(), 1, "{keyframe:?}");
    assert!(!keyframe[0].0 && near(keyframe[0].1, key - 4 * gop_us));
}
