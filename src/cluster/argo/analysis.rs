//! Argo Rollouts analysis, as pure functions: the measurement conditions
//! (`successCondition` / `failureCondition`) in a small subset of Argo's `expr` language, the
//! phase of one measurement (upstream `utils/evaluate/evaluate.go` `EvaluateResult`), and the
//! phase of a metric after its measurements (upstream `analysis/analysis.go`
//! `assessMetricStatus`: failureLimit, inconclusiveLimit, consecutiveErrorLimit, count).
//!
//! ## The condition subset
//!
//! ```text
//! condition := and ( ("||" | "or") and )*
//! and       := atom ( ("&&" | "and") atom )*
//! atom      := "(" condition ")" | value op value
//! value     := "result" | "result[0]" | number
//! op        := "<" | "<=" | ">" | ">=" | "==" | "!="
//! ```
//!
//! for example `result < 0.05`, `result[0] <= 0.25 && result >= 0`. A measurement with no data
//! (no request served in the interval) is an `Error`, as a failed query is in Argo.

use std::fmt;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

/// One side of a comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Operand {
    /// The measured value (`result` or `result[0]`).
    Result,
    /// A number.
    Number(f64),
}

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// `a op b`.
    Cmp(Operand, CmpOp, Operand),
    /// Both hold.
    And(Box<Condition>, Box<Condition>),
    /// Either holds.
    Or(Box<Condition>, Box<Condition>),
}

impl Condition {
    /// The condition's value for the measured `result` (a comparison with NaN is false, as in
    /// Go).
    pub fn eval(&self, result: f64) -> bool {
        match self {
            Condition::Cmp(a, op, b) => {
                let v = |o: &Operand| match o {
                    Operand::Result => result,
                    Operand::Number(n) => *n,
                };
                let (x, y) = (v(a), v(b));
                match op {
                    CmpOp::Lt => x < y,
                    CmpOp::Le => x <= y,
                    CmpOp::Gt => x > y,
                    CmpOp::Ge => x >= y,
                    CmpOp::Eq => x == y,
                    CmpOp::Ne => x != y,
                }
            }
            Condition::And(a, b) => a.eval(result) && b.eval(result),
            Condition::Or(a, b) => a.eval(result) || b.eval(result),
        }
    }

    /// Parse `text`; the error says what was expected and at which character (0-based).
    pub fn parse(text: &str) -> Result<Condition, String> {
        let toks = tokenize(text)?;
        if toks.is_empty() {
            return Err("empty condition; expected e.g. `result < 0.05`".into());
        }
        let mut p = Parser { toks, i: 0 };
        let c = p.or()?;
        if let Some((t, at)) = p.toks.get(p.i) {
            return Err(format!(
                "unexpected {t} at character {at}; expected `&&`, `||` or the end"
            ));
        }
        Ok(c)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = |x: &Operand| match x {
            Operand::Result => "result".to_string(),
            Operand::Number(n) => format!("{n}"),
        };
        match self {
            Condition::Cmp(a, op, b) => {
                let s = match op {
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                    CmpOp::Eq => "==",
                    CmpOp::Ne => "!=",
                };
                write!(f, "{} {s} {}", o(a), o(b))
            }
            Condition::And(a, b) => write!(f, "({a} && {b})"),
            Condition::Or(a, b) => write!(f, "({a} || {b})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Result,
    Num(f64),
    Op(CmpOp),
    And,
    Or,
    Open,
    Close,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Result => f.write_str("`result`"),
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Op(_) => f.write_str("a comparison"),
            Tok::And => f.write_str("`&&`"),
            Tok::Or => f.write_str("`||`"),
            Tok::Open => f.write_str("`(`"),
            Tok::Close => f.write_str("`)`"),
        }
    }
}

fn tokenize(s: &str) -> Result<Vec<(Tok, usize)>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let two = |x: &[u8]| b.get(i..i + 2) == Some(x);
        if c.is_ascii_whitespace() {
            i += 1;
        } else if two(b"&&") {
            out.push((Tok::And, i));
            i += 2;
        } else if two(b"||") {
            out.push((Tok::Or, i));
            i += 2;
        } else if two(b"<=") || two(b">=") || two(b"==") || two(b"!=") {
            let op = match c {
                b'<' => CmpOp::Le,
                b'>' => CmpOp::Ge,
                b'=' => CmpOp::Eq,
                _ => CmpOp::Ne,
            };
            out.push((Tok::Op(op), i));
            i += 2;
        } else if c == b'<' || c == b'>' {
            out.push((Tok::Op(if c == b'<' { CmpOp::Lt } else { CmpOp::Gt }), i));
            i += 1;
        } else if c == b'(' || c == b')' {
            out.push((if c == b'(' { Tok::Open } else { Tok::Close }, i));
            i += 1;
        } else if c.is_ascii_digit() || c == b'.' || c == b'-' {
            let start = i;
            i += 1;
            while i < b.len()
                && (b[i].is_ascii_digit()
                    || b[i] == b'.'
                    || b[i] == b'e'
                    || b[i] == b'E'
                    || ((b[i] == b'-' || b[i] == b'+') && matches!(b[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            let text = &s[start..i];
            let n: f64 = text
                .parse()
                .map_err(|_| format!("invalid number {text:?} at character {start}"))?;
            out.push((Tok::Num(n), start));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            match &s[start..i] {
                "result" => {
                    // `result[0]`: the first element of a vector result (one value here).
                    if s[i..].starts_with("[0]") {
                        i += 3;
                    }
                    out.push((Tok::Result, start));
                }
                "and" => out.push((Tok::And, start)),
                "or" => out.push((Tok::Or, start)),
                w => {
                    return Err(format!(
                        "unsupported name {w:?} at character {start}; kubesim reads `result`, numbers, comparisons, `&&`, `||` and parentheses"
                    ));
                }
            }
        } else {
            return Err(format!(
                "unexpected character {:?} at character {i}",
                s[i..].chars().next().unwrap_or(' ')
            ));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn or(&mut self) -> Result<Condition, String> {
        let mut c = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            c = Condition::Or(Box::new(c), Box::new(self.and()?));
        }
        Ok(c)
    }

    fn and(&mut self) -> Result<Condition, String> {
        let mut c = self.atom()?;
        while self.peek() == Some(&Tok::And) {
            self.i += 1;
            c = Condition::And(Box::new(c), Box::new(self.atom()?));
        }
        Ok(c)
    }

    fn atom(&mut self) -> Result<Condition, String> {
        if self.peek() == Some(&Tok::Open) {
            self.i += 1;
            let c = self.or()?;
            if self.peek() != Some(&Tok::Close) {
                return Err(self.expected("`)`"));
            }
            self.i += 1;
            return Ok(c);
        }
        let a = self.operand()?;
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => return Err(self.expected("a comparison (<, <=, >, >=, ==, !=)")),
        };
        self.i += 1;
        let b = self.operand()?;
        Ok(Condition::Cmp(a, op, b))
    }

    fn operand(&mut self) -> Result<Operand, String> {
        let o = match self.peek() {
            Some(Tok::Result) => Operand::Result,
            Some(Tok::Num(n)) => Operand::Number(*n),
            _ => return Err(self.expected("`result` or a number")),
        };
        self.i += 1;
        Ok(o)
    }

    fn expected(&self, what: &str) -> String {
        match self.toks.get(self.i) {
            Some((t, at)) => format!("expected {what} at character {at}, found {t}"),
            None => format!("expected {what} at the end"),
        }
    }
}

/// Phase of a measurement, a metric or an analysis run (Argo's `AnalysisPhase`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AnalysisPhase {
    /// Still measuring.
    Running,
    /// Succeeded.
    Successful,
    /// Neither condition decided (the rollout pauses until promoted).
    Inconclusive,
    /// The query failed (here: no request was served in the interval).
    Error,
    /// Failed (the rollout aborts).
    Failed,
}

impl AnalysisPhase {
    /// Argo's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            AnalysisPhase::Running => "Running",
            AnalysisPhase::Successful => "Successful",
            AnalysisPhase::Inconclusive => "Inconclusive",
            AnalysisPhase::Error => "Error",
            AnalysisPhase::Failed => "Failed",
        }
    }
}

/// The phase of one measurement of value `result` (`None` = no data: `Error`), as upstream
/// `EvaluateResult`: without conditions, success; with only a success condition, failure when
/// it does not hold; with only a failure condition, success when it does not hold; with both,
/// `Inconclusive` when neither holds.
pub fn measurement_phase(
    result: Option<f64>,
    success: Option<&Condition>,
    failure: Option<&Condition>,
) -> AnalysisPhase {
    let Some(r) = result else {
        return AnalysisPhase::Error;
    };
    let mut ok = success.is_some_and(|c| c.eval(r));
    let mut bad = failure.is_some_and(|c| c.eval(r));
    match (success, failure) {
        (None, None) => return AnalysisPhase::Successful,
        (Some(_), None) => bad = !ok,
        (None, Some(_)) => ok = !bad,
        (Some(_), Some(_)) => {}
    }
    if bad {
        AnalysisPhase::Failed
    } else if !ok {
        AnalysisPhase::Inconclusive
    } else {
        AnalysisPhase::Successful
    }
}

/// Counts of one metric's measurements so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetricTally {
    /// Measurements taken.
    pub count: u32,
    /// Of which failed.
    pub failed: u32,
    /// Of which inconclusive.
    pub inconclusive: u32,
    /// Errors in a row (reset by any other phase).
    pub consecutive_errors: u32,
}

impl MetricTally {
    /// Add one measurement.
    pub fn add(&mut self, p: AnalysisPhase) {
        self.count += 1;
        match p {
            AnalysisPhase::Failed => self.failed += 1,
            AnalysisPhase::Inconclusive => self.inconclusive += 1,
            _ => {}
        }
        if p == AnalysisPhase::Error {
            self.consecutive_errors += 1;
        } else {
            self.consecutive_errors = 0;
        }
    }
}

/// The metric's phase after its measurements, as upstream `assessMetricStatus`: more failures
/// than `failure_limit` fail it, more inconclusives than `inconclusive_limit` make it
/// inconclusive, more errors in a row than `consecutive_error_limit` make it an error; it
/// succeeds once `count` measurements are taken (`None` = unlimited: it keeps running).
pub fn metric_phase(
    t: &MetricTally,
    count: Option<u32>,
    failure_limit: i32,
    inconclusive_limit: i32,
    consecutive_error_limit: i32,
) -> AnalysisPhase {
    if i64::from(t.failed) > i64::from(failure_limit) {
        AnalysisPhase::Failed
    } else if i64::from(t.inconclusive) > i64::from(inconclusive_limit) {
        AnalysisPhase::Inconclusive
    } else if i64::from(t.consecutive_errors) > i64::from(consecutive_error_limit) {
        AnalysisPhase::Error
    } else if count.is_some_and(|c| t.count >= c) {
        AnalysisPhase::Successful
    } else {
        AnalysisPhase::Running
    }
}

/// The run's phase from its metrics' phases: the worst one (Failed > Error > Inconclusive >
/// Running > Successful); no metric = Successful.
pub fn run_phase(metrics: &[AnalysisPhase]) -> AnalysisPhase {
    let rank = |p: &AnalysisPhase| match p {
        AnalysisPhase::Successful => 0,
        AnalysisPhase::Running => 1,
        AnalysisPhase::Inconclusive => 2,
        AnalysisPhase::Error => 3,
        AnalysisPhase::Failed => 4,
    };
    metrics
        .iter()
        .copied()
        .max_by_key(rank)
        .unwrap_or(AnalysisPhase::Successful)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnalysisPhase::*;

    #[test]
    fn conditions_parse_and_evaluate() {
        // (condition, result, expected)
        let cases: &[(&str, f64, bool)] = &[
            ("result < 0.05", 0.01, true),
            ("result < 0.05", 0.05, false),
            ("result <= 0.05", 0.05, true),
            ("result[0] > 10", 11.0, true),
            ("result >= 1e-3", 0.001, true),
            ("result == 0", 0.0, true),
            ("result != 0", 0.0, false),
            ("0.1 > result", 0.05, true),
            ("result > 0 && result < 1", 0.5, true),
            ("result > 0 and result < 1", 1.5, false),
            ("result < 0 || result > 1", 1.5, true),
            ("result < 0 or (result > 1 && result < 2)", 1.5, true),
            ("result < -1", -2.0, true),
            ("result < 0.05", f64::NAN, false),
        ];
        for (text, r, want) in cases {
            let c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.eval(*r), *want, "{text} with {r}");
        }
    }

    #[test]
    fn bad_conditions_are_refused_with_a_reason() {
        let cases: &[(&str, &str)] = &[
            ("", "empty condition"),
            ("result <", "expected `result` or a number at the end"),
            ("result 0.05", "expected a comparison"),
            ("len(result) > 0", "unsupported name \"len\""),
            ("result < 0.05 &&", "at the end"),
            ("(result < 1", "expected `)`"),
            ("result < 1 result", "unexpected `result` at character 11"),
            ("result # 1", "unexpected character '#'"),
            ("result < 1.2.3", "invalid number \"1.2.3\""),
        ];
        for (text, want) in cases {
            let e = Condition::parse(text).expect_err(text);
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn measurement_phase_follows_evaluate_result() {
        let s = Condition::parse("result < 0.05").unwrap();
        let f = Condition::parse("result > 0.2").unwrap();
        // (result, success?, failure?, expected)
        let cases: &[(Option<f64>, bool, bool, AnalysisPhase)] = &[
            (Some(0.01), false, false, Successful),
            (Some(0.5), false, false, Successful),
            (Some(0.01), true, false, Successful),
            (Some(0.1), true, false, Failed),
            (Some(0.1), false, true, Successful),
            (Some(0.3), false, true, Failed),
            (Some(0.01), true, true, Successful),
            (Some(0.1), true, true, Inconclusive),
            (Some(0.3), true, true, Failed),
            (None, true, true, Error),
        ];
        for (r, use_s, use_f, want) in cases {
            let got = measurement_phase(*r, use_s.then_some(&s), use_f.then_some(&f));
            assert_eq!(got, *want, "{r:?} {use_s} {use_f}");
        }
    }

    #[test]
    fn metric_phase_follows_the_limits() {
        let tally = |ps: &[AnalysisPhase]| {
            let mut t = MetricTally::default();
            for p in ps {
                t.add(*p);
            }
            t
        };
        // (measurements, count, failureLimit, inconclusiveLimit, consecutiveErrorLimit, want)
        #[allow(clippy::type_complexity)]
        let cases: &[(&[AnalysisPhase], Option<u32>, i32, i32, i32, AnalysisPhase)] = &[
            (&[Successful], Some(3), 0, 0, 4, Running),
            (&[Successful; 3], Some(3), 0, 0, 4, Successful),
            (&[Successful, Failed], Some(3), 0, 0, 4, Failed),
            (&[Successful, Failed], Some(3), 1, 0, 4, Running),
            (
                &[Failed, Successful, Successful],
                Some(3),
                1,
                0,
                4,
                Successful,
            ),
            (&[Failed, Failed], Some(5), 1, 0, 4, Failed),
            (&[Inconclusive], Some(3), 0, 0, 4, Inconclusive),
            (&[Error; 4], Some(10), 0, 0, 4, Running),
            (&[Error; 5], Some(10), 0, 0, 4, Error),
            (
                &[Error, Error, Successful, Error],
                Some(10),
                0,
                0,
                2,
                Running,
            ),
            (&[Successful; 50], None, 0, 0, 4, Running),
        ];
        for (ps, count, fl, il, el, want) in cases {
            assert_eq!(
                metric_phase(&tally(ps), *count, *fl, *il, *el),
                *want,
                "{ps:?} count {count:?}"
            );
        }
        assert_eq!(run_phase(&[Successful, Running]), Running);
        assert_eq!(run_phase(&[Inconclusive, Failed]), Failed);
        assert_eq!(run_phase(&[]), Successful);
    }
}
