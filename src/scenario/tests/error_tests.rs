//! Unit tests of `scenario::error`.

use super::*;

#[test]
fn distance_basics() {
    assert_eq!(edit_distance("", ""), 0);
    assert_eq!(edit_distance("abc", ""), 3);
    assert_eq!(edit_distance("", "ab"), 2);
    assert_eq!(edit_distance("replicas", "replicas"), 0);
    assert_eq!(edit_distance("replcas", "replicas"), 1);
    assert_eq!(
        edit_distance("Deploymnet", "Deployment"),
        1,
        "transposition"
    );
    assert_eq!(edit_distance("kitten", "sitting"), 3);
    assert_eq!(edit_distance("ca", "abc"), 3, "OSA, not full Damerau");
    assert_eq!(edit_distance("héllo", "hello"), 1, "counts characters");
}

#[test]
fn suggestions() {
    let kinds = ["Deployment", "ReplicaSet", "Node", "NodePool"];
    assert_eq!(suggest("Deploymnet", kinds), Some("Deployment".into()));
    assert_eq!(suggest("deployment", kinds), Some("Deployment".into()));
    assert_eq!(suggest("Nod", kinds), Some("Node".into()));
    assert_eq!(suggest("NodePol", kinds), Some("NodePool".into()));
    assert_eq!(suggest("Service", kinds), None);
    assert_eq!(suggest("Node", kinds), None, "exact match");
    assert_eq!(suggest("x", ["y", "xy"]), Some("y".into()), "tie: first");
    assert_eq!(
        suggest("replcas", ["selector", "replicas", "template"]),
        Some("replicas".into())
    );
    assert_eq!(suggest("ab", ["abcd"]), None, "len 2 allows distance 1");
}

#[test]
fn display_is_one_line() {
    let text: Arc<str> = Arc::from("a: 1\nspec:\n  replcas: 3\n");
    let pos = Pos {
        line: 3,
        column: 3,
        offset: None,
        len: 0,
    };
    let e = ScenarioError::new(
        "f.yaml",
        Some(&text),
        pos,
        "Deployment/web: spec.replcas",
        "unknown field \"replcas\"",
    )
    .with_suggestion(Some("replicas".into()));
    assert_eq!(
        e.to_string(),
        "f.yaml:3:3: Deployment/web: spec.replcas: unknown field \"replcas\" (did you mean \"replicas\"?)"
    );
    assert_eq!(e.snippet.as_ref().map(|s| (s.offset, s.len)), Some((13, 1)));
    let io = ScenarioError::file_level("nope.yaml", "cannot read: not found");
    assert_eq!(io.to_string(), "nope.yaml:0:0: cannot read: not found");
    assert!(io.source_code().is_none());
}

#[test]
fn miette_renders_the_line() {
    let text: Arc<str> = Arc::from("kind: Deploymnet\n");
    let pos = Pos {
        line: 1,
        column: 7,
        offset: Some(6),
        len: 10,
    };
    let e = ScenarioError::new("f.yaml", Some(&text), pos, "kind", "unknown kind")
        .with_suggestion(Some("Deployment".into()));
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &e)
        .expect("render");
    assert!(out.contains("kind: Deploymnet"), "{out}");
    assert!(out.contains("did you mean"), "{out}");
}

#[test]
fn span_of_is_total() {
    let text = "ab\ncd";
    for line in 0..5 {
        for column in 0..5 {
            for offset in [None, Some(0), Some(4), Some(5), Some(99)] {
                let _ = span_of(
                    text,
                    Pos {
                        line,
                        column,
                        offset,
                        len: 7,
                    },
                );
            }
        }
    }
}
