//! The one rule for names and notes Tessera stores from outside input: event cameras and
//! classes, stream names, bookmark names, cameras and notes, frames-file labels.
//!
//! A **name** is 1 … [`MAX_NAME_BYTES`] (255) bytes of UTF-8, not only whitespace, with no control
//! character (U+0000–U+001F, U+007F–U+009F: no newline, tab or escape) and none of the
//! invisible characters that reorder or split text (bidirectional overrides and isolates
//! U+202A–U+202E, U+2066–U+2069; line and paragraph separators U+2028, U+2029). A **note** is
//! 0 … [`MAX_NOTE_BYTES`] (4096) bytes under the same rule, except that it may hold newlines and tabs.
//!
//! Why: one stored string is drawn by every frame of the window and every `tessera
//! screenshot`; a 4 MB class made egui ask wgpu for a 320 MB vertex buffer (a panic on every
//! open). Bounding input keeps archives openable; the UI also clips what is drawn, for
//! archives written before the rule.
//!
//! Messages name the field and the problem but never echo a long value. Reads of names stored
//! before the rule take at most [`STORED_READ_CHARS`] characters of them ([`clip_stored`]),
//! so one old 300 MB class costs neither the reader's memory nor each row's copy.

/// The longest name, in bytes of UTF-8: the longest file name common file systems allow, so
/// a stream name is also a directory name.
pub const MAX_NAME_BYTES: usize = 255;
/// The longest note, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 4096;

/// Characters of a stored name SQL hands back at most (`substr(value, 1, STORED_READ_CHARS)`):
/// one more than a name can have, so [`clip_stored`] sees whether it was cut.
pub const STORED_READ_CHARS: usize = MAX_NAME_BYTES + 1;
/// The same for a note.
pub const STORED_NOTE_READ_CHARS: usize = MAX_NOTE_BYTES + 1;

/// A name (`max` = [`MAX_NAME_BYTES`]) or note read back from storage, at most `max` bytes: a
/// longer one (stored before the rule) keeps its first bytes up to a character boundary and
/// ends in `…`.
pub fn clip_stored(mut value: String, max: usize) -> String {
    if value.len() > max {
        let mut end = max - '…'.len_utf8();
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
        value.push('…');
    }
    value
}

/// Check a name; `field` names it in the message (`class`, `--stream`, …).
pub fn check_name(field: &str, value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    check(field, value, MAX_NAME_BYTES, false)
}

/// Check a note (may be empty, may hold newlines and tabs).
pub fn check_note(field: &str, value: &str) -> Result<(), String> {
    check(field, value, MAX_NOTE_BYTES, true)
}

fn check(field: &str, value: &str, max: usize, multiline: bool) -> Result<(), String> {
    if value.len() > max {
        return Err(format!("{field} is {} bytes, longer than the {max}-byte maximum", value.len()));
    }
    let bad = |c: char| {
        let line_break = multiline && matches!(c, '\n' | '\t' | '\r');
        (c.is_control() && !line_break)
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
    };
    if let Some((at, c)) = value.char_indices().find(|&(_, c)| bad(c)) {
        return Err(format!("{field} holds the unprintable character U+{:04X} at byte {at}", u32::from(c)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_notes() {
        for good in ["person", "cam-1-HD", "Fußgänger", "人", "a b", &"x".repeat(MAX_NAME_BYTES)] {
            assert_eq!(check_name("class", good), Ok(()), "{good:?}");
        }
        for (bad, needle) in [
            ("", "class is empty"),
            ("  ", "class is empty"),
            (&"x".repeat(MAX_NAME_BYTES + 1) as &str, "class is 256 bytes, longer than the 255-byte maximum"),
            ("a\nb", "class holds the unprintable character U+000A at byte 1"),
            ("a\tb", "U+0009"),
            ("\u{1b}[31m", "U+001B at byte 0"),
            ("a\u{7f}", "U+007F"),
            ("a\u{85}", "U+0085"),
            ("evil\u{202E}gnp", "U+202E at byte 4"),
            ("a\u{2028}", "U+2028"),
        ] {
            let error = check_name("class", bad).expect_err(bad);
            assert!(error.contains(needle), "{error:?} lacks {needle:?}");
        }
        // Three-byte characters: 85 fit, 86 do not (bytes, not characters, are counted).
        assert!(check_name("n", &"人".repeat(85)).is_ok());
        assert!(check_name("n", &"人".repeat(86)).is_err());
        assert_eq!(check_note("note", ""), Ok(()));
        assert_eq!(check_note("note", "line 1\n\tline 2\r\n"), Ok(()));
        assert!(check_note("note", "a\0").is_err());
        assert!(check_note("note", &"x".repeat(MAX_NOTE_BYTES + 1)).is_err());
        let long = check_name("camera", &"y".repeat(4 << 20)).expect_err("4 MB");
        assert!(long.len() < 100, "the message never echoes the value: {long}");
    }

    #[test]
    fn stored_names_are_clipped_on_read() {
        assert_eq!(clip_stored("person".into(), MAX_NAME_BYTES), "person");
        let longest = "x".repeat(MAX_NAME_BYTES);
        assert_eq!(clip_stored(longest.clone(), MAX_NAME_BYTES), longest);
        let clipped = clip_stored("人".repeat(STORED_READ_CHARS), MAX_NAME_BYTES);
        assert!(clipped.len() <= MAX_NAME_BYTES && clipped.ends_with('…') && clipped.starts_with("人人"));
        let note = clip_stored("é".repeat(STORED_NOTE_READ_CHARS), MAX_NOTE_BYTES);
        assert!(note.len() <= MAX_NOTE_BYTES && note.ends_with('…'));
    }

    proptest! {
        /// Whatever passes is short, non-blank and free of control characters; whatever is
        /// refused gets a one-line message naming the field.
        #[test]
        fn accepted_names_are_bounded_and_printable(s in "\\PC{0,300}|[\\x00-\\x7f]{0,40}|.{0,300}") {
            match check_name("f", &s) {
                Ok(()) => {
                    prop_assert!(!s.trim().is_empty() && s.len() <= MAX_NAME_BYTES);
                    prop_assert!(!s.chars().any(char::is_control));
                }
                Err(e) => {
                    prop_assert!(e.starts_with("f ") && !e.contains('\n'));
                    prop_assert!(e.len() < 120);
                }
            }
        }
    }
}
