//! Stored text as the window draws it: clipped to a few dozen characters, control characters
//! shown as `?`. egui turns every character of a label into vertices, so a 4 MB class from an
//! archive written before names were bounded ([`tessera_storage::names`]) asked wgpu for a
//! 320 MB vertex buffer and panicked on every frame. Every string that comes from an archive,
//! a catalog or a feder store goes through [`name`] or [`note`] before it is laid out, and
//! lists of them are cut at [`MAX_ITEMS`].

/// Characters of a name drawn at most (camera, class, stream, label, bookmark, callsign).
pub const NAME_CHARS: usize = 64;
/// Characters of a name in a row of buttons (the legend) at most.
pub const SHORT_CHARS: usize = 24;
/// Characters of a note or a message drawn at most.
pub const NOTE_CHARS: usize = 600;
/// Entries of a list built from stored names (legend, pickers) drawn at most.
pub const MAX_ITEMS: usize = 256;

/// `text` clipped to [`NAME_CHARS`], on one line.
pub fn name(text: &str) -> String {
    clip(text, NAME_CHARS, false)
}

/// `text` clipped to [`SHORT_CHARS`], on one line (the full name is a hover away).
pub fn short(text: &str) -> String {
    clip(text, SHORT_CHARS, false)
}

/// `text` clipped to [`NOTE_CHARS`]; newlines stay.
pub fn note(text: &str) -> String {
    clip(text, NOTE_CHARS, true)
}

fn clip(text: &str, max: usize, multiline: bool) -> String {
    let keep = |c: char| !c.is_control() || (multiline && c == '\n');
    // Only the first `max + 1` characters are looked at, however long `text` is.
    let cut = text.char_indices().nth(max).map(|(at, _)| at);
    let mut out: String = text[..cut.unwrap_or(text.len())].chars().map(|c| if keep(c) { c } else { '?' }).collect();
    if cut.is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_long_and_unprintable_text() {
        assert_eq!(name("person"), "person");
        let long = "x".repeat(4 << 20);
        let drawn = name(&long);
        assert_eq!(drawn.chars().count(), NAME_CHARS + 1);
        assert!(drawn.ends_with('…'));
        assert_eq!(name("a\nb\u{1b}"), "a?b?");
        assert_eq!(note("a\nb\u{1b}"), "a\nb?");
        // Characters, not bytes: a multi-byte string is cut on a character boundary.
        assert_eq!(name(&"人".repeat(100)).chars().count(), NAME_CHARS + 1);
        assert_eq!(note(&"é".repeat(NOTE_CHARS)), "é".repeat(NOTE_CHARS));
    }
}
