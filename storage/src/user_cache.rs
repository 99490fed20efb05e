//! Where Tessera keeps what it derives from data it may not write (a read-only archive, a
//! feder store on read-only media): one file per source in the user's cache directory
//! (`$XDG_CACHE_HOME/tessera/`, else `~/.cache/tessera/`), named by a hash of the source's
//! canonical path, so every copy or mount point of a source has its own.

use std::path::{Path, PathBuf};

/// `<cache>/tessera/<prefix>-<hash of source's canonical path>.<ext>`.
pub fn file_for(source: &Path, prefix: &str, ext: &str) -> PathBuf {
    let canonical = source.canonicalize().unwrap_or_else(|_| source.to_path_buf());
    let hash = fnv1a(canonical.as_os_str().as_encoded_bytes());
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tessera")
        .join(format!("{prefix}-{hash:016x}.{ext}"))
}

/// 64-bit FNV-1a: a stable hash (the names above must not change between builds).
pub fn fnv1a<'a>(bytes: impl IntoIterator<Item = &'a u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_per_source() {
        let a = file_for(Path::new("/no/such/archive"), "previews", "sqlite");
        assert_eq!(a, file_for(Path::new("/no/such/archive"), "previews", "sqlite"));
        assert_ne!(a, file_for(Path::new("/no/such/other"), "previews", "sqlite"));
        let name = a.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        assert!(name.starts_with("previews-") && name.ends_with(".sqlite"), "{name}");
        // FNV-1a's published test vector.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
