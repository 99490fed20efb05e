//! Skim mode (the transport's "Skim" button, key `S`): play the spans that hold events of the
//! classes shown at the review speed (1× by default), with the Events tab's pre-roll, and rush
//! through the quiet spans between them (32× by default; the player shows keyframes only
//! above 8×), on every synced tile — an event on any camera on screen counts.
//!
//! The plan is [`tessera_engine::skim`]'s, the one `tessera skim` prints, computed on the
//! `skim` thread ([`SkimFeed`]) for a window around the view and the playhead; a new one is
//! asked when the cameras, classes, pre-roll or speeds change or the window no longer covers
//! what is needed. Each frame, while playing, the tiles' speed follows the segment under the
//! playhead; a keyframe jump that passes the start of an event span goes back to that start,
//! so no event (or its pre-roll) is rushed past. Pausing, or leaving Skim, restores the speed
//! chosen before.

use super::command::Command;
use super::grid::VideoGrid;
use super::player_panel::Transport;
use super::settings::Settings;
use super::timeline_panel::TimelinePanel;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use tessera_engine::skim::feed::SkimFeed;
use tessera_engine::skim::{SkimPlan, SkimSpec};

/// The plan always covers this far past the playhead (a plan is asked again before the
/// playhead gets there).
const AHEAD_US: i64 = 10 * 60 * 1_000_000;
/// And a new plan covers this much more, so a playing skim asks rarely.
const EXTRA_US: i64 = 2 * 3600 * 1_000_000;
/// A playhead that moved further than this between two frames was moved by a seek or a
/// jump, not by playing (at 32× a slow frame and a long GOP make a few seconds): Skim does
/// not send it back to an event start it passed.
const MAX_STEP_US: i64 = 30_000_000;
/// Speeds from settings are kept within the transport's range (a hand-edited file may say 0).
const SPEEDS: std::ops::RangeInclusive<f64> = 0.125..=64.0;

/// A plan as the timeline draws it: the segments at `speed` are the event spans; the others
/// are quiet (hatched).
#[derive(Clone, Debug)]
pub struct SkimShown {
    pub plan: Arc<SkimPlan>,
    pub speed: f64,
}

pub struct Skim {
    feed: Option<SkimFeed>,
    pub on: bool,
    /// The newest plan and the spec it answers.
    pub plan: Option<Arc<SkimPlan>>,
    planned: Option<SkimSpec>,
    /// The request in flight.
    asked: Option<SkimSpec>,
    /// The speed and direction chosen before Skim: restored when it ends, and while paused.
    chosen: (f64, bool),
    /// The playhead Skim saw last frame while playing (to catch event starts passed over).
    last_playhead: Option<i64>,
    /// The last plan error shown (each is shown once).
    error: Option<String>,
}

impl Skim {
    /// Skim for the archive at `root` (off until toggled); the `skim` thread starts now.
    pub fn start(root: PathBuf) -> (Self, Option<Command>) {
        let (feed, failed) = match SkimFeed::start(root) {
            Ok(feed) => (Some(feed), None),
            Err(e) => (None, Some(Command::Error { title: "No Skim mode".into(), detail: e.to_string() })),
        };
        let skim = Self {
            feed,
            on: false,
            plan: None,
            planned: None,
            asked: None,
            chosen: (1.0, false),
            last_playhead: None,
            error: None,
        };
        (skim, failed)
    }

    /// The user moved the playhead (a seek): it did not play past what lies between.
    pub fn seeked(&mut self) {
        self.last_playhead = None;
    }

    /// Turn Skim on (remembering the chosen speed) or off (restoring it).
    pub fn toggle(&mut self, grid: &mut VideoGrid, timeline: &mut TimelinePanel) {
        self.on = !self.on;
        self.last_playhead = None;
        if self.on {
            self.chosen = grid.active().map_or((1.0, false), |p| (p.speed, p.reverse));
        } else {
            timeline.skim = None;
            let (speed, reverse) = self.chosen;
            if grid.active().is_some_and(|p| p.playing) {
                grid.apply(Transport::Shuttle { speed, reverse });
            } else {
                restore(grid, self.chosen);
            }
        }
        grid.skim = self.on;
    }

    /// Once a frame: take in plans, ask for one when needed, and set the tiles' speed from
    /// the segment under the playhead. Returns errors to show.
    pub fn update(
        &mut self,
        grid: &mut VideoGrid,
        timeline: &mut TimelinePanel,
        preroll_us: i64,
        settings: &Settings,
        ctx: &egui::Context,
    ) -> Vec<Command> {
        let mut commands = Vec::new();
        grid.skim = self.on;
        if let Some(feed) = &self.feed {
            for answer in feed.answers() {
                if self.asked.as_ref() != Some(&answer.spec) {
                    continue; // a newer request stands for it
                }
                self.asked = None;
                match answer.plan {
                    Ok(plan) => {
                        self.plan = Some(Arc::new(plan));
                        self.planned = Some(answer.spec);
                        self.error = None;
                    }
                    Err(e) => {
                        if self.error.as_ref() != Some(&e) {
                            commands.push(Command::Error { title: "Skim: no plan".into(), detail: e.clone() });
                        }
                        self.error = Some(e);
                    }
                }
            }
        }
        if !self.on {
            return commands;
        }
        if let Some(spec) = self.wanted(grid, timeline, preroll_us, settings) {
            self.ask(spec);
        }
        if self.asked.is_some() {
            ctx.request_repaint_after(std::time::Duration::from_millis(30)); // the answer wakes nothing
        }
        timeline.skim = match (&self.plan, &self.planned) {
            (Some(plan), Some(spec)) => Some(SkimShown { plan: plan.clone(), speed: spec.speed }),
            _ => None,
        };
        self.drive(grid, timeline);
        commands
    }

    /// The spec the view needs now, when neither the plan nor the request in flight covers it.
    fn wanted(
        &self,
        grid: &VideoGrid,
        timeline: &TimelinePanel,
        preroll_us: i64,
        settings: &Settings,
    ) -> Option<SkimSpec> {
        let camera_of = |p: &super::player_panel::PlayerPanel| {
            tessera_storage::events::camera_of_stream(&p.player.stream).to_string()
        };
        let mut cameras: Vec<String> = if grid.sync {
            grid.tiles.iter().map(camera_of).collect()
        } else {
            grid.active().map(camera_of).into_iter().collect()
        };
        cameras.sort();
        cameras.dedup();
        // The legend's classes: all of them while none is hidden (classes that arrive later
        // count too), else those shown.
        let classes = (!timeline.hidden.is_empty()).then(|| {
            let mut shown = BTreeSet::new();
            for camera in &timeline.model.cameras {
                shown.extend(camera.rows.iter().map(|r| r.class.clone()).filter(|c| !timeline.hidden.contains(c)));
            }
            shown
        });
        let view = timeline.view;
        let playhead = timeline.playhead_us.unwrap_or(view.start_us);
        let (lo, hi) = timeline.bounds;
        let need = (view.start_us.min(playhead).max(lo), view.end_us().max(playhead.saturating_add(AHEAD_US)).min(hi));
        if need.0 >= need.1 {
            return None;
        }
        let speed = |s: f64, default: f64| {
            if s.is_finite() && s > 0.0 { s.clamp(*SPEEDS.start(), *SPEEDS.end()) } else { default }
        };
        let spec = SkimSpec {
            cameras,
            from_us: need.0,
            to_us: need.1,
            classes,
            speed: speed(settings.skim_speed, 1.0),
            quiet_speed: speed(settings.skim_quiet_speed, 32.0),
            preroll_us,
        };
        let covers = |have: &SkimSpec| {
            have.from_us <= spec.from_us
                && spec.to_us <= have.to_us
                && (have.speed, have.quiet_speed, have.preroll_us) == (spec.speed, spec.quiet_speed, spec.preroll_us)
                && have.cameras == spec.cameras
                && have.classes == spec.classes
        };
        if self.asked.as_ref().or(self.planned.as_ref()).is_some_and(covers) {
            return None;
        }
        Some(SkimSpec { to_us: spec.to_us.saturating_add(EXTRA_US).min(hi), ..spec })
    }

    fn ask(&mut self, spec: SkimSpec) {
        if let Some(feed) = &self.feed
            && feed.send(spec.clone()).is_ok()
        {
            self.asked = Some(spec); // refused (a full queue): asked again next frame
        }
    }

    /// Set the tiles' speed from the plan while playing; restore the chosen one when paused.
    fn drive(&mut self, grid: &mut VideoGrid, timeline: &mut TimelinePanel) {
        let Some(active) = grid.active() else { return };
        if !active.playing {
            self.last_playhead = None;
            restore(grid, self.chosen);
            return;
        }
        let (Some(t), Some(plan), Some(spec)) = (timeline.playhead_us, &self.plan, &self.planned) else { return };
        let (speed, playing_at) = (spec.speed, (active.speed, active.reverse));
        // Rushing, a keyframe may land past the start of an event span: go back to it.
        if let Some(p) = self.last_playhead.filter(|&p| p < t && t - p <= MAX_STEP_US)
            && playing_at != (speed, false)
        {
            let i = plan.segments.partition_point(|s| s.from_us <= p);
            if let Some(s) = plan.segments[i..].iter().take_while(|s| s.from_us <= t).find(|s| s.speed == speed) {
                let start = s.from_us;
                timeline.playhead_us = Some(start);
                grid.seek(start);
                grid.apply(Transport::Shuttle { speed, reverse: false });
                self.last_playhead = Some(start);
                return;
            }
        }
        if let Some(s) = plan.segment_at(t)
            && playing_at != (s.speed, false)
        {
            grid.apply(Transport::Shuttle { speed: s.speed, reverse: false });
        }
        self.last_playhead = Some(t);
    }
}

/// Put the chosen speed back on the tiles that are paused (synced: all of them).
fn restore(grid: &mut VideoGrid, (speed, reverse): (f64, bool)) {
    let (sync, active) = (grid.sync, grid.active);
    for (i, tile) in grid.tiles.iter_mut().enumerate() {
        if (sync || i == active) && !tile.playing {
            tile.speed = speed;
            tile.reverse = reverse;
        }
    }
}
