//! Long jobs the user starts from the window (exports today; the same shape serves imports
//! and rebuilds): each runs on its own named thread, reports its share done through an
//! atomic the UI reads every frame, and stops at the next check when cancelled. The UI shows
//! a progress bar with Cancel and turns the outcome into a notice or an error toast.

use crate::worker::{Worker, WorkerError};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The work of a job: given "report progress (0..=1); `false` = stop", returns a one-line
/// summary or an error.
pub type Work = Box<dyn FnOnce(&dyn Fn(f32) -> bool) -> Result<String, String> + Send>;

pub struct Job {
    pub title: String,
    /// The file the job writes, if any: the UI names it (and offers its folder) when done.
    pub output: Option<PathBuf>,
    /// Share done, in millionths.
    progress: Arc<AtomicU32>,
    cancel: Arc<AtomicBool>,
    worker: Worker<Infallible, Result<String, String>>,
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(String),
    Failed(String),
    Cancelled,
}

impl Job {
    /// Run `work` on a thread named `thread` (a one-shot [`Worker`]).
    pub fn start(title: impl Into<String>, thread: &str, work: Work) -> Result<Self, WorkerError> {
        let progress = Arc::new(AtomicU32::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let (p, c) = (progress.clone(), cancel.clone());
        let worker = Worker::once(thread, move || {
            let report = |share: f32| {
                p.store((share.clamp(0.0, 1.0) * 1e6) as u32, Ordering::Relaxed);
                !c.load(Ordering::Relaxed)
            };
            work(&report)
        })?;
        Ok(Self { title: title.into(), output: None, progress, cancel, worker })
    }

    /// Say which file the job writes (see [`Job::output`]).
    #[must_use]
    pub fn writing(mut self, path: PathBuf) -> Self {
        self.output = Some(path);
        self
    }

    pub fn progress(&self) -> f32 {
        self.progress.load(Ordering::Relaxed) as f32 / 1e6
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The outcome, once the job has ended (never blocks).
    pub fn answers(&self) -> impl Iterator<Item = Outcome> + '_ {
        self.worker.answers().map(|result| match result {
            Ok(summary) => Outcome::Done(summary),
            Err(_) if self.cancelled() => Outcome::Cancelled,
            Err(e) => Outcome::Failed(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn wait(job: &Job) -> Outcome {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(o) = job.answers().next() {
                return o;
            }
            assert!(Instant::now() < deadline, "the job never ended");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn a_job_reports_progress_and_stops_when_cancelled() {
        let job = Job::start(
            "count",
            "job-test",
            Box::new(|p| {
                for i in 0..1000 {
                    if !p(i as f32 / 1000.0) {
                        return Err("stopped".into());
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok("counted".into())
            }),
        )
        .expect("start");
        while job.progress() < 0.01 {
            std::thread::sleep(Duration::from_millis(1));
        }
        job.cancel();
        assert_eq!(wait(&job), Outcome::Cancelled);
        let ok = Job::start("quick", "job-test", Box::new(|p| Ok(format!("{}", p(1.0))))).expect("start");
        assert_eq!(wait(&ok), Outcome::Done("true".into()));
        let bad = Job::start("bad", "job-test", Box::new(|_| Err("disk full".into()))).expect("start");
        assert_eq!(wait(&bad), Outcome::Failed("disk full".into()));
    }
}
