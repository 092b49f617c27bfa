//! The two implementations of a pattern, file by file and item by item: each source file is
//! cut into its top-level items (a `fn`, a `struct`, an `impl`, the `use` block…), and the
//! async and threads items are aligned by name so the same idea sits on the same row.

include!(concat!(env!("OUT_DIR"), "/sources.rs"));

/// One top-level item of a source file, with the docs and attributes above it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    /// What the item is, e.g. `fn run`, `impl Drop for Pool`, `use`.
    pub(crate) key: String,
    /// The item's text, trailing blank lines removed.
    pub(crate) text: String,
}

impl Item {
    pub(crate) fn lines(&self) -> usize {
        self.text.lines().count()
    }
}

/// One row of the side-by-side view: an item of either style, or both when they align.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Aligned {
    pub(crate) asyncs: Option<Item>,
    pub(crate) threads: Option<Item>,
}

/// A module file of a pattern, in both styles (a file only one style has is one-sided).
#[derive(Debug, Clone)]
pub(crate) struct FilePair {
    pub(crate) file: &'static str,
    pub(crate) async_lines: usize,
    pub(crate) threads_lines: usize,
    pub(crate) rows: Vec<Aligned>,
}

/// Every module file of `pattern`, both styles aligned, in file-name order.
pub(crate) fn pattern_files(pattern: &str) -> Vec<FilePair> {
    let of = |style: &str| -> Vec<(&'static str, &'static str)> {
        SOURCES
            .iter()
            .filter(|(p, s, _, _)| *p == pattern && *s == style)
            .map(|(_, _, file, text)| (*file, *text))
            .collect()
    };
    let (asyncs, threads) = (of("async"), of("threads"));
    let mut names: Vec<&'static str> = asyncs.iter().chain(&threads).map(|(f, _)| *f).collect();
    names.sort_unstable();
    names.dedup();
    // The crate root first: it says what the crate is for.
    names.sort_by_key(|n| *n != "lib.rs");
    names
        .into_iter()
        .map(|file| {
            let find = |side: &[(&str, &'static str)]| {
                side.iter().find(|(f, _)| *f == file).map(|(_, t)| *t)
            };
            let (a, t) = (find(&asyncs), find(&threads));
            FilePair {
                file,
                async_lines: a.map_or(0, |t| t.lines().count()),
                threads_lines: t.map_or(0, |t| t.lines().count()),
                rows: align(
                    a.map(split_items).unwrap_or_default(),
                    t.map(split_items).unwrap_or_default(),
                ),
            }
        })
        .collect()
}

/// The patterns whose sources are embedded, in name order.
#[cfg(test)]
pub(crate) fn patterns() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = SOURCES.iter().map(|(p, _, _, _)| *p).collect();
    all.dedup();
    all
}

/// Cuts rustfmt-formatted source into top-level items. An item starts at a line in column 0
/// that follows a blank line or the end of the previous item; the docs and attributes right
/// above an item belong to it; consecutive `use` items form one.
pub(crate) fn split_items(text: &str) -> Vec<Item> {
    let lines: Vec<&str> = text.lines().collect();
    let mut starts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let top = !line.is_empty() && !line.starts_with([' ', '\t']);
        let continuation = ["}", ")", "]", "{", "where", "->", "="]
            .iter()
            .any(|c| line.starts_with(c));
        let after_end = i == 0 || {
            let prev = lines[i - 1];
            prev.trim().is_empty()
                || (!prev.starts_with([' ', '\t', '/'])
                    && (prev.ends_with(';') || prev.ends_with('}')))
        };
        if top && !continuation && after_end {
            starts.push(i);
        }
    }
    // Each item as a range of lines; merging two neighbours keeps the text between them.
    let mut ranges: Vec<(String, usize, usize)> = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(lines.len());
        let key = item_key(&lines[start..end]);
        match ranges.last_mut() {
            // One `use` block, one block of `mod` declarations and one of crate docs, however
            // many items rustfmt made of them.
            Some(last) if last.0 == key && MERGED.contains(&key.as_str()) => last.2 = end,
            _ => ranges.push((key, start, end)),
        }
    }
    ranges
        .into_iter()
        .map(|(key, start, end)| Item {
            key,
            text: lines[start..end].join("\n").trim_end().to_owned(),
        })
        .collect()
}

/// Item keys whose neighbours are shown as one item.
const MERGED: [&str; 3] = ["use", "mod …;", "//! docs"];

/// What an item is: its keyword and name, read from its first line that is not a comment or
/// an attribute.
fn item_key(lines: &[&str]) -> String {
    if lines.first().is_some_and(|l| l.starts_with("//!")) {
        return "//! docs".into();
    }
    let Some(head) = lines
        .iter()
        .map(|l| l.trim())
        .find(|l| !(l.is_empty() || l.starts_with("//") || l.starts_with("#[")))
    else {
        return "comment".into();
    };
    let mut words = head
        .split(|c: char| c.is_whitespace() || c == '(' || c == '<' || c == ':' || c == ';')
        .filter(|w| !w.is_empty())
        .skip_while(|w| {
            w.starts_with("pub")
                || ["crate)", "super)", "async", "unsafe", "extern", "\"C\""].contains(w)
        })
        .peekable();
    let kind = match words.next() {
        Some("const") if words.peek() == Some(&"fn") => words.next().unwrap_or("fn"),
        Some(kind) => kind,
        None => return "item".into(),
    };
    match kind {
        "use" => "use".into(),
        "impl" => {
            // `impl<T: Bound> Trait for Type<T>` → `impl Trait for Type`.
            let rest = head.find("impl").map_or("", |at| &head[at + 4..]);
            let rest = skip_generics(rest.trim_start());
            let rest = rest.split(" where").next().unwrap_or(rest);
            let names: Vec<&str> = rest
                .split_whitespace()
                .take_while(|w| *w != "{")
                .map(|w| w.split('<').next().unwrap_or(w))
                .collect();
            format!("impl {}", names.join(" "))
        }
        "macro_rules!" => format!("macro {}", words.next().unwrap_or("")),
        // A declaration of a module in its own file, as opposed to an inline `mod tests {`.
        "mod" if head.ends_with(';') => "mod …;".into(),
        kind => match words.next() {
            Some(name) => format!("{kind} {}", name.trim_end_matches(['{', ',', '='])),
            None => kind.into(),
        },
    }
}

/// Drops a leading `<…>` generic list, nested brackets included.
fn skip_generics(s: &str) -> &str {
    if !s.starts_with('<') {
        return s;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return s[i + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    s
}

/// Aligns two item lists on their keys (longest common subsequence), keeping each side's
/// order; an item with no twin gets a row of its own.
pub(crate) fn align(asyncs: Vec<Item>, threads: Vec<Item>) -> Vec<Aligned> {
    let (n, m) = (asyncs.len(), threads.len());
    // lcs[i][j]: the longest common run of keys in asyncs[i..] and threads[j..].
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if asyncs[i].key == threads[j].key {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut rows = Vec::with_capacity(n.max(m));
    let (mut a, mut t) = (
        asyncs.into_iter().peekable(),
        threads.into_iter().peekable(),
    );
    let (mut i, mut j) = (0, 0);
    loop {
        match (a.peek(), t.peek()) {
            (Some(x), Some(y)) if x.key == y.key => {
                rows.push(Aligned {
                    asyncs: a.next(),
                    threads: t.next(),
                });
                i += 1;
                j += 1;
            }
            (Some(_), Some(_)) if lcs[i + 1][j] >= lcs[i][j + 1] => {
                rows.push(Aligned {
                    asyncs: a.next(),
                    threads: None,
                });
                i += 1;
            }
            (Some(_), None) => {
                rows.push(Aligned {
                    asyncs: a.next(),
                    threads: None,
                });
                i += 1;
            }
            (_, Some(_)) => {
                rows.push(Aligned {
                    asyncs: None,
                    threads: t.next(),
                });
                j += 1;
            }
            (None, None) => return rows,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "//! A module.\n\
//! More docs.\n\
\n\
use std::fmt;\n\
use std::sync::Arc;\n\
\n\
/// A pool.\n\
#[derive(Debug)]\n\
pub struct Pool {\n\
    size: usize,\n\
}\n\
\n\
impl<T: Clone> fmt::Display for Wrapper<T> {\n\
    fn fmt(&self) {}\n\
}\n\
\n\
pub(crate) async fn run<F>(f: F) -> u32\n\
where\n\
    F: Fn(),\n\
{\n\
    1\n\
}\n\
const LIMIT: usize = 3;\n";

    #[test]
    fn items_are_cut_at_top_level_with_their_docs() {
        let items = split_items(SAMPLE);
        assert_eq!(items[0].text, "//! A module.\n//! More docs.");
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "//! docs",
                "use",
                "struct Pool",
                "impl fmt::Display for Wrapper",
                "fn run",
                "const LIMIT"
            ]
        );
        assert_eq!(items[1].text, "use std::fmt;\nuse std::sync::Arc;");
        assert!(items[2].text.starts_with("/// A pool."));
        assert_eq!(
            items[4].lines(),
            6,
            "the where clause and body stay with the fn"
        );
    }

    fn item(key: &str) -> Item {
        Item {
            key: key.into(),
            text: key.into(),
        }
    }

    #[test]
    fn alignment_pairs_same_names_and_keeps_order() {
        let a = vec![
            item("use"),
            item("fn a"),
            item("fn only_async"),
            item("fn b"),
        ];
        let t = vec![
            item("use"),
            item("fn only_threads"),
            item("fn a"),
            item("fn b"),
        ];
        let rows = align(a, t);
        let shape: Vec<(Option<&str>, Option<&str>)> = rows
            .iter()
            .map(|r| {
                (
                    r.asyncs.as_ref().map(|i| i.key.as_str()),
                    r.threads.as_ref().map(|i| i.key.as_str()),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (Some("use"), Some("use")),
                (None, Some("fn only_threads")),
                (Some("fn a"), Some("fn a")),
                (Some("fn only_async"), None),
                (Some("fn b"), Some("fn b")),
            ]
        );
    }

    #[test]
    fn every_pattern_has_both_styles_embedded() {
        let patterns = patterns();
        for p in ["timeout", "ticker", "pause", "journal", "actor"] {
            assert!(patterns.contains(&p), "{p} missing from {patterns:?}");
            let files = pattern_files(p);
            assert!(
                files
                    .iter()
                    .any(|f| f.file == "lib.rs" && f.async_lines > 0)
            );
            assert!(
                files
                    .iter()
                    .any(|f| f.file == "lib.rs" && f.threads_lines > 0)
            );
        }
    }

    #[test]
    fn the_mirror_aligns_most_items() {
        // The pairs are written to mirror each other: most items must find their twin. A
        // splitter that cut in the wrong places would leave most rows one-sided.
        let rows: Vec<Aligned> = pattern_files("timeout")
            .into_iter()
            .flat_map(|f| f.rows)
            .collect();
        let paired = rows
            .iter()
            .filter(|r| r.asyncs.is_some() && r.threads.is_some())
            .count();
        assert!(
            paired * 2 > rows.len(),
            "{paired} of {} rows paired",
            rows.len()
        );
    }
}
