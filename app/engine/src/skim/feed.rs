//! The `skim` worker: computes skim plans for the GUI's Skim mode off the UI thread, from the
//! archive's event database (opened read-only, on the thread, at the first request).
//!
//! Requests follow the view (cameras on screen, classes shown, the range around the
//! playhead), so only the newest waiting one is answered; a full queue refuses and the UI asks
//! again next frame.

use super::{SkimPlan, SkimSpec, plan};
use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender};
use std::path::{Path, PathBuf};
use tessera_storage::EventDb;

/// A plan for `spec`, or why there is none (the message names the file or field).
#[derive(Clone, Debug, PartialEq)]
pub struct SkimAnswer {
    pub spec: SkimSpec,
    pub plan: Result<SkimPlan, String>,
}

/// Requests (and answers) in flight at most.
const QUEUE: usize = 4;

pub struct SkimFeed {
    worker: Worker<SkimSpec, SkimAnswer>,
}

impl SkimFeed {
    /// Start the `skim` thread over the archive at `root`.
    pub fn start(root: PathBuf) -> Result<Self, WorkerError> {
        let worker = Worker::start("skim", QUEUE, QUEUE, move |inbox, outbox| serve(&root, &inbox, &outbox))?;
        Ok(Self { worker })
    }

    /// Ask for a plan (refused when the queue is full: the UI asks again).
    pub fn send(&self, spec: SkimSpec) -> Result<(), Refused> {
        self.worker.send(spec)
    }

    /// The answers that have arrived, oldest first.
    pub fn answers(&self) -> impl Iterator<Item = SkimAnswer> + '_ {
        self.worker.answers()
    }

    /// Block up to `timeout` for the next answer (tests only).
    pub fn wait(&self, timeout: std::time::Duration) -> Option<SkimAnswer> {
        self.worker.wait(timeout)
    }
}

fn serve(root: &Path, inbox: &Receiver<SkimSpec>, outbox: &Sender<SkimAnswer>) {
    let mut db: Option<EventDb> = None;
    while let Ok(mut spec) = inbox.recv() {
        // Only the newest request waiting matters: the view has moved on from the others.
        while let Ok(newer) = inbox.try_recv() {
            spec = newer;
        }
        let plan = answer(root, &mut db, &spec);
        if outbox.send(SkimAnswer { spec, plan }).is_err() {
            return;
        }
    }
}

fn answer(root: &Path, db: &mut Option<EventDb>, spec: &SkimSpec) -> Result<SkimPlan, String> {
    let db = match db {
        Some(db) => db,
        None => db.insert(EventDb::open_read(root).map_err(|e| format!("{}: {e}", root.display()))?),
    };
    plan(db, spec).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::time::Duration;
    use tessera_storage::events::NewEvent;

    #[test]
    fn the_feed_answers_plans_from_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let db = EventDb::open_write(dir.path()).unwrap();
        let first_ms = 1_700_000_000_000;
        let e = NewEvent {
            camera: "a".into(),
            class: "car".into(),
            first_ms,
            last_ms: first_ms + 1000,
            confidence: None,
            boxes: Vec::new(),
        };
        db.insert_events(&[e], 0).unwrap();
        drop(db);
        let feed = SkimFeed::start(dir.path().to_path_buf()).unwrap();
        let spec = SkimSpec {
            cameras: vec!["a".into()],
            from_us: first_ms * 1000 - 10_000_000,
            to_us: first_ms * 1000 + 10_000_000,
            classes: None,
            speed: 1.0,
            quiet_speed: 32.0,
            preroll_us: 2_000_000,
        };
        feed.send(spec.clone()).unwrap();
        let answer = feed.wait(Duration::from_secs(10)).unwrap();
        assert_eq!(answer.spec, spec);
        let plan = answer.plan.unwrap();
        assert_eq!(plan.segments.len(), 3);
        assert_eq!(plan.segments[1].from_us, first_ms * 1000 - 2_000_000);
        assert_eq!(plan.segments[1].to_us, (first_ms + 1000) * 1000 + 1);
        // A bad spec is an answer, and the thread carries on.
        feed.send(SkimSpec { speed: 0.0, ..spec.clone() }).unwrap();
        assert!(feed.wait(Duration::from_secs(10)).unwrap().plan.unwrap_err().contains("--speed"));
        feed.send(spec).unwrap();
        assert!(feed.wait(Duration::from_secs(10)).unwrap().plan.is_ok());
    }
}
