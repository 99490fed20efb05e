//! The player: a named worker thread per playing stream that owns a [`FrameSource`] and turns
//! commands (seek, scrub, step, play at a speed, pause) into frames on a bounded channel.
//! Commands are coalesced (only the newest seek matters), so a fast scrub never queues work.

use crate::decoder::YuvFrame;
use crate::playback::{FrameSource, Shown};
use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_storage::codec::ColorInfo;

/// Above this speed only keyframes are shown (decoding every frame cannot keep up).
pub const KEYFRAME_ONLY_SPEED: f64 = 8.0;
/// A jump longer than this while playing is reported as a gap in the recording.
pub const GAP_US: i64 = 5_000_000;
/// How often a player looks whether its stream grew (two `stat`s) …
const FOLLOW_EVERY: Duration = Duration::from_millis(500);
/// … and at the live edge, where a new picture is due every frame interval.
const LIVE_FOLLOW_EVERY: Duration = Duration::from_millis(20);

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlayerCommand {
    /// Show the exact frame displayed at this time (first, when it is not decoded yet, a
    /// provisional picture: see [`Picture::provisional`]).
    Seek(i64),
    /// Show the first frame at or after this time (a moment that starts something, such as an
    /// aircraft entering the frame, which the frame displayed at it may not show yet); the
    /// frame displayed at it when none follows within [`GAP_US`].
    SeekFrom(i64),
    /// Show something near this time quickly (the GOP's keyframe); a `Seek` settles it.
    Scrub(i64),
    /// Frames forward (+) or back (−) from the current one.
    Step(i32),
    /// Play at `speed` (negative = reverse).
    Play(f64),
    Pause,
    /// Go to the newest picture and stay there, showing each picture as the recorder writes
    /// it (see [`crate::live`]); any other command leaves the live edge.
    Live,
}

/// What the player sends to the UI.
#[derive(Clone, Debug)]
pub enum PlayerFrame {
    /// The stream is open (sent once, first): the UI stops showing "opening…".
    Opened {
        stream: String,
    },
    Picture(Picture),
    /// Nothing recorded at this time (before the first frame, in a gap longer than
    /// [`GAP_US`], or past the end): the UI dims the old picture and says so. The player
    /// stops playing there (Play continues with the next recorded frame); while playing, gaps
    /// are jumped over instead and reported on the next picture's notice.
    NoVideo {
        at_us: i64,
    },
    /// The request failed (unreadable file, undecodable data): shown, and the player waits.
    Error(String),
    /// The stream grew (a recorder wrote to it): its newest picture's time now.
    Grew {
        end_us: i64,
    },
}

/// A picture to show.
#[derive(Clone, Debug)]
pub struct Picture {
    pub frame: Arc<YuvFrame>,
    pub color: ColorInfo,
    /// Unique across all players of the process (the renderer skips re-uploading an id it
    /// shows, so ids must never repeat when the stream changes).
    pub id: u64,
    pub playing: bool,
    /// A problem worth showing (a gap in the recording, a decode error).
    pub notice: Option<String>,
    /// The first answer of a two-stage seek: the GOP's keyframe, shown at once while the exact
    /// picture decodes; the next picture replaces it. The position does not move to it.
    pub provisional: bool,
    /// Shown at the live edge (the newest picture when it was decoded; more follow as the
    /// recorder writes them).
    pub live: bool,
}

pub struct Player {
    worker: Worker<PlayerCommand, PlayerFrame>,
    pub stream: String,
}

/// Picture ids, process-wide.
static NEXT_PICTURE_ID: AtomicU64 = AtomicU64::new(1);

impl Player {
    /// Start the player thread. The archive and the stream are opened on that thread (never
    /// on the caller's, which is the UI's): the first frame it sends is `Opened`, or `Error`
    /// when the stream cannot be opened (then the thread ends).
    pub fn start(root: std::path::PathBuf, stream: String) -> Result<Self, WorkerError> {
        let name = stream.clone();
        // 64 commands (a scrub sends one a frame; they are coalesced), 4 pictures ahead.
        let worker = Worker::start(format!("player-{stream}"), 64, 4, move |command_rx, frame_tx| {
            match FrameSource::open(&root, &name) {
                Ok(source) => {
                    if frame_tx.send(PlayerFrame::Opened { stream: name }).is_ok() {
                        run(source, &command_rx, &frame_tx);
                    }
                }
                Err(e) => {
                    let _ = frame_tx.send(PlayerFrame::Error(format!("cannot play {name}: {e:#}")));
                }
            }
        })?;
        Ok(Self { worker, stream })
    }

    /// Queue a command (refused when 64 are already waiting: a newer one follows anyway).
    pub fn send(&self, command: PlayerCommand) -> Result<(), Refused> {
        self.worker.send(command)
    }

    /// Everything delivered since the last call, oldest first (an `Opened` or `Error` is never
    /// overtaken by a later picture).
    pub fn answers(&self) -> impl Iterator<Item = PlayerFrame> + '_ {
        self.worker.answers()
    }

    /// Block for the next frame (tests, benchmarks).
    pub fn wait(&self, timeout: Duration) -> Option<PlayerFrame> {
        self.worker.wait(timeout)
    }
}

struct State {
    /// At the live edge ([`PlayerCommand::Live`]).
    live: bool,
    current_us: Option<i64>,
    speed: f64,
    playing: bool,
    /// Playing: the wall-clock instant and the video time of the pacing anchor. Every picture
    /// is due at `anchor_at + (time − anchor_us) / speed`, whether it comes from the cache or
    /// the decoder, so replaying a cached stretch runs at the asked speed, not as fast as
    /// pictures can be sent.
    anchor: Option<(Instant, i64)>,
}

impl State {
    /// When the picture at `time_us` is due while playing.
    fn due(&self, time_us: i64) -> Instant {
        let Some((at, anchor_us)) = self.anchor else { return Instant::now() };
        let video_us = (time_us - anchor_us) as f64 / self.speed;
        if video_us <= 0.0 { at } else { at + Duration::from_secs_f64(video_us / 1e6) }
    }

    /// Re-anchor at the picture just shown (on play, after a gap, or when fallen behind).
    fn anchor_now(&mut self) {
        self.anchor = self.current_us.map(|t| (Instant::now(), t));
    }
}

/// Where the player starts playing when it has shown nothing yet: a minute before the end of
/// the recording (or its start), so Play shows video rather than the end of it.
pub const START_BEFORE_END_US: i64 = 60_000_000;

fn run(mut source: FrameSource, commands: &Receiver<PlayerCommand>, frames: &Sender<PlayerFrame>) {
    let mut st = State { current_us: None, speed: 1.0, playing: false, anchor: None, live: false };
    let mut next_follow = Instant::now() + FOLLOW_EVERY;
    // The next picture while playing, looked up ahead of its due time.
    let mut pending: Option<Pending> = None;
    // Idle work left: decoding the previous GOP (see `idle_step`).
    let mut prefetch = false;
    loop {
        if prefetch
            && commands.is_empty()
            && let Some(more) = idle_step(&mut source, &st, pending.as_ref())
        {
            prefetch = more;
            continue;
        }
        // Wake for the next picture while playing, and to look whether the stream grew.
        let to_follow = next_follow.saturating_duration_since(Instant::now());
        let wait = if st.playing {
            let due = pending.as_ref().map_or(Duration::ZERO, |p| p.due.saturating_duration_since(Instant::now()));
            due.min(to_follow)
        } else {
            to_follow
        };
        let first = match commands.recv_timeout(wait) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        if first.is_none() && Instant::now() >= next_follow {
            next_follow = Instant::now() + if st.live { LIVE_FOLLOW_EVERY } else { FOLLOW_EVERY };
            match follow(&mut source, &mut st, frames) {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::debug!("player: following the stream: {e:#}"),
            }
            if !st.playing {
                continue;
            }
        }
        // Coalesce: everything queued now, newest seek wins; steps are never dropped, and
        // count from the newest seek (a step asked before it is overtaken by it).
        let mut seek = None;
        let mut from_first = false;
        let mut steps: i32 = 0;
        let mut started = false;
        let mut go_live = false;
        for command in first.into_iter().chain(commands.try_iter()) {
            // Any command but `Live` leaves the live edge.
            go_live = command == PlayerCommand::Live;
            match command {
                PlayerCommand::Seek(t) => (seek, from_first, steps) = (Some((t, true)), false, 0),
                PlayerCommand::SeekFrom(t) => (seek, from_first, steps) = (Some((t, true)), true, 0),
                PlayerCommand::Scrub(t) => (seek, from_first, steps) = (Some((t, false)), false, 0),
                PlayerCommand::Step(n) => {
                    st.playing = false;
                    steps = steps.saturating_add(n);
                }
                PlayerCommand::Play(speed) => {
                    st.playing = true;
                    st.speed = if speed == 0.0 || !speed.is_finite() { 1.0 } else { speed };
                    started = true;
                }
                PlayerCommand::Pause => st.playing = false,
                PlayerCommand::Live => {
                    st.playing = false;
                    (seek, steps) = (None, 0);
                }
            }
        }
        if st.live != go_live {
            st.live = go_live;
            source.leave_live();
        }
        if go_live {
            pending = None;
            next_follow = Instant::now() + LIVE_FOLLOW_EVERY;
            let _ = source.follow();
            let shown = match source.live_picture() {
                Ok(Some(shown)) => deliver(&mut st, frames, shown, None),
                // Nothing decodes at the edge now: the newest picture as a seek finds it.
                _ => {
                    let end = source.stream.end_us;
                    show(&mut source, &mut st, frames, end, Stage::Exact, None)
                }
            };
            if matches!(shown, Ok(false)) {
                return;
            }
            continue;
        }
        if seek.is_some() || steps != 0 || started || !st.playing {
            pending = None;
        }
        let result = if let Some((t, exact)) = seek {
            // The index says where the next frame is (an error there is the seek's to report).
            let t = if from_first {
                let next = source.stream.first_time_after(t.saturating_sub(1)).ok().flatten();
                next.filter(|&next| next - t <= GAP_US).unwrap_or(t)
            } else {
                t
            };
            let stage = if exact { Stage::Seek } else { Stage::Keyframe };
            let shown = show(&mut source, &mut st, frames, t, stage, None);
            st.anchor_now();
            match shown {
                Ok(true) if steps != 0 => step(&mut source, &mut st, frames, steps),
                shown => shown,
            }
        } else if steps != 0 {
            step(&mut source, &mut st, frames, steps)
        } else if started && st.current_us.is_none() {
            start_at_latest(&mut source, &mut st, frames)
        } else if st.playing {
            if started {
                st.anchor_now();
            }
            match pending.take() {
                Some(p) if Instant::now() >= p.due => {
                    let shown = show(&mut source, &mut st, frames, p.time_us, Stage::Exact, p.notice);
                    if p.reanchor || Instant::now() > p.due + Duration::from_millis(250) {
                        // After a gap, or when decoding fell behind: drop the debt rather than rush.
                        st.anchor_now();
                    }
                    shown
                }
                Some(p) => {
                    pending = Some(p); // a command woke us early
                    Ok(true)
                }
                None => match next_picture(&mut source, &mut st) {
                    Ok(Some(p)) => {
                        pending = Some(p);
                        Ok(true)
                    }
                    Ok(None) => {
                        st.playing = false; // end (or start) of the recording
                        match st.current_us {
                            Some(now) => {
                                show(&mut source, &mut st, frames, now, Stage::Exact, Some("end of recording".into()))
                            }
                            None => Ok(true),
                        }
                    }
                    Err(e) => Err(e),
                },
            }
        } else {
            Ok(true)
        };
        prefetch = true;
        match result {
            Ok(true) => {}
            Ok(false) => return, // the UI is gone
            Err(e) => {
                tracing::warn!("player: {e:#}");
                st.playing = false;
                pending = None;
                if frames.send(PlayerFrame::Error(format!("{e:#}"))).is_err() {
                    return;
                }
            }
        }
    }
}

/// Look whether the stream grew; say so, and at the live edge show its newest picture.
/// `Ok(false)` when the UI is gone.
fn follow(source: &mut FrameSource, st: &mut State, frames: &Sender<PlayerFrame>) -> anyhow::Result<bool> {
    let Some(end_us) = source.follow()? else { return Ok(true) };
    if frames.send(PlayerFrame::Grew { end_us }).is_err() {
        return Ok(false);
    }
    if !st.live {
        return Ok(true);
    }
    match source.live_picture() {
        // (Pictures still held back by the decoder's reorder delay when the edge was first
        // shown by a seek come out later: never go back to them.)
        Ok(Some(shown)) if st.current_us.is_none_or(|now| shown.frame.time_us > now) => {
            deliver(st, frames, shown, None)
        }
        Ok(_) => Ok(true),
        Err(e) => {
            tracing::debug!("player: the live edge does not decode now: {e:#}");
            Ok(true)
        }
    }
}

/// While paused, or between pictures of a reverse play, decode the previous GOP one access
/// unit at a time (the command channel is checked between units, so a command waits ~5–15 ms
/// at most): one frame back across a GOP boundary is then a cache hit instead of a whole GOP
/// to decode. `None` when there is no time for it now, else whether more remains.
fn idle_step(source: &mut FrameSource, st: &State, pending: Option<&Pending>) -> Option<bool> {
    let at = st.current_us?;
    let wanted = !st.playing || (st.speed < 0.0 && st.speed.abs() <= KEYFRAME_ONLY_SPEED);
    let has_time = !st.playing || pending.is_some_and(|p| p.due > Instant::now() + Duration::from_millis(10));
    if !wanted {
        return Some(false);
    }
    if !has_time {
        return None;
    }
    Some(source.prefetch_previous(at).unwrap_or_else(|e| {
        tracing::warn!("player: decoding ahead failed: {e:#}");
        false
    }))
}

/// Play pressed before anything was shown: start a minute before the end of the recording.
fn start_at_latest(source: &mut FrameSource, st: &mut State, frames: &Sender<PlayerFrame>) -> anyhow::Result<bool> {
    let stream = &source.stream;
    let t = (stream.end_us - START_BEFORE_END_US).max(stream.start_us);
    let shown = show(source, st, frames, t, Stage::Seek, None);
    st.anchor_now();
    shown
}

/// The next picture to show while playing, and when.
struct Pending {
    time_us: i64,
    due: Instant,
    notice: Option<String>,
    /// Pacing restarts at this picture (it follows a gap).
    reanchor: bool,
}

/// Playing: the next picture in the play direction (the next keyframe above 8×), due at its
/// own time divided by the speed from the anchor.
fn next_picture(source: &mut FrameSource, st: &mut State) -> anyhow::Result<Option<Pending>> {
    let Some(now) = st.current_us else { return Ok(None) };
    let forward = st.speed > 0.0;
    let next = if st.speed.abs() > KEYFRAME_ONLY_SPEED {
        source.next_key_frame(now, forward)?
    } else {
        source.neighbour(now, forward)?
    };
    let Some(next) = next else { return Ok(None) };
    let jump = (next - now).abs();
    if jump > GAP_US {
        let notice = format!("gap in recording: {:.1} s skipped", jump as f64 / 1e6);
        return Ok(Some(Pending { time_us: next, due: Instant::now(), notice: Some(notice), reanchor: true }));
    }
    Ok(Some(Pending { time_us: next, due: st.due(next), notice: None, reanchor: false }))
}

/// What [`show`] sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The frame displayed at the time (playing: the next picture is decoded already or next).
    Exact,
    /// A seek: a provisional picture first when the exact one must be decoded, then it.
    Seek,
    /// Scrubbing: the GOP's first frame.
    Keyframe,
}

/// Decode and send the frame displayed at `t` (exact, after a provisional picture for a
/// seek) or its GOP's first frame (scrub).
fn show(
    source: &mut FrameSource,
    st: &mut State,
    frames: &Sender<PlayerFrame>,
    t: i64,
    stage: Stage,
    notice: Option<String>,
) -> anyhow::Result<bool> {
    if stage == Stage::Seek
        && source.recorded_near(t, GAP_US).unwrap_or(false)
        && let Ok(Some(Shown { frame, color })) = source.provisional_at(t)
    {
        // Not `deliver`: the position stays where it is until the exact picture is out.
        let id = NEXT_PICTURE_ID.fetch_add(1, Ordering::Relaxed);
        let first = Picture { frame, color, id, playing: st.playing, notice: None, provisional: true, live: false };
        if frames.send(PlayerFrame::Picture(first)).is_err() {
            return Ok(false);
        }
    }
    let found = match if stage == Stage::Keyframe { source.key_frame_at(t) } else { source.frame_at(t) } {
        Ok(found) => found,
        Err(e) => {
            // Corrupt data: skip to the next keyframe that decodes and keep going.
            let mut from = t;
            let mut recovered = None;
            for _ in 0..16 {
                let Some(next) = source.next_key_frame(from, true)? else { break };
                if let Ok(Some(found)) = source.frame_at(next) {
                    recovered = Some(found);
                    break;
                }
                from = next;
            }
            let Some(found) = recovered else { return Err(e) };
            let notice = Some(format!("skipped undecodable video: {e:#}"));
            return deliver(st, frames, found, notice);
        }
    };
    // Before the first frame, or in a gap / past the end (the latest frame is far older than
    // the asked time): say so, so the UI does not keep an old frame under its old time. The
    // position moves there, so Play continues with the next recorded frame.
    let shown = if source.recorded_near(t, GAP_US)? { found } else { None };
    let Some(shown) = shown else {
        st.current_us = Some(t);
        st.playing = false;
        return Ok(frames.send(PlayerFrame::NoVideo { at_us: t }).is_ok());
    };
    deliver(st, frames, shown, notice)
}
fn deliver(
    st: &mut State,
    frames: &Sender<PlayerFrame>,
    Shown { frame, color }: Shown,
    notice: Option<String>,
) -> anyhow::Result<bool> {
    st.current_us = Some(frame.time_us);
    let id = NEXT_PICTURE_ID.fetch_add(1, Ordering::Relaxed);
    let delivered = PlayerFrame::Picture(Picture {
        frame,
        color,
        id,
        playing: st.playing,
        notice,
        provisional: false,
        live: st.live,
    });
    Ok(frames.send(delivered).is_ok())
}

fn step(source: &mut FrameSource, st: &mut State, frames: &Sender<PlayerFrame>, n: i32) -> anyhow::Result<bool> {
    let Some(mut t) = st.current_us else { return Ok(true) };
    for _ in 0..n.unsigned_abs() {
        match source.neighbour(t, n > 0)? {
            Some(next) => t = next,
            None => break,
        }
    }
    show(source, st, frames, t, Stage::Seek, None)
}
