//! Output files the user asked for (clips, frames, screenshots): written under a temporary
//! name beside the target, synced, then renamed, so a killed command or a full disk never
//! leaves a half-written file under the real name.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically (see the module docs).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("{}: cannot write", tmp.display()));
    }
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}
