/*!
Where a key is written in a workflow file (`file:line:column: key`), found again from the file's
text for checks only the clouds can make, long after validation (issue #16: every preflight
finding names the file key and its place).

Read from the text rather than kept by each kind's validation, so that every kind — and every
key, including a default that is not written (then the place of the table that would hold it) —
gets a place without a field per key.
*/

use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::source::SourceText;

/// `file:line:column: key`: where `key` (a key path as messages write it:
/// `databricks.workspace_ids[1]`, `databricks.ncc.name`, `aws`) is written in `text`; when it
/// is not written, the place of the nearest enclosing table or array that is; `file: key` when
/// the text does not parse (it did at load time: only a file changed since could).
pub fn place_of(file: &Path, text: &str, key: &str) -> String {
    match span_of(text, key) {
        Some(span) => {
            let at = SourceText::new(text).location(span.start);
            format!("{}:{}:{}: {key}", file.display(), at.line, at.column)
        }
        None => format!("{}: {key}", file.display()),
    }
}

/// One step of a key path: a table key or an array index.
enum Segment<'k> {
    Key(&'k str),
    Index(usize),
}

/// `a.b[1].c` → `a`, `b`, `[1]`, `c`.
fn segments(key: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            out.push(Segment::Key(name));
        }
        while let Some((index, after)) = rest.split_once(']') {
            if let Ok(i) = index.parse() {
                out.push(Segment::Index(i));
            }
            rest = after.strip_prefix('[').unwrap_or(after);
        }
    }
    out
}

/// The span of the deepest value of `key`'s path that is written.
fn span_of(text: &str, key: &str) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut best: Option<Range<usize>> = None;
    let mut table: Option<&DeTable<'_>> = Some(root.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for segment in segments(key) {
        let next = match (segment, table, value) {
            (Segment::Key(k), Some(t), _) => t.get(k),
            (Segment::Index(i), _, Some(v)) => v.get_ref().as_array().and_then(|a| a.get(i)),
            _ => None,
        };
        let Some(next) = next else { break };
        best = Some(next.span());
        table = next.get_ref().as_table();
        value = Some(next);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "[deployment]\nname = \"demo\"\n\n[databricks]\nworkspace_ids = [1, 22]\nncc = { name = \"n\" }\n";

    #[test]
    fn keys_items_and_inline_tables_have_their_place() {
        let f = Path::new("w.toml");
        assert_eq!(
            place_of(f, FILE, "databricks.workspace_ids[1]"),
            "w.toml:5:21: databricks.workspace_ids[1]"
        );
        assert_eq!(
            place_of(f, FILE, "databricks.ncc.name"),
            "w.toml:6:16: databricks.ncc.name"
        );
        assert_eq!(
            place_of(f, FILE, "deployment.name"),
            "w.toml:2:8: deployment.name"
        );
    }

    #[test]
    fn a_key_not_written_points_at_what_would_hold_it() {
        let f = Path::new("w.toml");
        let at = place_of(f, FILE, "databricks.profile");
        assert!(
            at.starts_with("w.toml:") && at.ends_with(": databricks.profile"),
            "{at}"
        );
        assert_eq!(place_of(f, "not = [toml", "aws"), "w.toml: aws");
        // A table written as a header: its header's place.
        let aws = place_of(f, "kind = \"x\"\n[aws]\nregion = \"us-east-1\"\n", "aws");
        assert_eq!(aws, "w.toml:2:1: aws");
    }
}
