//! Class colours from `assets/palette.toml` (embedded), with stable fallbacks for classes
//! the palette does not name.

use std::collections::BTreeMap;

const PALETTE_TOML: &str = include_str!("../../../../assets/palette.toml");

/// Distinct, saturated colours for classes without a palette entry (none near the grey
/// background or the future fill).
const FALLBACK: [[u8; 3]; 8] = [
    [255, 160, 40],
    [60, 180, 255],
    [230, 80, 200],
    [120, 220, 120],
    [255, 230, 90],
    [160, 120, 255],
    [255, 110, 110],
    [80, 230, 210],
];

#[derive(Debug, Clone)]
pub struct Palette {
    classes: BTreeMap<String, [u8; 3]>,
}

#[derive(serde::Deserialize)]
struct PaletteFile {
    classes: BTreeMap<String, [u8; 3]>,
}

impl Palette {
    /// The built-in palette.
    pub fn builtin() -> Self {
        // The file is embedded at build time and covered by a test; an edit that breaks it
        // falls back to the generated colours rather than failing at run time.
        let classes = toml::from_str::<PaletteFile>(PALETTE_TOML).map(|p| p.classes).unwrap_or_default();
        Self { classes }
    }

    pub fn color(&self, class: &str) -> [u8; 3] {
        if let Some(c) = self.classes.get(class) {
            return *c;
        }
        let hash =
            class.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x1000_0000_01b3));
        FALLBACK[(hash % FALLBACK.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_palette_parses_and_keeps_cyclops_colours() {
        let file: PaletteFile = toml::from_str(PALETTE_TOML).expect("assets/palette.toml parses");
        assert!(file.classes.len() >= 3);
        let p = Palette::builtin();
        assert_eq!(p.color("person"), [255, 40, 0]);
        assert_eq!(p.color("car"), [0, 255, 0]);
        assert_eq!(p.color("truck"), [150, 100, 255]);
        assert_eq!(p.color("zebra"), p.color("zebra"));
    }
}
