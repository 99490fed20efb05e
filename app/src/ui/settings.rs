//! Settings kept between runs in `$XDG_CONFIG_HOME/tessera/settings.toml` (else
//! `~/.config/tessera/settings.toml`): recent archives, the grid, sync, the clock, the
//! timeline's style, the pre-roll, the theme and Skim's speeds. Read once at start-up; written on a thread
//! of its own whenever one changes (never by the UI thread), to a temporary name then
//! renamed. A file that does not parse is reported and replaced by defaults, never fatal.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Recent archives remembered.
pub const RECENT: usize = 8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Newest first.
    pub recent: Vec<PathBuf>,
    pub utc: bool,
    pub grid_side: usize,
    pub sync: bool,
    /// The timeline draws coverage (else presence).
    pub coverage: bool,
    pub preroll_s: f64,
    pub light_theme: bool,
    /// Skim mode: the speed of spans with events, and of the quiet spans between them.
    pub skim_speed: f64,
    pub skim_quiet_speed: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            recent: Vec::new(),
            utc: false,
            grid_side: 1,
            sync: true,
            coverage: true,
            preroll_s: 2.0,
            light_theme: false,
            skim_speed: 1.0,
            skim_quiet_speed: 32.0,
        }
    }
}

impl Settings {
    /// Put `archive` first in the recent list.
    pub fn opened(&mut self, archive: &Path) {
        self.recent.retain(|p| p != archive);
        self.recent.insert(0, archive.to_owned());
        self.recent.truncate(RECENT);
    }
}

/// Where settings live (`None` without a home folder).
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("tessera").join("settings.toml"))
}

/// Read settings; a missing file is the defaults, a bad one the defaults and a warning.
pub fn load(path: &Path) -> (Settings, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str(&text) {
            Ok(settings) => (settings, None),
            Err(e) => (Settings::default(), Some(format!("{}: {e} (using the defaults)", path.display()))),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), None),
        Err(e) => (Settings::default(), Some(format!("{}: {e} (using the defaults)", path.display()))),
    }
}

/// Write settings on a thread of their own.
pub fn save_in_background(path: PathBuf, settings: Settings) {
    let _ = std::thread::Builder::new().name("settings-save".into()).spawn(move || {
        if let Err(e) = save(&path, &settings) {
            tracing::warn!("cannot save settings: {e:#}");
        }
    });
}

pub fn save(path: &Path, settings: &Settings) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    tessera_engine::output::write_atomically(path, toml::to_string_pretty(settings)?.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_bad_files_fall_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/settings.toml");
        assert_eq!(load(&path), (Settings::default(), None), "missing: the defaults, quietly");
        let mut s = Settings { grid_side: 3, utc: true, ..Settings::default() };
        for i in 0..10 {
            s.opened(Path::new(&format!("/archive/{i}")));
        }
        s.opened(Path::new("/archive/4"));
        assert_eq!(s.recent.len(), RECENT);
        assert_eq!(s.recent[0], Path::new("/archive/4"));
        save(&path, &s).expect("save");
        assert_eq!(load(&path), (s, None));
        std::fs::write(&path, "grid_side = \"many\"").expect("write");
        let (settings, warning) = load(&path);
        assert_eq!(settings, Settings::default());
        assert!(warning.expect("a warning").contains("settings.toml"));
        std::fs::write(&path, "utc = true").expect("write");
        assert!(load(&path).0.utc, "missing keys take their defaults");
    }
}
