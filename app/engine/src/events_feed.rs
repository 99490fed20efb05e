//! The events feed: a named worker thread (`events`) that answers the questions the review
//! workflow asks of the event database — the next or previous event for `N`/`P`, and the
//! events under the pointer for the timeline's hover — so the UI thread never runs SQL.
//! Bounded channels both ways; hover questions are coalesced (only the newest is answered),
//! and a full queue drops the question rather than block the UI.

use crate::worker::{Refused, Worker, WorkerError};
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use std::path::PathBuf;
use tessera_storage::EventDb;
use tessera_storage::events::{BoxAt, EventRow};

#[derive(Clone, Debug, PartialEq)]
pub enum EventQuestion {
    /// The event starting next after `from_us` (`forward`), or last before it, on any of
    /// `cameras`, among `classes` (all when empty).
    Step { cameras: Vec<String>, from_us: i64, forward: bool, classes: Vec<String> },
    /// The events of `camera` overlapping `[from_us, to_us]` (the pointer's column).
    Under { camera: String, from_us: i64, to_us: i64 },
    /// The Events list: events of `cameras` overlapping `[from_us, to_us]`, of `class` (any
    /// when `None`), at least `min_confidence` confident, by start, at most `limit`.
    List(ListQuery),
    /// The detection boxes of `camera`'s events at `t_us` (drawn over the picture).
    BoxesAt { camera: String, t_us: i64 },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListQuery {
    pub cameras: Vec<String>,
    pub from_us: i64,
    pub to_us: i64,
    pub class: Option<String>,
    pub min_confidence: f64,
    pub limit: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventAnswer {
    /// `None`: no such event.
    Step {
        forward: bool,
        event: Option<EventRow>,
    },
    Under {
        camera: String,
        from_us: i64,
        to_us: i64,
        events: Vec<EventRow>,
    },
    /// `total` matched; `events` holds the first `limit` of them. A failed query answers
    /// with no events and its error (so whoever waits for this query's answer gets one).
    List {
        query: ListQuery,
        events: Vec<EventRow>,
        total: usize,
        error: Option<String>,
    },
    /// A failed query answers with no boxes and its error (as `List`).
    BoxesAt {
        camera: String,
        t_us: i64,
        boxes: Vec<(EventRow, BoxAt)>,
        error: Option<String>,
    },
    Error(String),
}

/// Questions (and answers) in flight at most.
const QUEUE: usize = 16;

pub struct EventsFeed {
    worker: Worker<EventQuestion, EventAnswer>,
}

impl EventsFeed {
    /// Start the `events` thread (it opens the database at the first question).
    pub fn start(root: PathBuf) -> Result<Self, WorkerError> {
        let worker = Worker::start("events", QUEUE, QUEUE, move |inbox, outbox| serve(&root, &inbox, &outbox))?;
        Ok(Self { worker })
    }

    /// Ask (refused when 16 questions are already waiting: the UI asks again).
    pub fn send(&self, question: EventQuestion) -> Result<(), Refused> {
        self.worker.send(question)
    }

    /// The answers that have arrived.
    pub fn answers(&self) -> impl Iterator<Item = EventAnswer> + '_ {
        self.worker.answers()
    }
}

fn serve(root: &std::path::Path, inbox: &Receiver<EventQuestion>, outbox: &Sender<EventAnswer>) {
    let mut db: Option<EventDb> = None;
    while let Ok(mut question) = inbox.recv() {
        // Hover, list and boxes questions follow the pointer, the view and the picture:
        // answer only the newest of each kind waiting.
        if !matches!(question, EventQuestion::Step { .. }) {
            loop {
                match inbox.try_recv() {
                    Ok(next) if std::mem::discriminant(&next) == std::mem::discriminant(&question) => question = next,
                    Ok(other) => {
                        let _ = outbox.send(answer(root, &mut db, other));
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
        }
        if outbox.send(answer(root, &mut db, question)).is_err() {
            return;
        }
    }
}

fn answer(root: &std::path::Path, db: &mut Option<EventDb>, question: EventQuestion) -> EventAnswer {
    let db = match db {
        Some(db) => db,
        None => match EventDb::open_read(root) {
            Ok(opened) => db.insert(opened),
            Err(e) => return EventAnswer::Error(format!("{}: {e}", root.display())),
        },
    };
    match question {
        EventQuestion::Step { cameras, from_us, forward, classes } => {
            // Strictly after / before `from_us`, in the database's milliseconds.
            let from_ms = if forward { from_us.div_euclid(1000) } else { from_us.saturating_add(999).div_euclid(1000) };
            let mut best: Option<EventRow> = None;
            for camera in &cameras {
                match db.step_event(camera, from_ms, forward, &classes) {
                    Ok(Some(e)) => {
                        let better = best
                            .as_ref()
                            .is_none_or(|b| if forward { e.first_ms < b.first_ms } else { e.first_ms > b.first_ms });
                        if better {
                            best = Some(e);
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return EventAnswer::Error(e.to_string()),
                }
            }
            EventAnswer::Step { forward, event: best }
        }
        EventQuestion::List(query) => {
            let mut events = Vec::new();
            for camera in &query.cameras {
                match db.list_events(camera, query.from_us.div_euclid(1000), query.to_us.div_euclid(1000)) {
                    Ok(list) => events.extend(list.into_iter().filter(|e| {
                        query.class.as_ref().is_none_or(|c| &e.class == c)
                            && e.confidence.unwrap_or(1.0) >= query.min_confidence
                    })),
                    Err(e) => {
                        return EventAnswer::List { query, events: Vec::new(), total: 0, error: Some(e.to_string()) };
                    }
                }
            }
            events.sort_by_key(|e| (e.first_ms, e.id));
            let total = events.len();
            events.truncate(query.limit);
            EventAnswer::List { query, events, total, error: None }
        }
        EventQuestion::BoxesAt { camera, t_us } => match db.boxes_at(&camera, t_us.div_euclid(1000), 1000) {
            Ok(boxes) => EventAnswer::BoxesAt { camera, t_us, boxes, error: None },
            Err(e) => EventAnswer::BoxesAt { camera, t_us, boxes: Vec::new(), error: Some(e.to_string()) },
        },
        EventQuestion::Under { camera, from_us, to_us } => {
            match db.list_events(&camera, from_us.div_euclid(1000), to_us.div_euclid(1000)) {
                Ok(events) => EventAnswer::Under { camera, from_us, to_us, events },
                Err(e) => EventAnswer::Error(e.to_string()),
            }
        }
    }
}
