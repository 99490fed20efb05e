//! Where a classification's frames file is, and where Tessera may write one.
//!
//! - **Import**: a manifest's `frames` is relative to the manifest's folder (or absolute) and
//!   may point anywhere the user can read; an empty path, a NUL byte, or a directory or other
//!   non-regular file is refused. A path inside the catalog's folder is stored relative to it,
//!   so a moved or copied catalog reads (and rebuilds) its own files; others are stored
//!   absolute. Readers resolve relative paths against the catalog directory.
//! - **Rebuild** (`hypertable rebuild-msgpacks`) writes only where a frames file belongs: a
//!   missing file only inside the catalog's folder (its parent, symlinks resolved, must lie
//!   there), and with `--force` only over a regular file — not a symlink — that already reads
//!   as a frames file of that classification. Anything else is refused naming the path: a
//!   manifest line must never cost a file outside the catalog.

use super::frames::FramesReader;
use std::path::{Component, Path, PathBuf};

/// `path` with `.` and `..` removed lexically (`..` at the root stays at the root).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() && !path.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Problems of a manifest's `frames` value itself (before it is resolved).
pub fn check_entry(frames: &Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = frames.as_os_str().as_bytes();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("frames is empty".into());
    }
    if bytes.contains(&0) {
        return Err("frames contains a NUL byte".into());
    }
    Ok(())
}

/// The frames path of a manifest entry, resolved against the manifest's folder `base`
/// (absolute) and checked: an existing path must be a regular file (symlinks followed).
pub fn resolve_entry(frames: &Path, base: &Path) -> Result<PathBuf, String> {
    check_entry(frames)?;
    let path = normalize(&base.join(frames));
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Err(format!("frames {} is a directory", path.display())),
        Ok(m) if !m.is_file() => Err(format!("frames {} is not a regular file", path.display())),
        _ => Ok(path), // a regular file, or missing (an image rebuilt from its dyn_attrs)
    }
}

/// How `path` (absolute, normalized) is stored in the catalog of `catalog_dir`
/// (canonical): relative when it lies inside, else as it is.
pub fn stored_form(path: &Path, catalog_dir: &Path) -> PathBuf {
    match path.strip_prefix(catalog_dir) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.to_path_buf(),
        _ => path.to_path_buf(),
    }
}

/// A stored frames path as a path to open: relative ones are relative to the catalog.
pub fn resolve_stored(stored: &Path, catalog_dir: &Path) -> PathBuf {
    if stored.is_absolute() { stored.to_path_buf() } else { catalog_dir.join(stored) }
}

/// What a rebuild may do at a frames path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildTarget {
    /// Nothing is there and the path is inside the catalog's folder.
    Create,
    /// A regular file that reads as this classification's frames file (`--force`).
    Replace,
}

/// Whether a rebuild of classification `classification` may write `path`, with the reason
/// when not. `catalog_dir` need not be canonical.
pub fn rebuild_target(path: &Path, catalog_dir: &Path, classification: i64) -> Result<RebuildTarget, String> {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let inside = |dir: &Path| {
                let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                let (Ok(parent), Ok(dir)) = (parent.canonicalize(), dir.canonicalize()) else { return false };
                parent.starts_with(dir)
            };
            if inside(catalog_dir) {
                Ok(RebuildTarget::Create)
            } else {
                Err(format!(
                    "{shown}: missing and outside the catalog's folder {} (rebuild creates files only inside it)",
                    catalog_dir.display()
                ))
            }
        }
        Err(e) => Err(format!("{shown}: {e}")),
        Ok(m) if m.file_type().is_symlink() => {
            Err(format!("{shown}: a symbolic link (rebuild replaces only regular frames files)"))
        }
        Ok(m) if !m.is_file() => Err(format!("{shown}: not a regular file (rebuild replaces only frames files)")),
        Ok(_) => match FramesReader::open(path) {
            Ok(r) if r.header.classification_id == classification => Ok(RebuildTarget::Replace),
            Ok(r) => Err(format!(
                "{shown}: the frames file of classification {}, not {classification}; not replaced",
                r.header.classification_id
            )),
            Err(e) => {
                let problem = e.to_string();
                let problem = problem.strip_prefix(&format!("{shown}: ")).unwrap_or(&problem).to_string();
                Err(format!("{shown}: not a frames file, not replaced ({problem})"))
            }
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn entries_with_nothing_or_nul_or_a_directory_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_entry(Path::new("")).unwrap_err().contains("empty"));
        assert!(check_entry(Path::new("  ")).unwrap_err().contains("empty"));
        assert!(check_entry(Path::new("a\0b")).unwrap_err().contains("NUL"));
        assert!(resolve_entry(Path::new("."), dir.path()).unwrap_err().contains("directory"));
        assert!(resolve_entry(Path::new("/dev/null"), dir.path()).unwrap_err().contains("not a regular"));
        assert_eq!(resolve_entry(Path::new("x/../y.msgpack"), dir.path()).unwrap(), dir.path().join("y.msgpack"));
    }

    #[test]
    fn paths_inside_the_catalog_are_stored_relative() {
        let cat = Path::new("/data/cat");
        assert_eq!(stored_form(Path::new("/data/cat/f/1.msgpack"), cat), Path::new("f/1.msgpack"));
        assert_eq!(stored_form(Path::new("/data/catalog/1.msgpack"), cat), Path::new("/data/catalog/1.msgpack"));
        assert_eq!(stored_form(Path::new("/data/x.msgpack"), cat), Path::new("/data/x.msgpack"));
        assert_eq!(resolve_stored(Path::new("f/1.msgpack"), Path::new("/moved")), Path::new("/moved/f/1.msgpack"));
        assert_eq!(resolve_stored(Path::new("/abs/1.msgpack"), Path::new("/moved")), Path::new("/abs/1.msgpack"));
    }

    proptest! {
        /// Normalizing never leaves a `.` or a `..` below the root of an absolute path.
        #[test]
        fn normalized_absolute_paths_have_no_dot_segments(parts in proptest::collection::vec("(\\.|\\.\\.|[a-z]{1,3})", 0..8)) {
            let path = PathBuf::from("/").join(parts.join("/"));
            let n = normalize(&path);
            prop_assert!(n.is_absolute());
            prop_assert!(n.components().all(|c| matches!(c, Component::RootDir | Component::Normal(_))), "{n:?}");
        }
    }
}
