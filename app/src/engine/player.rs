//! The player: a named worker thread per playing stream that owns a [`FrameSource`] and turns
//! commands (seek, scrub, step, play at a speed, pause) into frames on a bounded channel.
//! Commands are coalesced (only the newest seek matters), so a fast scrub never queues work.

use super::decoder::YuvFrame;
use super::playback::{FrameSource, Shown};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tessera_storage::h264::ColorInfo;

/// Above this speed only keyframes are shown (decoding every frame cannot keep up).
pub const KEYFRAME_ONLY_SPEED: f64 = 8.0;
/// A jump longer than this while playing is reported as a gap in the recording.
pub const GAP_US: i64 = 5_000_000;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PlayerCommand {
    /// Show the exact frame displayed at this time.
    Seek(i64),
    /// Show something near this time quickly (the GOP's keyframe); a `Seek` settles it.
    Scrub(i64),
    /// Frames forward (+) or back (−) from the current one.
    Step(i32),
    /// Play at `speed` (negative = reverse).
    Play(f64),
    Pause,
}

/// What the player sends to the UI.
#[derive(Clone, Debug)]
pub enum PlayerFrame {
    /// The stream is open (sent once, first): the UI stops showing "opening…".
    Opened { stream: String },
    Picture(Picture),
    /// Nothing recorded at this time (before the first frame, in a gap longer than
    /// [`GAP_US`], or past the end): the UI dims the old picture and says so.
    NoVideo {
        at_us: i64,
    },
    /// The request failed (unreadable file, undecodable data): shown, and the player waits.
    Error(String),
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
}

pub struct Player {
    commands: Sender<PlayerCommand>,
    frames: Receiver<PlayerFrame>,
    pub stream: String,
}

/// Picture ids, process-wide.
static NEXT_PICTURE_ID: AtomicU64 = AtomicU64::new(1);

impl Player {
    /// Start the player thread. The archive and the stream are opened on that thread (never
    /// on the caller's, which is the UI's): the first frame it sends is `Opened`, or `Error`
    /// when the stream cannot be opened (then the thread ends).
    pub fn start(root: std::path::PathBuf, stream: String) -> anyhow::Result<Self> {
        let (commands, command_rx) = bounded(64);
        let (frame_tx, frames) = bounded(4);
        let name = stream.clone();
        std::thread::Builder::new().name(format!("player-{stream}")).spawn(move || {
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
        Ok(Self { commands, frames, stream })
    }

    /// Queue a command (dropped if 64 are already waiting: a newer one follows anyway).
    pub fn send(&self, command: PlayerCommand) {
        let _ = self.commands.try_send(command);
    }

    /// The newest frame delivered since the last call.
    pub fn latest(&self) -> Option<PlayerFrame> {
        self.frames.try_iter().last()
    }

    /// Block for the next frame (tests).
    pub fn wait(&self, timeout: Duration) -> Option<PlayerFrame> {
        self.frames.recv_timeout(timeout).ok()
    }
}

struct State {
    current_us: Option<i64>,
    speed: f64,
    playing: bool,
    next_due: Instant,
}

fn run(mut source: FrameSource, commands: &Receiver<PlayerCommand>, frames: &Sender<PlayerFrame>) {
    let mut st = State { current_us: None, speed: 1.0, playing: false, next_due: Instant::now() };
    loop {
        let first = if st.playing {
            match commands.recv_timeout(st.next_due.saturating_duration_since(Instant::now())) {
                Ok(c) => Some(c),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match commands.recv() {
                Ok(c) => Some(c),
                Err(_) => return,
            }
        };
        // Coalesce: everything queued now, newest seek wins.
        let mut seek = None;
        let mut steps = 0;
        for command in first.into_iter().chain(commands.try_iter()) {
            match command {
                PlayerCommand::Seek(t) => seek = Some((t, true)),
                PlayerCommand::Scrub(t) => seek = Some((t, false)),
                PlayerCommand::Step(n) => {
                    st.playing = false;
                    steps += n;
                }
                PlayerCommand::Play(speed) => {
                    st.playing = true;
                    st.speed = if speed == 0.0 { 1.0 } else { speed };
                    st.next_due = Instant::now();
                }
                PlayerCommand::Pause => st.playing = false,
            }
        }
        let result = if let Some((t, exact)) = seek {
            show(&mut source, &mut st, frames, t, exact, None)
        } else if steps != 0 {
            step(&mut source, &mut st, frames, steps)
        } else if st.playing && Instant::now() >= st.next_due {
            advance(&mut source, &mut st, frames)
        } else {
            Ok(true)
        };
        match result {
            Ok(true) => {}
            Ok(false) => return, // the UI is gone
            Err(e) => {
                tracing::warn!("player: {e:#}");
                st.playing = false;
                if frames.send(PlayerFrame::Error(format!("{e:#}"))).is_err() {
                    return;
                }
            }
        }
    }
}

/// Decode and send the frame displayed at `t` (exact) or its GOP's first frame (scrub).
fn show(
    source: &mut FrameSource,
    st: &mut State,
    frames: &Sender<PlayerFrame>,
    t: i64,
    exact: bool,
    notice: Option<String>,
) -> anyhow::Result<bool> {
    let found = match if exact { source.frame_at(t) } else { source.key_frame_at(t) } {
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
    let Some(shown) = found else {
        // Before the first frame: say so instead of leaving the UI waiting.
        st.playing = false;
        return Ok(frames.send(PlayerFrame::NoVideo { at_us: t }).is_ok());
    };
    // Far from the asked time: the recording has a gap there.
    let notice = notice.or_else(|| {
        (t - shown.frame.time_us > GAP_US)
            .then(|| format!("no recording here: showing {}", tessera_storage::UnixMicros(shown.frame.time_us)))
    });
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
    let delivered = PlayerFrame::Picture(Picture { frame, color, id, playing: st.playing, notice });
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
    show(source, st, frames, t, true, None)
}

/// Playing: the next frame in the play direction (the next keyframe above 8×), paced by
/// the frames' own times divided by the speed.
fn advance(source: &mut FrameSource, st: &mut State, frames: &Sender<PlayerFrame>) -> anyhow::Result<bool> {
    let Some(now) = st.current_us else {
        st.playing = false;
        return Ok(true);
    };
    let forward = st.speed > 0.0;
    let next = if st.speed.abs() > KEYFRAME_ONLY_SPEED {
        source.next_key_frame(now, forward)?
    } else {
        source.neighbour(now, forward)?
    };
    let Some(next) = next else {
        st.playing = false; // end (or start) of the recording
        return show(source, st, frames, now, true, Some("end of recording".into()));
    };
    let jump = (next - now).abs();
    let notice = (jump > GAP_US).then(|| format!("gap in recording: {:.1} s skipped", jump as f64 / 1e6));
    let wait_us = if notice.is_some() { 0 } else { (jump as f64 / st.speed.abs()) as u64 };
    st.next_due += Duration::from_micros(wait_us);
    if st.next_due < Instant::now() {
        st.next_due = Instant::now(); // fell behind: drop the debt rather than rush
    }
    show(source, st, frames, next, true, notice)
}
