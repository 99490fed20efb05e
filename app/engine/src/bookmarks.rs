//! The bookmarks thread (`bookmarks`): lists, adds and deletes the archive's bookmarks so
//! the UI thread never opens the database. Every change answers with the fresh list; a
//! read-only archive answers with an error naming the file.

use crate::worker::{Refused, Worker, WorkerError};
use std::path::PathBuf;
use tessera_storage::EventDb;
use tessera_storage::db::bookmarks::Bookmark;

#[derive(Debug, Clone)]
pub enum BookmarkRequest {
    List,
    Add(Bookmark),
    Delete(i64),
}

#[derive(Debug, Clone)]
pub enum BookmarkReply {
    List(Vec<Bookmark>),
    Error(String),
}

/// Requests (and replies) in flight at most.
const QUEUE: usize = 32;

pub struct BookmarkStore {
    worker: Worker<BookmarkRequest, BookmarkReply>,
}

impl BookmarkStore {
    /// Start the `bookmarks` thread; its first reply is the list.
    pub fn start(root: PathBuf) -> Result<Self, WorkerError> {
        let worker = Worker::start("bookmarks", QUEUE, QUEUE, move |inbox, outbox| {
            for request in inbox.iter() {
                if outbox.send(serve(&root, request)).is_err() {
                    return;
                }
            }
        })?;
        let store = Self { worker };
        let _ = store.send(BookmarkRequest::List); // the queue is empty
        Ok(store)
    }

    /// Ask (refused when 32 requests are already waiting).
    pub fn send(&self, request: BookmarkRequest) -> Result<(), Refused> {
        self.worker.send(request)
    }

    /// The replies that have arrived.
    pub fn answers(&self) -> impl Iterator<Item = BookmarkReply> + '_ {
        self.worker.answers()
    }
}

fn serve(root: &std::path::Path, request: BookmarkRequest) -> BookmarkReply {
    let result = (|| {
        match request {
            BookmarkRequest::List => {}
            BookmarkRequest::Add(b) => {
                EventDb::open_write(root)?.add_bookmark(&b)?;
            }
            BookmarkRequest::Delete(id) => {
                EventDb::open_write(root)?.delete_bookmark(id)?;
            }
        }
        EventDb::open_read(root)?.bookmarks()
    })();
    match result {
        Ok(list) => BookmarkReply::List(list),
        Err(e) => BookmarkReply::Error(e.to_string()),
    }
}
