//! Typed reading of the located YAML tree, with field paths and key tracking.
//!
//! Every mapping is opened with [`Val::map`] and a [`Fields`] table naming the keys valid there:
//! keys that are read, keys that are read-but-not-simulated (a [`Warning`]) and keys accepted
//! silently (metadata that cannot change the simulation). Any other key is an error at that key,
//! with the nearest valid name as a suggestion.

use std::sync::Arc;

use crate::cluster::spec::Labels;
use crate::engine::SimDuration;

use super::duration::parse_duration;
use super::error::{ScenarioError, Warning, suggest};
use super::quantity::{Quantity, parse_quantity, quantity_from_f64};
use super::yaml::{Node, Pos, Yaml};

/// Result of the loader.
pub(crate) type R<T> = Result<T, ScenarioError>;

/// One input file: name for messages and text for snippets.
#[derive(Clone, Debug)]
pub(crate) struct Src {
    pub name: String,
    pub text: Arc<str>,
}

/// A place in the input, kept after reading for errors found later (references, duplicates).
#[derive(Clone, Debug)]
pub(crate) struct Loc {
    pub file: String,
    pub text: Arc<str>,
    pub pos: Pos,
    /// Full path, including the document label (`Deployment/web: spec.replicas`).
    pub path: String,
}

impl Loc {
    /// An error at this place.
    pub fn err(&self, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(&self.file, Some(&self.text), self.pos, &self.path, message)
    }

    /// `file:line:col`.
    pub fn at(&self) -> String {
        format!("{}:{}:{}", self.file, self.pos.line, self.pos.column)
    }
}

/// Reading context of one document.
pub(crate) struct Cx<'a> {
    pub src: &'a Src,
    /// Document label, `Kind/name` (or just `Kind` before the name is known).
    pub label: String,
    /// Warnings with their positions (sorted per document by the caller).
    pub warnings: &'a mut Vec<(Pos, Warning)>,
}

impl Cx<'_> {
    /// `label: path`, or whichever of the two is non-empty.
    pub fn full_path(&self, path: &str) -> String {
        match (self.label.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.label.clone(),
            (false, false) => format!("{}: {}", self.label, path),
        }
    }

    pub fn err(&self, pos: Pos, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(
            &self.src.name,
            Some(&self.src.text),
            pos,
            self.full_path(path),
            message,
        )
    }

    pub fn loc(&self, pos: Pos, path: &str) -> Loc {
        Loc {
            file: self.src.name.clone(),
            text: Arc::clone(&self.src.text),
            pos,
            path: self.full_path(path),
        }
    }

    pub fn location(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.src.name, pos.line, pos.column)
    }

    pub fn warn(&mut self, pos: Pos, path: &str, message: impl Into<String>) {
        let w = Warning {
            location: self.location(pos),
            path: self.full_path(path),
            message: message.into(),
        };
        self.warnings.push((pos, w));
    }
}

/// `parent.key` (or `key` at the top). A key with control characters is quoted, so a message
/// always stays on one line.
pub(crate) fn join(parent: &str, key: &str) -> String {
    let key = printable(key);
    if parent.is_empty() {
        key.into_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `s` as is, or quoted and escaped if it has control characters (newlines, tabs, NUL...).
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    if s.chars().any(char::is_control) {
        std::borrow::Cow::Owned(format!("{s:?}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The message of a read-but-not-simulated field.
pub(crate) const NOT_SIMULATED: &str = "read but not simulated; ignored";

/// The keys valid in one mapping.
pub(crate) struct Fields {
    /// Keys the loader reads.
    pub read: &'static [&'static str],
    /// Keys that are valid but not simulated: a [`Warning`] unless the value is empty.
    pub warn: &'static [&'static str],
    /// Keys that are valid and cannot change the simulation: accepted silently.
    pub silent: &'static [&'static str],
}

impl Fields {
    /// Only keys that are read.
    pub const fn read(read: &'static [&'static str]) -> Fields {
        Fields {
            read,
            warn: &[],
            silent: &[],
        }
    }

    fn all(&self) -> impl Iterator<Item = &'static str> + Clone + '_ {
        self.read
            .iter()
            .chain(self.warn.iter())
            .chain(self.silent.iter())
            .copied()
    }
}

/// A located value being read, with its field path inside the document.
#[derive(Clone, Debug)]
pub(crate) struct Val<'y> {
    pub y: &'y Yaml,
    pub path: String,
}

impl<'y> Val<'y> {
    pub fn pos(&self) -> Pos {
        self.y.pos
    }

    pub fn node(&self) -> &'y Node {
        &self.y.node
    }

    pub fn err(&self, cx: &Cx, message: impl Into<String>) -> ScenarioError {
        cx.err(self.y.pos, &self.path, message)
    }

    pub fn loc(&self, cx: &Cx) -> Loc {
        cx.loc(self.y.pos, &self.path)
    }

    /// "expected X, found Y".
    pub fn expected(&self, cx: &Cx, what: &str) -> ScenarioError {
        let mut msg = format!("expected {what}, found {}", self.y.node.describe());
        if what.contains("string")
            && matches!(self.y.node, Node::Int(_) | Node::Float(_) | Node::Bool(_))
        {
            msg.push_str("; put the value in quotes");
        }
        self.err(cx, msg)
    }

    /// Open a mapping (null counts as empty), checking its keys against `fields`.
    pub fn map(&self, cx: &mut Cx, fields: &Fields) -> R<Map<'y>> {
        let entries: &'y [(Yaml, Yaml)] = match &self.y.node {
            Node::Map(entries) => entries,
            Node::Null => &[],
            _ => return Err(self.expected(cx, "a mapping")),
        };
        for (k, v) in entries {
            let Node::String(key) = &k.node else {
                return Err(cx.err(
                    k.pos,
                    &self.path,
                    format!("expected a field name, found {}", k.node.describe()),
                ));
            };
            let path = join(&self.path, key);
            if fields.read.contains(&key.as_str()) || fields.silent.contains(&key.as_str()) {
                continue;
            }
            if fields.warn.contains(&key.as_str()) {
                if !v.node.is_empty() {
                    cx.warn(k.pos, &path, NOT_SIMULATED);
                }
                continue;
            }
            return Err(unknown_key(cx, k.pos, &path, key, fields.all()));
        }
        Ok(Map {
            entries,
            path: self.path.clone(),
            pos: self.y.pos,
        })
    }

    /// Open a mapping whose keys are data (labels, resource lists): `(key, key position, value)`.
    pub fn pairs(&self, cx: &Cx) -> R<Vec<(String, Pos, Val<'y>)>> {
        let entries: &'y [(Yaml, Yaml)] = match &self.y.node {
            Node::Map(entries) => entries,
            Node::Null => &[],
            _ => return Err(self.expected(cx, "a mapping")),
        };
        let mut out = Vec::with_capacity(entries.len());
        for (k, v) in entries {
            let key = match &k.node {
                Node::String(s) => s.clone(),
                other => {
                    return Err(cx.err(
                        k.pos,
                        &self.path,
                        format!("expected a string key, found {}", other.describe()),
                    ));
                }
            };
            let path = join(&self.path, &key);
            out.push((key, k.pos, Val { y: v, path }));
        }
        Ok(out)
    }

    /// The items of a list (null counts as empty).
    pub fn seq(&self, cx: &Cx) -> R<Vec<Val<'y>>> {
        match &self.y.node {
            Node::Seq(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, y)| Val {
                    y,
                    path: format!("{}[{i}]", self.path),
                })
                .collect()),
            Node::Null => Ok(Vec::new()),
            _ => Err(self.expected(cx, "a list")),
        }
    }

    pub fn string(&self, cx: &Cx) -> R<String> {
        match &self.y.node {
            Node::String(s) => Ok(s.clone()),
            _ => Err(self.expected(cx, "a string")),
        }
    }

    /// A string that is not empty.
    pub fn nonempty_string(&self, cx: &Cx) -> R<String> {
        let s = self.string(cx)?;
        if s.is_empty() {
            return Err(self.err(cx, "must not be empty"));
        }
        Ok(s)
    }

    /// One of `allowed`, with a suggestion for a typo.
    pub fn one_of(&self, cx: &Cx, allowed: &[&'static str]) -> R<&'static str> {
        let s = self.string(cx)?;
        match allowed.iter().find(|a| **a == s) {
            Some(a) => Ok(a),
            None => Err(self
                .err(
                    cx,
                    format!(
                        "unsupported value {s:?}; supported values: {}",
                        allowed.join(", ")
                    ),
                )
                .with_suggestion(suggest(&s, allowed.iter().copied()))),
        }
    }

    pub fn bool(&self, cx: &Cx) -> R<bool> {
        match &self.y.node {
            Node::Bool(b) => Ok(*b),
            _ => Err(self.expected(cx, "a boolean (true or false)")),
        }
    }

    pub fn int(&self, cx: &Cx) -> R<i128> {
        match &self.y.node {
            Node::Int(i) => Ok(*i),
            _ => Err(self.expected(cx, "an integer")),
        }
    }

    /// An integer in `min..=max`, with upstream-style messages for values out of range.
    pub fn int_in(&self, cx: &Cx, min: i64, max: i64) -> R<i64> {
        let v = self.int(cx)?;
        if v < i128::from(min) {
            return Err(self.err(
                cx,
                format!("must be greater than or equal to {min}, found {v}"),
            ));
        }
        if v > i128::from(max) {
            return Err(self.err(cx, format!("must be at most {max}, found {v}")));
        }
        i64::try_from(v).map_err(|_| self.err(cx, format!("must be at most {max}, found {v}")))
    }

    /// An `int32` that is `>= min`.
    pub fn i32_min(&self, cx: &Cx, min: i32) -> R<i32> {
        let v = self.int_in(cx, i64::from(min), i64::from(i32::MAX))?;
        i32::try_from(v).map_err(|_| self.err(cx, "out of range"))
    }

    /// A finite number (integer or decimal).
    pub fn number(&self, cx: &Cx) -> R<f64> {
        match &self.y.node {
            Node::Int(i) => Ok(*i as f64),
            Node::Float(f) if f.is_finite() => Ok(*f),
            _ => Err(self.expected(cx, "a number")),
        }
    }

    /// A Kubernetes quantity (`500m`, `2`, `1.5Gi`), written as a string or a number.
    pub fn quantity(&self, cx: &Cx) -> R<Quantity> {
        let parsed = match &self.y.node {
            Node::String(s) => parse_quantity(s),
            Node::Int(i) => parse_quantity(&i.to_string()),
            Node::Float(f) => quantity_from_f64(*f),
            _ => return Err(self.expected(cx, "a quantity such as 500m, 2 or 1.5Gi")),
        };
        parsed.map_err(|e| self.err(cx, e.to_string()))
    }

    /// A CPU quantity in millicores (rounded up, as upstream `MilliValue`), `>= 0`.
    pub fn cpu_milli(&self, cx: &Cx) -> R<i64> {
        let q = self.quantity(cx)?;
        let v = q.milli_value().map_err(|e| self.err(cx, e.to_string()))?;
        self.non_negative(cx, v)
    }

    /// A quantity as a whole number (bytes for memory, a count for pods), rounded up as
    /// upstream `Value`, `>= 0`.
    pub fn whole_quantity(&self, cx: &Cx) -> R<i64> {
        let q = self.quantity(cx)?;
        let v = q.value().map_err(|e| self.err(cx, e.to_string()))?;
        self.non_negative(cx, v)
    }

    fn non_negative(&self, cx: &Cx, v: i64) -> R<i64> {
        if v < 0 {
            return Err(self.err(cx, "must be greater than or equal to 0"));
        }
        Ok(v)
    }

    /// A duration string (`90s`, `1h30m`, `250ms`); the integer `0` is also accepted.
    pub fn duration(&self, cx: &Cx) -> R<SimDuration> {
        const WHAT: &str = "a duration such as 90s, 5m or 250ms";
        match &self.y.node {
            Node::String(s) => parse_duration(s)
                .map(SimDuration::from_nanos)
                .map_err(|e| self.err(cx, e.to_string())),
            Node::Int(0) => Ok(SimDuration::ZERO),
            Node::Int(i) => Err(self.err(
                cx,
                format!("expected {WHAT}, found integer {i}; add a unit, e.g. {i}s"),
            )),
            Node::Float(f) => Err(self.err(
                cx,
                format!("expected {WHAT}, found number {f}; add a unit, e.g. {f}s"),
            )),
            _ => Err(self.expected(cx, WHAT)),
        }
    }

    /// A duration that is greater than zero.
    pub fn positive_duration(&self, cx: &Cx) -> R<SimDuration> {
        let d = self.duration(cx)?;
        if d == SimDuration::ZERO {
            return Err(self.err(cx, "must be greater than 0"));
        }
        Ok(d)
    }

    /// A label map (`metadata.labels`, `nodeSelector`, `matchLabels`): string keys and values,
    /// checked with upstream's label syntax.
    pub fn labels(&self, cx: &Cx) -> R<Labels> {
        let mut out = Labels::new();
        for (key, key_pos, v) in self.pairs(cx)? {
            if let Err(msg) = check_label_key(&key) {
                return Err(cx.err(
                    key_pos,
                    &v.path,
                    format!("invalid label key {key:?}: {msg}"),
                ));
            }
            let value = v.string(cx)?;
            if let Err(msg) = check_label_value(&value) {
                return Err(v.err(cx, format!("invalid label value {value:?}: {msg}")));
            }
            out.insert(key, value);
        }
        Ok(out)
    }

    /// A list of strings.
    pub fn strings(&self, cx: &Cx) -> R<Vec<String>> {
        self.seq(cx)?.iter().map(|v| v.string(cx)).collect()
    }
}

/// The error for a key that is not valid at this place.
pub(crate) fn unknown_key<'a>(
    cx: &Cx,
    pos: Pos,
    path: &str,
    key: &str,
    valid: impl Iterator<Item = &'a str> + Clone,
) -> ScenarioError {
    let suggestion = suggest(key, valid.clone());
    let msg = if suggestion.is_some() {
        format!("unknown field {key:?}")
    } else {
        let names: Vec<&str> = valid.collect();
        format!(
            "unknown field {key:?}; valid fields here: {}",
            names.join(", ")
        )
    };
    cx.err(pos, path, msg).with_suggestion(suggestion)
}

/// A mapping whose keys have been checked.
pub(crate) struct Map<'y> {
    entries: &'y [(Yaml, Yaml)],
    pub path: String,
    pub pos: Pos,
}

impl<'y> Map<'y> {
    fn entry(&self, key: &str) -> Option<&'y (Yaml, Yaml)> {
        self.entries.iter().find(|(k, _)| k.as_str() == Some(key))
    }

    /// The value of `key`, or `None` when absent or null (as Kubernetes treats `null`).
    pub fn get(&self, key: &str) -> Option<Val<'y>> {
        let (_, v) = self.entry(key)?;
        if matches!(v.node, Node::Null) {
            return None;
        }
        Some(Val {
            y: v,
            path: join(&self.path, key),
        })
    }

    /// The value of a required `key`.
    pub fn req(&self, cx: &Cx, key: &str) -> R<Val<'y>> {
        self.get(key).ok_or_else(|| self.missing(cx, key))
    }

    /// The error for a missing required `key`, at the mapping (or at the key if it is null).
    pub fn missing(&self, cx: &Cx, key: &str) -> ScenarioError {
        let pos = self.entry(key).map(|(k, _)| k.pos).unwrap_or(self.pos);
        cx.err(pos, &join(&self.path, key), "required field is missing")
    }

    /// Position of `key` itself, if present.
    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.entry(key).map(|(k, _)| k.pos)
    }
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Upstream `validation.IsQualifiedName` name part / label value character rule.
fn check_name_part(s: &str, what: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err(format!("{what} must be no more than 63 characters"));
    }
    let ok_chars = s
        .chars()
        .all(|c| is_alnum(c) || c == '-' || c == '_' || c == '.');
    let ok_ends = s.chars().next().is_none_or(is_alnum) && s.chars().last().is_none_or(is_alnum);
    if !ok_chars || !ok_ends {
        return Err(format!(
            "{what} must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
        ));
    }
    Ok(())
}

/// Upstream `validation.IsQualifiedName` (label keys): `[prefix/]name`.
pub(crate) fn check_label_key(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix {
        if p.is_empty() {
            return Err("prefix part must be non-empty".into());
        }
        check_dns_subdomain(p).map_err(|m| format!("prefix part {m}"))?;
    }
    if name.is_empty() {
        return Err("name part must be non-empty".into());
    }
    check_name_part(name, "name part")
}

/// Upstream `validation.IsValidLabelValue`.
pub(crate) fn check_label_value(value: &str) -> Result<(), String> {
    check_name_part(value, "a valid label value")
}

/// Upstream `validation.IsDNS1123Subdomain` (object names such as Deployment and Node names).
pub(crate) fn check_dns_subdomain(s: &str) -> Result<(), String> {
    if s.len() > 253 {
        return Err("must be no more than 253 characters".into());
    }
    let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !s.is_empty()
        && s.chars().all(|c| lower_alnum(c) || c == '-' || c == '.')
        && s.chars().next().is_some_and(lower_alnum)
        && s.chars().last().is_some_and(lower_alnum);
    if !ok {
        return Err("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

/// Upstream `validation.IsDNS1123Label` (container names).
pub(crate) fn check_dns_label(s: &str) -> Result<(), String> {
    if s.len() > 63 {
        return Err("must be no more than 63 characters".into());
    }
    let lower_alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !s.is_empty()
        && s.chars().all(|c| lower_alnum(c) || c == '-')
        && s.chars().next().is_some_and(lower_alnum)
        && s.chars().last().is_some_and(lower_alnum);
    if !ok {
        return Err("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character".into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "tests/reader_tests.rs"]
mod tests;
