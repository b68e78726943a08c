/*!
Byte offsets (the spans TOML gives us) → 1-based line and column, the way editors count them.
*/

use std::ops::Range;

use super::error::Location;

/// The text of a workflow file with an index of its line starts.
pub(crate) struct SourceText<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceText<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceText { text, line_starts }
    }

    /// The line and column (in characters, like toml's own messages) of a byte offset. Offsets
    /// past the end or inside a multi-byte character are clamped, never a panic.
    pub(crate) fn location(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |prefix| prefix.chars().count());
        Location {
            line: line + 1,
            column: column + 1,
        }
    }

    /// The text a span covers (empty if the span is out of range).
    pub(crate) fn slice(&self, span: Range<usize>) -> &'a str {
        self.text.get(span).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_one_based_and_count_characters() {
        let src = SourceText::new("a = 1\nbé = \"x\"\n");
        assert_eq!(src.location(0), Location { line: 1, column: 1 });
        assert_eq!(src.location(4), Location { line: 1, column: 5 });
        assert_eq!(src.location(6), Location { line: 2, column: 1 });
        // 'é' is two bytes, one column.
        assert_eq!(src.location(11), Location { line: 2, column: 5 });
        assert_eq!(src.location(999), Location { line: 3, column: 1 });
    }

    #[test]
    fn offsets_inside_a_character_do_not_panic() {
        let src = SourceText::new("é");
        assert_eq!(src.location(1).line, 1);
    }
}
