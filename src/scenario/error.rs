//! Diagnostics of the scenario loader: [`ScenarioError`] (the input is refused) and [`Warning`]
//! (a field was read but is not simulated), plus the typo suggestion used by both.
//!
//! A `ScenarioError` displays as one line, `file:line:col: path: message (did you mean "x"?)`,
//! so logs, tests and non-terminal users get everything; through `miette` it also renders the
//! offending source line with a label.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

use super::yaml::Pos;

/// A scenario input the loader refuses: where, which field, what was expected.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    /// File name as given (or as passed to [`crate::scenario::load_str`]).
    pub file: String,
    /// 1-based line; 0 when the error is about the file as a whole (e.g. it does not exist).
    pub line: u32,
    /// 1-based column in characters; 0 when unknown.
    pub column: u32,
    /// Field path, e.g. `Deployment/web: spec.template.spec.containers[0].resources.requests.cpu`;
    /// empty for errors about the file itself (YAML syntax, I/O).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// The nearest valid name, for a typo.
    pub suggestion: Option<String>,
    /// The file's text and the byte range to underline, for the miette snippet (boxed to keep
    /// the error small).
    snippet: Option<Box<Snippet>>,
}

#[derive(Clone, Debug)]
struct Snippet {
    source: NamedSource<Arc<str>>,
    offset: usize,
    len: usize,
}

impl ScenarioError {
    /// An error at a position of a file whose text is `text` (used for the source snippet).
    pub fn new(
        file: &str,
        text: Option<&Arc<str>>,
        pos: Pos,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let snippet = text.and_then(|t| {
            let (offset, len) = span_of(t, pos)?;
            Some(Box::new(Snippet {
                source: NamedSource::new(file, Arc::clone(t)),
                offset,
                len,
            }))
        });
        ScenarioError {
            file: file.to_string(),
            line: pos.line,
            column: pos.column,
            path: path.into(),
            message: message.into(),
            suggestion: None,
            snippet,
        }
    }

    /// An error about a whole file (missing, unreadable): line and column 0, no snippet.
    pub fn file_level(file: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::new(file, None, Pos::UNKNOWN, "", message)
    }

    /// The same error with a "did you mean" suggestion.
    pub fn with_suggestion(mut self, suggestion: Option<String>) -> ScenarioError {
        self.suggestion = suggestion;
        self
    }

    /// `file:line:col`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " (did you mean {s:?}?)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

impl Diagnostic for ScenarioError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new("kubesim::scenario"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.suggestion
            .as_ref()
            .map(|s| Box::new(format!("did you mean {s:?}?")) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.snippet.as_ref().map(|s| &s.source as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let s = self.snippet.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.message.clone()),
            s.offset,
            s.len,
        ))))
    }
}

/// The byte range to underline for `pos` in `text`: the parser's own range when it gave one,
/// else computed from line and column, one character wide.
fn span_of(text: &str, pos: Pos) -> Option<(usize, usize)> {
    if !pos.is_known() {
        return None;
    }
    if let Some(offset) = pos.offset
        && offset <= text.len()
        && text.is_char_boundary(offset)
    {
        let end = offset.saturating_add(pos.len).min(text.len());
        let len = if text.is_char_boundary(end) {
            end - offset
        } else {
            0
        };
        return Some((offset, len.max(usize::from(offset < text.len()))));
    }
    let mut line_start = 0usize;
    for _ in 1..pos.line {
        let rest = text.get(line_start..)?;
        line_start += rest.find('\n')? + 1;
    }
    let line = text.get(line_start..)?;
    let line = line.split('\n').next().unwrap_or("");
    let col = pos.column.max(1) as usize - 1;
    let (offset, ch_len) = match line.char_indices().nth(col) {
        Some((i, c)) => (line_start + i, c.len_utf8()),
        None => (line_start + line.len(), 0),
    };
    Some((offset, ch_len))
}

/// A field kubesim reads but does not simulate (or a document it skips). Reported on stderr by
/// the CLI and recorded in [`crate::cluster::spec::ClusterSpec::ignored_fields`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// `file:line:col`.
    pub location: String,
    /// Field path, e.g. `Deployment/web: spec.template.spec.affinity`.
    pub path: String,
    /// What kubesim does with it, e.g. `read but not simulated; ignored`.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Optimal-string-alignment (restricted Damerau–Levenshtein) distance between `a` and `b`,
/// counted in characters: insertions, deletions, substitutions and adjacent transpositions
/// each cost 1.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    // Three rolling rows: i-2, i-1, i.
    let mut prev2: Vec<usize> = vec![0; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur: Vec<usize> = vec![0; m + 1];
    for i in 1..=n {
        cur[0] = i;
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

/// The candidate nearest to `word`, if it is close enough to be a likely typo: edit distance at
/// most `max(1, len/3)` (len = characters of `word`), or equal ignoring ASCII case. Ties go to the
/// earliest candidate. An exact match is not a suggestion.
pub fn suggest<'a, I>(word: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (word.chars().count() / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == word {
            return None;
        }
        let d = if c.eq_ignore_ascii_case(word) {
            0
        } else {
            edit_distance(word, c)
        };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

#[cfg(test)]
#[path = "tests/error_tests.rs"]
mod tests;
