//! Where in the file a key is: dotted key paths (`systems[1].store`) to lines and back, so every
//! message can point at the line to fix.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Line and column (both from 1) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// The parsed document, kept to look up where keys are.
#[derive(Debug)]
pub struct Locator<'i> {
    root: DeTable<'i>,
    text: &'i str,
}

impl<'i> Locator<'i> {
    pub fn new(root: DeTable<'i>, text: &'i str) -> Self {
        Locator { root, text }
    }

    /// The dotted path of the innermost key whose name or value covers `offset`, e.g. the key
    /// a deserialization error's span points into. Empty when the offset is outside every key.
    pub fn key_at(&self, offset: usize) -> String {
        // Spans of `[table]` sections cover only their header, so keys and scalar values are
        // searched first, and whole tables and arrays only when nothing narrower matches.
        for containers_too in [false, true] {
            let mut path = String::new();
            if search_table(&self.root, offset, containers_too, &mut path) {
                return path;
            }
        }
        String::new()
    }

    /// The line of `key` (a path as [`Locator::key_at`] writes it), or of its nearest enclosing
    /// key that the file has, for keys that are missing. `None` for top-level keys that are
    /// missing.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        let mut found: Option<&Spanned<DeValue<'i>>> = None;
        let mut found_key_span: Option<Range<usize>> = None;
        let mut table = Some(&self.root);
        for segment in key.split('.') {
            let (name, indices) = split_indices(segment);
            let Some((entry_key, entry)) = table.and_then(|t| t.get_key_value(name)) else {
                break;
            };
            found = Some(entry);
            found_key_span = Some(entry_key.span());
            for index in indices {
                match found.map(Spanned::get_ref) {
                    Some(DeValue::Array(items)) if index < items.len() => {
                        found = items.get(index);
                        found_key_span = None;
                    }
                    _ => break,
                }
            }
            table = found.and_then(|value| value.get_ref().as_table());
        }
        let span = found_key_span.or_else(|| found.map(Spanned::span))?;
        Some(line_column(self.text, span.start).0)
    }
}

fn covers(span: Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

/// Depth first: on a match, `path` is left holding the matching key's path.
fn search_table(
    table: &DeTable<'_>,
    offset: usize,
    containers_too: bool,
    path: &mut String,
) -> bool {
    for (key, value) in table.iter() {
        let parent_len = path.len();
        push_key(path, key.get_ref());
        if covers(key.span(), offset) || search_value(value, offset, containers_too, path) {
            return true;
        }
        path.truncate(parent_len);
    }
    false
}

fn search_value(
    value: &Spanned<DeValue<'_>>,
    offset: usize,
    containers_too: bool,
    path: &mut String,
) -> bool {
    let inside = match value.get_ref() {
        DeValue::Table(table) => search_table(table, offset, containers_too, path),
        DeValue::Array(items) => items.iter().enumerate().any(|(index, item)| {
            let parent_len = path.len();
            path.push_str(&format!("[{index}]"));
            let found = search_value(item, offset, containers_too, path);
            if !found {
                path.truncate(parent_len);
            }
            found
        }),
        _ => return covers(value.span(), offset),
    };
    inside || (containers_too && covers(value.span(), offset))
}

/// Appends `key` to a dotted path, quoting it the way TOML would need if it is not a bare key.
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        path.push_str(key);
    } else {
        path.push_str(&format!("{key:?}"));
    }
}

/// `vus[3]` into `("vus", [3])`; a segment without brackets has no indices.
fn split_indices(segment: &str) -> (&str, Vec<usize>) {
    let Some(open) = segment.find('[') else {
        return (segment, Vec::new());
    };
    let indices = segment[open..]
        .split(['[', ']'])
        .filter_map(|part| part.parse().ok())
        .collect();
    (&segment[..open], indices)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = "\
name = \"x\"

[load]
model = \"closed\"
vus = [1, 2, 4]

[[systems]]
name = \"a\"

[[systems]]
name = \"b\"
store = \"memory\"
";

    fn locator(text: &str) -> Locator<'_> {
        let root = DeTable::parse(text).map(Spanned::into_inner);
        Locator::new(root.unwrap_or_default(), text)
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab\ncd", 99), (2, 3));
    }

    #[test]
    fn key_at_names_array_elements_and_table_keys() {
        let locator = locator(DOCUMENT);
        let four = DOCUMENT.find('4').unwrap_or_default();
        assert_eq!(locator.key_at(four), "load.vus[2]");
        let store = DOCUMENT.find("store").unwrap_or_default();
        assert_eq!(locator.key_at(store), "systems[1].store");
    }

    #[test]
    fn line_of_finds_keys_and_falls_back_to_their_table() {
        let locator = locator(DOCUMENT);
        assert_eq!(locator.line_of("load.vus[1]"), Some(5));
        assert_eq!(locator.line_of("systems[1].store"), Some(12));
        assert_eq!(locator.line_of("description"), None);
        assert!(locator.line_of("systems[0].store").is_some());
    }

    #[test]
    fn odd_keys_are_quoted() {
        let mut path = String::new();
        push_key(&mut path, "flow");
        push_key(&mut path, "think time");
        assert_eq!(path, "flow.\"think time\"");
    }
}
