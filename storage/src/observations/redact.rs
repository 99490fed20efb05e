//! Passwords out of messages: [`redact`] masks every credential a `--database` value (or
//! `TESSERA_DATABASE_URL`) can carry, whatever its scheme and whether or not it parses —
//! `scheme://user:PW@host` (any or no scheme, `@` or `:` inside the password included),
//! `?password=PW` / `&sslpassword=PW` in a query, and libpq `key=value` conninfo with bare,
//! escaped (`\ `) or quoted (`password='a b'`, `'it\'s'`) values. It runs before the value is
//! parsed, so a malformed value never echoes its password. [`scrub`] is the last line of
//! defence: it removes those passwords from any message text (a library's error, say).
//!
//! Masking errs on the side of hiding: in a malformed value, more than the password may be
//! replaced by `***`, never less.

use std::ops::Range;

const MASK: &str = "***";

/// `text` (a database URL or conninfo) with every password replaced by `***`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans(text) {
        out.push_str(&text[at..span.start]);
        out.push_str(MASK);
        at = span.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The passwords in `text` as written, unescaped and percent-decoded (non-empty, distinct).
pub fn secrets(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for span in spans(text) {
        let raw = &text[span];
        for s in [raw.to_string(), unescape(raw), percent_decode(raw)] {
            if !s.is_empty() && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// `message` without any password of the `values` (URLs or conninfo): each value is first
/// replaced by its redacted form, then each password of 4 or more characters wherever it
/// appears (shorter ones would garble the message; redaction at the source covers them).
pub fn scrub(message: &str, values: &[String]) -> String {
    let mut out = message.to_string();
    for v in values.iter().filter(|v| !v.is_empty()) {
        out = out.replace(v.as_str(), &redact(v));
        for s in secrets(v).iter().filter(|s| s.chars().count() >= 4) {
            out = out.replace(s.as_str(), MASK);
        }
    }
    out
}

/// Byte ranges of the passwords in `text`, sorted and merged.
fn spans(text: &str) -> Vec<Range<usize>> {
    let first = text.trim_start().split(|c: char| c.is_ascii_whitespace()).next().unwrap_or("");
    let mut spans = if first.contains('=') && !first.contains("://") { conninfo_spans(text) } else { url_spans(text) };
    spans.sort_by_key(|s| s.start);
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// URL form: the userinfo's password (between the first `:` after `scheme://` — or the
/// start — and the last `@`), and `…password=` values of the query after it.
fn url_spans(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let start = text.find("://").map_or(0, |i| i + 3);
    let mut query_from = start;
    if let Some(at) = text[start..].rfind('@').map(|i| start + i) {
        if let Some(colon) = text[start..at].find(':') {
            spans.push(start + colon + 1..at);
        }
        query_from = at + 1;
    }
    let Some(q) = text[query_from..].find('?').map(|i| query_from + i) else { return spans };
    let lower = text.to_ascii_lowercase(); // ASCII lowercase keeps byte offsets
    let mut from = q;
    while let Some(k) = lower[from..].find("password=").map(|i| from + i) {
        let value = k + "password=".len();
        let (start, end) = match text[value..].chars().next() {
            Some(quote @ ('\'' | '"')) => (value + 1, quoted_end(text, value + 1, quote)),
            _ => (value, text[value..].find('&').map_or(text.len(), |i| value + i)),
        };
        spans.push(start..end);
        from = end.max(value);
    }
    spans
}

/// The end of a quoted value starting at `from` (after the opening quote): the closing
/// quote's offset, or the end of the text; a backslash escapes the next character.
fn quoted_end(text: &str, from: usize, quote: char) -> usize {
    let mut chars = text[from..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return from + i;
        }
    }
    text.len()
}

/// libpq `key = value` pairs: the values of keys ending in `password` (any case).
fn conninfo_spans(text: &str) -> Vec<Range<usize>> {
    let b = text.as_bytes();
    let n = b.len();
    let skip_ws = |mut i: usize| {
        while i < n && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    // Past a backslash and the (whole) character it escapes.
    let escaped = |i: usize| i + 1 + text.get(i + 1..).and_then(|r| r.chars().next()).map_or(0, char::len_utf8);
    let mut spans = Vec::new();
    let mut i = skip_ws(0);
    while i < n {
        let key_start = i;
        while i < n && !b[i].is_ascii_whitespace() && b[i] != b'=' {
            i += 1;
        }
        let secret = text[key_start..i].to_ascii_lowercase().ends_with("password");
        i = skip_ws(i);
        if i >= n || b[i] != b'=' {
            continue; // a stray word: not a pair
        }
        i = skip_ws(i + 1);
        let (start, end) = if i < n && b[i] == b'\'' {
            let end = quoted_end(text, i + 1, '\'');
            (i + 1, end)
        } else {
            let start = i;
            while i < n && !b[i].is_ascii_whitespace() {
                i = if b[i] == b'\\' { escaped(i) } else { i + 1 };
            }
            (start, i.min(n))
        };
        if secret {
            spans.push(start..end);
        }
        i = skip_ws((end + 1).min(n));
    }
    spans
}

/// `s` with backslash escapes removed.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` with `%XX` escapes decoded (invalid UTF-8 replaced).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex =
            b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_credential_form_is_masked() {
        let cases = [
            ("postgres://me:secret@db:5432/x", "postgres://me:***@db:5432/x"),
            ("postgress://u:PW@h/db", "postgress://u:***@h/db"),
            ("mysql://u:p@ss:w/rd@h/db", "mysql://u:***@h/db"),
            ("u:PW@h/db", "u:***@h/db"),
            ("postgres://me@db/x", "postgres://me@db/x"),
            ("postgres://h/db?user=u&password=PW&sslmode=off", "postgres://h/db?user=u&password=***&sslmode=off"),
            ("postgres://h/db?PASSWORD='a&b'", "postgres://h/db?PASSWORD='***'"),
            ("postgres://h/db?sslpassword=PW", "postgres://h/db?sslpassword=***"),
            ("host=/tmp user=me password=x", "host=/tmp user=me password=***"),
            ("host=h password='a b' user=u", "host=h password='***' user=u"),
            ("host=h password = 'it\\'s x' dbname=d", "host=h password = '***' dbname=d"),
            ("host=h password=a\\ b user=u", "host=h password=*** user=u"),
            ("host=h password='unterminated", "host=h password='***"),
            ("host=h sslpassword=k", "host=h sslpassword=***"),
            ("sqlite:", "sqlite:"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
    }

    #[test]
    fn scrub_removes_passwords_from_any_message() {
        let url = "postgres://u:s%40cret@h/db".to_string();
        let message = "cannot connect to postgres://u:s%40cret@h/db as s@cret";
        assert_eq!(scrub(message, &[url]), "cannot connect to postgres://u:***@h/db as ***");
        let conninfo = "host=h password='a b c'".to_string();
        assert_eq!(scrub("bad value a b c", &[conninfo]), "bad value ***");
    }

    fn escape_bare(pw: &str) -> String {
        pw.chars()
            .flat_map(|c| if c.is_ascii_whitespace() || c == '\\' || c == '\'' { vec!['\\', c] } else { vec![c] })
            .collect()
    }

    fn escape_quoted(pw: &str) -> String {
        pw.chars().flat_map(|c| if c == '\\' || c == '\'' { vec!['\\', c] } else { vec![c] }).collect()
    }

    fn percent(pw: &str) -> String {
        pw.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    }

    proptest! {
        /// Whatever the password, each form reads back exactly with `***` in its place.
        #[test]
        fn no_password_survives_redaction(pw in "\\PC{1,24}", scheme in "[a-z]{1,10}") {
            prop_assert_eq!(redact(&format!("{scheme}://u:{pw}@h:5432/db")), format!("{scheme}://u:***@h:5432/db"));
            prop_assert_eq!(
                redact(&format!("{scheme}://u@h/db?a=1&password={}&b=2", percent(&pw))),
                format!("{scheme}://u@h/db?a=1&password=***&b=2")
            );
            prop_assert_eq!(
                redact(&format!("host=h password='{}' user=u", escape_quoted(&pw))),
                "host=h password='***' user=u".to_string()
            );
            prop_assert_eq!(
                redact(&format!("host=h password={} user=u", escape_bare(&pw))),
                "host=h password=*** user=u".to_string()
            );
        }

        /// Any text at all: redaction never panics and secrets come from its own text.
        #[test]
        fn any_text_is_handled(text in "\\PC{0,40}") {
            let _ = redact(&text);
            for s in secrets(&text) {
                prop_assert!(!s.is_empty());
            }
        }
    }
}
