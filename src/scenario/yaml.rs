//! A located YAML tree: every document, mapping key and value, sequence item and scalar keeps
//! the line and column it was written at.
//!
//! The tree is produced by [`parse_documents`] through serde-saphyr (a [`Node`] has a
//! hand-written `Deserialize` that asks for `deserialize_any`, and every child is read through
//! [`serde_saphyr::Spanned`], so positions come from the parser itself). The typed conversion in
//! [`crate::scenario`] reads this tree, never the text, so a later step can change the tree first
//! (for example a sweep parameter applied with [`Yaml::set_path`]) and still get located errors
//! for everything that came from the file.
//!
//! Scalars keep their YAML type as serde-saphyr resolved it: a quoted `"5"` is a
//! [`Node::String`], a plain `5` a [`Node::Int`], `true` a [`Node::Bool`], `~` / empty a
//! [`Node::Null`]. Mappings keep their keys in file order.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// Where a node was written: 1-based line and column (in characters), and, when known, the byte
/// range of the node's first token in the source text. `line == 0` means "not from a file" (a
/// node created by a program, e.g. a sweep parameter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line; 0 when unknown.
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub column: u32,
    /// Byte offset of the node's first character in the source text, if known.
    pub offset: Option<usize>,
    /// Length in bytes of the node's token (0 when unknown or not a scalar).
    pub len: usize,
}

impl Pos {
    /// The position of a node that did not come from a file.
    pub const UNKNOWN: Pos = Pos {
        line: 0,
        column: 0,
        offset: None,
        len: 0,
    };

    /// True if this position points into a file.
    pub fn is_known(&self) -> bool {
        self.line > 0
    }

    fn from_location(loc: &serde_saphyr::Location) -> Pos {
        let span = loc.span();
        Pos {
            line: u32::try_from(loc.line()).unwrap_or(u32::MAX),
            column: u32::try_from(loc.column()).unwrap_or(u32::MAX),
            offset: span.byte_offset().and_then(|o| usize::try_from(o).ok()),
            len: span
                .byte_len()
                .and_then(|l| usize::try_from(l).ok())
                .unwrap_or(0),
        }
    }
}

/// A YAML node with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Yaml {
    /// The value.
    pub node: Node,
    /// Where it was written.
    pub pos: Pos,
}

/// One YAML value. Children are [`Yaml`] (located) nodes.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A plain integer (fits `i128`, which covers both `i64` and `u64`).
    Int(i128),
    /// A plain floating-point number.
    Float(f64),
    /// A string: quoted, block, or a plain scalar that is not a number, bool or null.
    String(String),
    /// A sequence, in order.
    Seq(Vec<Yaml>),
    /// A mapping, keys in file order.
    Map(Vec<(Yaml, Yaml)>),
}

impl Node {
    /// A short description for messages: `string "ten"`, `integer 5`, `a mapping`, ...
    pub fn describe(&self) -> String {
        match self {
            Node::Null => "null".to_string(),
            Node::Bool(b) => format!("boolean {b}"),
            Node::Int(i) => format!("integer {i}"),
            Node::Float(f) => format!("number {f}"),
            Node::String(s) => {
                let mut shown: String = s.chars().take(40).collect();
                if s.chars().count() > 40 {
                    shown.push_str("...");
                }
                format!("string {shown:?}")
            }
            Node::Seq(_) => "a list".to_string(),
            Node::Map(_) => "a mapping".to_string(),
        }
    }

    /// True for `Null`, an empty list and an empty mapping.
    pub fn is_empty(&self) -> bool {
        match self {
            Node::Null => true,
            Node::Seq(v) => v.is_empty(),
            Node::Map(v) => v.is_empty(),
            _ => false,
        }
    }
}

impl Yaml {
    /// A node with no file position.
    pub fn synthetic(node: Node) -> Yaml {
        Yaml {
            node,
            pos: Pos::UNKNOWN,
        }
    }

    /// The string value of this node, if it is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value of mapping key `key`, if this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match &self.node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mutable access to the value of mapping key `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Yaml> {
        match &mut self.node {
            Node::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Set the value at a field path such as `spec.template.spec.containers[0].resources.cpu`
    /// (dot-separated mapping keys, `[i]` sequence indexes). Missing mapping keys are created
    /// (as mappings on the way, with no position); an existing value is replaced, keeping the
    /// position of the value it replaces so messages still point at the file. A `null`
    /// intermediate value becomes an empty mapping. Indexes must exist.
    pub fn set_path(&mut self, path: &str, value: Node) -> Result<(), PathError> {
        let segments = parse_path(path)?;
        let mut cur: &mut Yaml = self;
        let mut walked = String::new();
        for (i, seg) in segments.iter().enumerate() {
            let last = i + 1 == segments.len();
            match seg {
                Segment::Key(key) => {
                    if matches!(cur.node, Node::Null) {
                        cur.node = Node::Map(Vec::new());
                    }
                    if !matches!(cur.node, Node::Map(_)) {
                        return Err(PathError::NotAMapping {
                            path: walked,
                            found: cur.node.describe(),
                        });
                    }
                    let Node::Map(entries) = &mut cur.node else {
                        return Err(PathError::Syntax(path.to_string()));
                    };
                    let idx = match entries.iter().position(|(k, _)| k.as_str() == Some(key)) {
                        Some(idx) => idx,
                        None => {
                            entries.push((
                                Yaml::synthetic(Node::String(key.clone())),
                                Yaml::synthetic(if last {
                                    Node::Null
                                } else {
                                    Node::Map(Vec::new())
                                }),
                            ));
                            entries.len() - 1
                        }
                    };
                    if !walked.is_empty() {
                        walked.push('.');
                    }
                    walked.push_str(key);
                    let Some((_, next)) = entries.get_mut(idx) else {
                        return Err(PathError::Syntax(path.to_string()));
                    };
                    cur = next;
                }
                Segment::Index(index) => {
                    if !matches!(cur.node, Node::Seq(_)) {
                        return Err(PathError::NotAList {
                            path: walked,
                            found: cur.node.describe(),
                        });
                    }
                    let Node::Seq(items) = &mut cur.node else {
                        return Err(PathError::Syntax(path.to_string()));
                    };
                    let len = items.len();
                    walked.push_str(&format!("[{index}]"));
                    let Some(next) = items.get_mut(*index) else {
                        return Err(PathError::IndexOutOfRange { path: walked, len });
                    };
                    cur = next;
                }
            }
        }
        cur.node = value;
        Ok(())
    }
}

/// Why [`Yaml::set_path`] could not set a value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is not `key.key[0].key` syntax.
    #[error("invalid field path {0:?}: expected keys separated by '.' and [index] suffixes")]
    Syntax(String),
    /// A key was applied to something that is not a mapping.
    #[error("{path} is {found}, not a mapping")]
    NotAMapping {
        /// Path walked so far.
        path: String,
        /// What was found there.
        found: String,
    },
    /// An index was applied to something that is not a list.
    #[error("{path} is {found}, not a list")]
    NotAList {
        /// Path walked so far.
        path: String,
        /// What was found there.
        found: String,
    },
    /// The index is past the end of the list.
    #[error("{path} does not exist (the list has {len} items)")]
    IndexOutOfRange {
        /// Path including the index.
        path: String,
        /// Length of the list.
        len: usize,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

fn parse_path(path: &str) -> Result<Vec<Segment>, PathError> {
    let bad = || PathError::Syntax(path.to_string());
    let mut out = Vec::new();
    if path.is_empty() {
        return Err(bad());
    }
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() && out.is_empty() && rest.is_empty() {
            return Err(bad());
        }
        if !key.is_empty() {
            out.push(Segment::Key(key.to_string()));
        } else if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let Some(stripped) = rest.strip_prefix('[') else {
                return Err(bad());
            };
            let Some(close) = stripped.find(']') else {
                return Err(bad());
            };
            let index: usize = stripped[..close].parse().map_err(|_| bad())?;
            out.push(Segment::Index(index));
            rest = &stripped[close + 1..];
        }
    }
    Ok(out)
}

/// A YAML syntax error, with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where (unknown if the parser gave no location).
    pub pos: Pos,
    /// The parser's message.
    pub message: String,
}

/// Parse every document of `text` into located trees. An empty file gives no documents; an
/// empty document (`---` alone) gives a `Null` node.
pub fn parse_documents(text: &str) -> Result<Vec<Yaml>, SyntaxError> {
    let options = serde_saphyr::options! {
        // Kubernetes' YAML (sigs.k8s.io/yaml over go-yaml) rejects duplicate keys too.
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    };
    match serde_saphyr::from_multiple_with_options::<Yaml>(text, options) {
        Ok(docs) => Ok(docs),
        Err(err) => {
            let pos = err
                .location()
                .map(|l| Pos::from_location(&l))
                .unwrap_or(Pos::UNKNOWN);
            Err(SyntaxError {
                pos,
                message: clean_message(&err),
            })
        }
    }
}

/// The parser's message without the location it carries (we print our own) and without advice
/// meant for library users.
fn clean_message(err: &serde_saphyr::Error) -> String {
    let full = err.to_string();
    let mut msg = full.lines().next().unwrap_or("").trim();
    msg = msg.strip_prefix("error:").unwrap_or(msg).trim_start();
    // "line 2 column 4: unclosed bracket '['"
    if let Some(rest) = msg.strip_prefix("line ")
        && let Some(i) = rest.find(": ")
        && rest[..i].contains("column")
    {
        msg = rest[i + 2..].trim_start();
    }
    // "<message> at line L, column C"
    if let Some(i) = msg.rfind(" at line ") {
        msg = msg[..i].trim_end();
    }
    if let Some(i) = msg.find(", set DuplicateKeyPolicy") {
        msg = &msg[..i];
    }
    if msg.is_empty() {
        "invalid YAML".to_string()
    } else {
        msg.to_string()
    }
}

impl<'de> Deserialize<'de> for Yaml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<Node>::deserialize(deserializer)?;
        Ok(Yaml {
            node: spanned.value,
            pos: Pos::from_location(&spanned.referenced),
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(i128::from(v)))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        i128::try_from(v)
            .map(Node::Int)
            .map_err(|_| E::custom("integer out of range"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::String(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Yaml>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Yaml>()? {
            let value = map.next_value::<Yaml>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
#[path = "tests/yaml_tests.rs"]
mod tests;
