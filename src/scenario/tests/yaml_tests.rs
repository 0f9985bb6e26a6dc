//! Unit tests of `scenario::yaml`.

use super::*;

fn doc(text: &str) -> Yaml {
    let mut docs = parse_documents(text).expect("valid yaml");
    assert_eq!(docs.len(), 1);
    docs.remove(0)
}

fn at(y: &Yaml) -> (u32, u32) {
    (y.pos.line, y.pos.column)
}

#[test]
fn nested_spans_are_populated() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n      - name: web\n        image: \"web:v1\"\n";
    let d = doc(text);
    let spec = d.get("spec").expect("spec");
    let replicas = spec.get("replicas").expect("replicas");
    assert_eq!(replicas.node, Node::Int(3));
    assert_eq!(at(replicas), (4, 13));
    let Node::Map(entries) = &spec.node else {
        panic!("map")
    };
    assert_eq!(at(&entries[0].0), (4, 3), "key position");
    assert_eq!(at(&entries[1].0), (5, 3));
    let containers = spec
        .get("template")
        .and_then(|t| t.get("spec"))
        .and_then(|s| s.get("containers"))
        .expect("containers");
    let Node::Seq(items) = &containers.node else {
        panic!("seq")
    };
    assert_eq!(at(&items[0]).0, 8);
    let image = items[0].get("image").expect("image");
    assert_eq!(image.node, Node::String("web:v1".into()));
    assert_eq!(at(image), (9, 16));
    assert_eq!(image.pos.offset, text.find("\"web:v1\""));
}

#[test]
fn flow_style_spans() {
    let d = doc("spec: {a: 1, b: [x, 'y']}\n");
    let spec = d.get("spec").expect("spec");
    assert_eq!(at(spec.get("a").expect("a")), (1, 11));
    let Node::Seq(items) = &spec.get("b").expect("b").node else {
        panic!("seq")
    };
    assert_eq!(at(&items[0]), (1, 18));
    assert_eq!(at(&items[1]), (1, 21));
}

#[test]
fn scalar_types() {
    let d =
        doc("a: 5\nb: \"5\"\nc: -3\nd: 1.5\ne: true\nf: ~\ng:\nh: text\ni: 18446744073709551615\n");
    assert_eq!(d.get("a").map(|y| &y.node), Some(&Node::Int(5)));
    assert_eq!(d.get("b").map(|y| &y.node), Some(&Node::String("5".into())));
    assert_eq!(d.get("c").map(|y| &y.node), Some(&Node::Int(-3)));
    assert_eq!(d.get("d").map(|y| &y.node), Some(&Node::Float(1.5)));
    assert_eq!(d.get("e").map(|y| &y.node), Some(&Node::Bool(true)));
    assert_eq!(d.get("f").map(|y| &y.node), Some(&Node::Null));
    assert_eq!(d.get("g").map(|y| &y.node), Some(&Node::Null));
    assert_eq!(
        d.get("h").map(|y| &y.node),
        Some(&Node::String("text".into()))
    );
    assert_eq!(
        d.get("i").map(|y| &y.node),
        Some(&Node::Int(i128::from(u64::MAX)))
    );
}

#[test]
fn keys_keep_file_order() {
    let d = doc("z: 1\na: 2\nm: 3\n");
    let Node::Map(entries) = &d.node else {
        panic!("map")
    };
    let keys: Vec<_> = entries.iter().filter_map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["z", "a", "m"]);
}

#[test]
fn multiple_documents_and_their_positions() {
    let docs = parse_documents("a: 1\n---\nb: 2\n---\n").expect("valid");
    assert!(docs.len() >= 2);
    assert_eq!(docs[0].pos.line, 1);
    assert_eq!(docs[1].pos.line, 3);
    assert_eq!(parse_documents("").expect("empty").len(), 0);
}

#[test]
fn syntax_error_is_located() {
    let err = parse_documents("a: 1\nb: [1, 2\n").expect_err("bad");
    assert!(err.pos.line >= 2, "{err:?}");
    let err = parse_documents("a: 1\na: 2\n").expect_err("duplicate key");
    assert_eq!(err.pos.line, 2, "{err:?}");
}

#[test]
fn set_path_replaces_and_creates() {
    let mut d = doc(
        "spec:\n  template:\n    spec:\n      containers:\n      - name: a\n        resources: {requests: {cpu: 100m}}\n",
    );
    d.set_path(
        "spec.template.spec.containers[0].resources.requests.cpu",
        Node::String("250m".into()),
    )
    .expect("set");
    let cpu = d
        .get("spec")
        .and_then(|s| s.get("template"))
        .and_then(|s| s.get("spec"))
        .and_then(|s| s.get("containers"))
        .and_then(|c| match &c.node {
            Node::Seq(items) => items.first(),
            _ => None,
        })
        .and_then(|c| c.get("resources"))
        .and_then(|r| r.get("requests"))
        .and_then(|r| r.get("cpu"))
        .expect("cpu");
    assert_eq!(cpu.node, Node::String("250m".into()));
    assert_eq!(cpu.pos.line, 6, "keeps the replaced value's position");

    d.set_path("spec.replicas", Node::Int(4)).expect("create");
    assert_eq!(
        d.get("spec")
            .and_then(|s| s.get("replicas"))
            .map(|y| &y.node),
        Some(&Node::Int(4))
    );
    assert!(matches!(
        d.set_path("spec.template.spec.containers[3].image", Node::Null),
        Err(PathError::IndexOutOfRange { len: 1, .. })
    ));
    assert!(matches!(
        d.set_path("spec.replicas.x", Node::Null),
        Err(PathError::NotAMapping { .. })
    ));
    assert!(matches!(
        d.set_path("a..b", Node::Null),
        Err(PathError::Syntax(_))
    ));
    assert!(matches!(
        d.set_path("a[x]", Node::Null),
        Err(PathError::Syntax(_))
    ));
}
