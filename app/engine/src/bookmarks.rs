//! The bookmarks thread (`bookmarks`): lists, adds and deletes the archive's bookmarks so
//! the UI thread never opens the database. Every change answers with the fresh list; a
//! read-only archive answers with an error naming the file.

use crossbeam_channel::{Receiver, Sender, bounded};
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

pub struct BookmarkStore {
    requests: Sender<BookmarkRequest>,
    replies: Receiver<BookmarkReply>,
}

impl BookmarkStore {
    pub fn start(root: PathBuf) -> std::io::Result<Self> {
        let (requests, inbox) = bounded::<BookmarkRequest>(32);
        let (outbox, replies) = bounded::<BookmarkReply>(32);
        std::thread::Builder::new().name("bookmarks".into()).spawn(move || {
            while let Ok(request) = inbox.recv() {
                if outbox.send(serve(&root, request)).is_err() {
                    return;
                }
            }
        })?;
        let store = Self { requests, replies };
        store.send(BookmarkRequest::List);
        Ok(store)
    }

    /// Ask (dropped if 32 requests are already waiting).
    pub fn send(&self, request: BookmarkRequest) {
        let _ = self.requests.try_send(request);
    }

    pub fn replies(&self) -> impl Iterator<Item = BookmarkReply> + '_ {
        self.replies.try_iter()
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
