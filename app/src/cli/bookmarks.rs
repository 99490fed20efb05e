//! `tessera bookmarks add|list|delete`: named time ranges with notes in the archive's
//! database (the GUI's Bookmarks tab shows and edits the same).

use super::print_json;
use clap::Subcommand;
use std::path::PathBuf;
use tessera_storage::db::bookmarks::Bookmark;
use tessera_storage::{EventDb, UnixMicros};

#[derive(Subcommand, Debug)]
pub enum BookmarksCommand {
    /// Bookmark a moment or a range.
    Add {
        #[arg(long)]
        archive: PathBuf,
        /// Start: RFC 3339 or integer µs.
        #[arg(long, allow_hyphen_values = true)]
        from: UnixMicros,
        /// End (default: the start).
        #[arg(long, allow_hyphen_values = true)]
        to: Option<UnixMicros>,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        note: String,
        /// The camera it is about (default: every camera).
        #[arg(long, default_value = "")]
        camera: String,
        #[arg(long)]
        json: bool,
    },
    /// Every bookmark, by start time.
    List {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Delete a bookmark by id.
    Delete {
        #[arg(long)]
        archive: PathBuf,
        #[arg(long)]
        id: i64,
    },
}

pub fn run(command: BookmarksCommand) -> anyhow::Result<()> {
    match command {
        BookmarksCommand::Add { archive, from, to, name, note, camera, json } => {
            let db = EventDb::open_write(&archive)?;
            let end_us = to.map_or(from.0, |t| t.0);
            let b = Bookmark { id: 0, camera, start_us: from.0, end_us, name, note, created_us: 0 };
            let id = db.add_bookmark(&b)?;
            if json { print_json(&serde_json::json!({ "id": id })) } else { Ok(out!("{id}")?) }
        }
        BookmarksCommand::List { archive, json } => {
            let list = EventDb::open_read(&archive)?.bookmarks()?;
            if json {
                return print_json(&list);
            }
            for b in list {
                out!(
                    "{:>5}  {} → {}  {:<10} {}{}",
                    b.id,
                    UnixMicros(b.start_us).to_rfc3339(),
                    UnixMicros(b.end_us).to_rfc3339(),
                    if b.camera.is_empty() { "*" } else { b.camera.as_str() },
                    b.name,
                    if b.note.is_empty() { String::new() } else { format!(" — {}", b.note) }
                )?;
            }
            Ok(())
        }
        BookmarksCommand::Delete { archive, id } => {
            if !EventDb::open_write(&archive)?.delete_bookmark(id)? {
                anyhow::bail!("{}: no bookmark {id}", archive.display());
            }
            Ok(())
        }
    }
}
