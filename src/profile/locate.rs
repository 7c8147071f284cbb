//! Between key paths (`hosts[2].address`) and places in the TOML source, using toml_edit's spans.

use toml_edit::{Document, Item, Table, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            segments.push(Segment::Key(key.to_string()));
        }
        while let Some(end) = rest.find(']') {
            if let Ok(i) = rest[1..end].parse() {
                segments.push(Segment::Index(i));
            }
            rest = &rest[end + 1..];
        }
    }
    segments
}

/// The byte offset best describing `path`: the value if present, else the deepest existing
/// parent (so a missing key points at the table that should hold it).
pub fn offset_of(doc: &Document<&str>, path: &str) -> Option<usize> {
    let mut best = None;
    let mut node = Node::Table(doc.as_table());
    for segment in parse_path(path) {
        let next = match (&node, &segment) {
            (Node::Table(t), Segment::Key(k)) => t.get_key_value(k).map(|(key, item)| {
                best = key.span().map(|s| s.start).or(best);
                Node::Item(item)
            }),
            (Node::Item(item), Segment::Key(k)) => match item {
                Item::Table(t) => t.get_key_value(k).map(|(key, item)| {
                    best = key.span().map(|s| s.start).or(best);
                    Node::Item(item)
                }),
                Item::Value(Value::InlineTable(t)) => t.get_key_value(k).map(|(key, item)| {
                    best = key.span().map(|s| s.start).or(best);
                    Node::Item(item)
                }),
                _ => None,
            },
            (Node::Item(item), Segment::Index(i)) => match item {
                Item::ArrayOfTables(a) => a.get(*i).map(|t| {
                    best = t.span().map(|s| s.start).or(best);
                    Node::Table(t)
                }),
                Item::Value(Value::Array(a)) => a.get(*i).map(|v| {
                    best = v.span().map(|s| s.start).or(best);
                    Node::Value(v)
                }),
                _ => None,
            },
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return best,
        }
    }
    match node {
        Node::Item(item) => item.span().map(|s| s.start).or(best),
        Node::Value(v) => v.span().map(|s| s.start).or(best),
        Node::Table(t) => t.span().map(|s| s.start).or(best),
    }
}

enum Node<'a> {
    Table(&'a Table),
    Item(&'a Item),
    Value(&'a Value),
}

/// The key path of whatever sits at `offset`, e.g. `hosts[1].privat_address`.
pub fn path_at(doc: &Document<&str>, offset: usize) -> Option<String> {
    table_path_at(doc.as_table(), offset, "")
}

fn contains(span: Option<std::ops::Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn table_path_at(table: &Table, offset: usize, prefix: &str) -> Option<String> {
    for (key, item) in table.iter() {
        let here = join(prefix, key);
        if let Some(found) = item_path_at(item, offset, &here) {
            return Some(found);
        }
        let key_span = table.key(key).and_then(|k| k.span());
        if contains(key_span, offset) {
            return Some(here);
        }
    }
    if contains(table.span(), offset) && !prefix.is_empty() {
        return Some(prefix.to_string());
    }
    None
}

fn item_path_at(item: &Item, offset: usize, path: &str) -> Option<String> {
    match item {
        Item::Table(t) => table_path_at(t, offset, path),
        Item::ArrayOfTables(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, t)| table_path_at(t, offset, &format!("{path}[{i}]"))),
        Item::Value(v) => value_path_at(v, offset, path),
        Item::None => None,
    }
}

fn value_path_at(value: &Value, offset: usize, path: &str) -> Option<String> {
    match value {
        Value::InlineTable(t) => {
            for (key, v) in t.iter() {
                if let Some(found) = value_path_at(v, offset, &join(path, key)) {
                    return Some(found);
                }
                if contains(t.key(key).and_then(|k| k.span()), offset) {
                    return Some(join(path, key));
                }
            }
            contains(value.span(), offset).then(|| path.to_string())
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                if let Some(found) = value_path_at(v, offset, &format!("{path}[{i}]")) {
                    return Some(found);
                }
            }
            contains(value.span(), offset).then(|| path.to_string())
        }
        _ => contains(value.span(), offset).then(|| path.to_string()),
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..source.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, index: usize) -> usize;
}

impl FloorCharBoundary for str {
    fn floor_char_boundary_compat(&self, mut index: usize) -> usize {
        while !self.is_char_boundary(index) {
            index -= 1;
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "name = \"x\"\n\n[[hosts]]\nname = \"a\"\naddress = \"10.0.0.1\"\n\n[[hosts]]\nname = \"b\"\nprivat_address = \"10.0.0.2\"\n";

    #[test]
    fn a_key_path_points_at_its_value() {
        let doc = Document::parse(SOURCE).unwrap();
        let offset = offset_of(&doc, "hosts[0].address").unwrap();
        assert_eq!(line_column(SOURCE, offset), (5, 11));
    }

    #[test]
    fn a_missing_key_points_at_the_table_that_should_hold_it() {
        let doc = Document::parse(SOURCE).unwrap();
        let offset = offset_of(&doc, "hosts[1].address").unwrap();
        assert_eq!(line_column(SOURCE, offset).0, 7);
    }

    #[test]
    fn an_offset_inside_a_key_names_its_path() {
        let doc = Document::parse(SOURCE).unwrap();
        let offset = SOURCE.find("privat_address").unwrap();
        assert_eq!(
            path_at(&doc, offset).as_deref(),
            Some("hosts[1].privat_address")
        );
    }
}
