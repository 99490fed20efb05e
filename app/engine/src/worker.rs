//! The one shape of every worker thread the UI talks to: a named thread that takes requests
//! from a bounded channel and puts answers on another. A new worker copies it:
//!
//! - `start(…) -> Result<Handle, WorkerError>`: the thread is named, and failing to start it
//!   is the only error of starting; whatever the thread then opens (a database, a file) it
//!   opens on its own, and a failure there is an answer.
//! - `handle.send(request) -> Result<(), Refused>` never blocks: a full queue refuses
//!   ([`Refused::Full`], the UI asks again next frame or lets a newer request stand for it).
//! - `handle.answers()` drains what has arrived, oldest first, without blocking; the UI calls
//!   it once a frame. Errors are values inside the answers (per request), and the worker
//!   carries on with the next request.
//!
//! One-shot work (an archive load, an export) is a worker without requests ([`Worker::once`]).
//! Dropping the handle closes the request channel: the thread ends after its current request.

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::convert::Infallible;
use std::thread::JoinHandle;
use std::time::Duration;

/// A worker thread could not be started (the system refused a thread).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the {name} thread: {source}")]
pub struct WorkerError {
    pub name: String,
    #[source]
    pub source: std::io::Error,
}

/// Why a request was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The queue is full: ask again later.
    #[error("the worker is busy")]
    Full,
    /// The thread has ended.
    #[error("the worker has ended")]
    Gone,
}

/// The UI's end of a worker thread: requests of type `Req` in, answers of type `Ans` out.
pub struct Worker<Req, Ans> {
    requests: Sender<Req>,
    answers: Receiver<Ans>,
    thread: JoinHandle<()>,
}

impl<Req: Send + 'static, Ans: Send + 'static> Worker<Req, Ans> {
    /// Start `serve` on a thread named `name`, with room for `requests` requests and `answers`
    /// answers in flight. `serve` gets the other ends and should return once the request
    /// channel closes (the handle was dropped) or sending an answer fails (the same).
    pub fn start(
        name: impl Into<String>,
        requests: usize,
        answers: usize,
        serve: impl FnOnce(Receiver<Req>, Sender<Ans>) + Send + 'static,
    ) -> Result<Self, WorkerError> {
        let name = name.into();
        let (requests, inbox) = bounded(requests);
        let (outbox, answers) = bounded(answers);
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || serve(inbox, outbox))
            .map_err(|source| WorkerError { name, source })?;
        Ok(Self { requests, answers, thread })
    }

    /// Queue a request without blocking.
    pub fn send(&self, request: Req) -> Result<(), Refused> {
        self.requests.try_send(request).map_err(|e| match e {
            TrySendError::Full(_) => Refused::Full,
            TrySendError::Disconnected(_) => Refused::Gone,
        })
    }
}

impl<Ans: Send + 'static> Worker<Infallible, Ans> {
    /// Run `work` once on a thread named `name`; its result is the worker's one answer.
    pub fn once(name: impl Into<String>, work: impl FnOnce() -> Ans + Send + 'static) -> Result<Self, WorkerError> {
        Self::start(name, 0, 1, move |_, answer| {
            let _ = answer.send(work()); // the handle may be gone: nobody wants it then
        })
    }
}

impl<Req, Ans> Worker<Req, Ans> {
    /// The answers that have arrived, oldest first (never blocks).
    pub fn answers(&self) -> impl Iterator<Item = Ans> + '_ {
        self.answers.try_iter()
    }

    /// Block up to `timeout` for the next answer (benchmarks and tests; never the UI).
    pub fn wait(&self, timeout: Duration) -> Option<Ans> {
        self.answers.recv_timeout(timeout).ok()
    }

    /// The thread has ended and every answer it sent has been taken: nothing more will come
    /// (a one-shot worker that ends without answering has panicked).
    pub fn ended(&self) -> bool {
        // In this order: once the thread is finished its answers are all in the channel.
        self.thread.is_finished() && self.answers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_worker_answers_requests_refuses_when_full_and_ends_with_its_handle() {
        let (release, gate) = bounded::<()>(0);
        let worker = Worker::start("worker-test", 1, 4, move |inbox: Receiver<u32>, outbox| {
            let _ = gate.recv(); // hold the first request until the test has filled the queue
            for n in inbox.iter() {
                if outbox.send(n * 2).is_err() {
                    return;
                }
            }
        })
        .unwrap();
        assert_eq!(worker.send(1), Ok(()));
        assert_eq!(worker.send(2), Err(Refused::Full));
        release.send(()).unwrap();
        assert_eq!(worker.wait(Duration::from_secs(10)), Some(2));
        assert_eq!(worker.send(3), Ok(()));
        assert_eq!(worker.wait(Duration::from_secs(10)), Some(6));
        assert_eq!(worker.answers().count(), 0);
        assert!(!worker.ended());
    }

    #[test]
    fn a_one_shot_worker_answers_once_then_has_ended() {
        let worker = Worker::once("worker-test", || 42);
        let worker = worker.unwrap();
        assert_eq!(worker.wait(Duration::from_secs(10)), Some(42));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !worker.ended() {
            assert!(std::time::Instant::now() < deadline, "the thread never ended");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(worker.answers().count(), 0);
    }
}
