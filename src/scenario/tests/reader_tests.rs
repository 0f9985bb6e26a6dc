//! Unit tests of `scenario::reader`.

use super::*;
use crate::scenario::yaml::parse_documents;

fn with_doc<T>(text: &str, f: impl FnOnce(&mut Cx, Val) -> T) -> (T, Vec<Warning>) {
    let docs = parse_documents(text).unwrap_or_default();
    let y = docs.first().cloned().unwrap_or(Yaml::synthetic(Node::Null));
    let src = Src {
        name: "u.yaml".into(),
        text: Arc::from(text),
    };
    let mut warnings = Vec::new();
    let out = {
        let mut cx = Cx {
            src: &src,
            label: "Kind/x".into(),
            warnings: &mut warnings,
        };
        f(
            &mut cx,
            Val {
                y: &y,
                path: String::new(),
            },
        )
    };
    (out, warnings.into_iter().map(|(_, w)| w).collect())
}

const FIELDS: Fields = Fields {
    read: &["replicas", "name"],
    warn: &["affinity"],
    silent: &["annotations"],
};

#[test]
fn map_checks_keys() {
    let (r, w) = with_doc(
        "replicas: 2\naffinity: {a: 1}\nannotations: {b: c}\n",
        |cx, v| {
            v.map(cx, &FIELDS)
                .map(|m| m.get("replicas").map(|r| r.int(cx)))
        },
    );
    assert!(matches!(r, Ok(Some(Ok(2)))));
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].to_string(),
        "u.yaml:2:1: Kind/x: affinity: read but not simulated; ignored"
    );

    let (r, w) = with_doc("affinity: {}\n", |cx, v| v.map(cx, &FIELDS).map(|_| ()));
    assert!(r.is_ok());
    assert!(w.is_empty(), "an empty value is not worth a warning");

    let (r, _) = with_doc("replicas: 2\nnmae: x\n", |cx, v| {
        v.map(cx, &FIELDS).map(|_| ())
    });
    let e = r.expect_err("unknown key");
    assert_eq!(
        e.to_string(),
        "u.yaml:2:1: Kind/x: nmae: unknown field \"nmae\" (did you mean \"name\"?)"
    );

    let (r, _) = with_doc("1: x\n", |cx, v| v.map(cx, &FIELDS).map(|_| ()));
    assert_eq!(
        r.expect_err("int key").to_string(),
        "u.yaml:1:1: Kind/x: expected a field name, found integer 1"
    );
}

#[test]
fn missing_and_null_fields() {
    let (r, _) = with_doc("replicas: ~\n", |cx, v| {
        let m = v.map(cx, &FIELDS)?;
        assert!(m.get("replicas").is_none(), "null is absent");
        m.req(cx, "name").map(|_| ())
    });
    assert_eq!(
        r.expect_err("missing").to_string(),
        "u.yaml:1:1: Kind/x: name: required field is missing"
    );
}

#[test]
fn scalar_readers() {
    let text = "a: 5\nb: \"5\"\nc: 2.5\nd: true\ne: 90s\nf: 500m\ng: -3\n";
    let (_, _) = with_doc(text, |cx, v| {
        let m = v
            .map(cx, &Fields::read(&["a", "b", "c", "d", "e", "f", "g"]))
            .expect("map");
        let get = |k: &str| m.get(k).expect("present");
        assert_eq!(get("a").int(cx).ok(), Some(5));
        assert_eq!(
            get("b").int(cx).map_err(|e| e.message).err().as_deref(),
            Some("expected an integer, found string \"5\"")
        );
        assert_eq!(get("c").number(cx).ok(), Some(2.5));
        assert_eq!(get("d").bool(cx).ok(), Some(true));
        assert_eq!(get("e").duration(cx).ok(), Some(SimDuration::from_secs(90)));
        assert_eq!(get("f").cpu_milli(cx).ok(), Some(500));
        assert_eq!(get("a").cpu_milli(cx).ok(), Some(5000));
        assert_eq!(get("c").cpu_milli(cx).ok(), Some(2500));
        assert_eq!(get("a").whole_quantity(cx).ok(), Some(5));
        assert_eq!(
            get("g")
                .cpu_milli(cx)
                .map_err(|e| e.message)
                .err()
                .as_deref(),
            Some("must be greater than or equal to 0")
        );
        assert_eq!(
            get("g")
                .int_in(cx, 0, 10)
                .map_err(|e| e.message)
                .err()
                .as_deref(),
            Some("must be greater than or equal to 0, found -3")
        );
        assert_eq!(
            get("a")
                .int_in(cx, 0, 4)
                .map_err(|e| e.message)
                .err()
                .as_deref(),
            Some("must be at most 4, found 5")
        );
        assert_eq!(
            get("a").string(cx).map_err(|e| e.message).err().as_deref(),
            Some("expected a string, found integer 5; put the value in quotes")
        );
        assert_eq!(
            get("a")
                .duration(cx)
                .map_err(|e| e.message)
                .err()
                .as_deref(),
            Some(
                "expected a duration such as 90s, 5m or 250ms, found integer 5; add a unit, e.g. 5s"
            )
        );
        assert_eq!(get("b").one_of(cx, &["5", "6"]).ok(), Some("5"));
    });
}

#[test]
fn label_syntax_is_upstreams() {
    for ok in ["app", "app.kubernetes.io/name", "a-b_c.d", "x/y", "A1"] {
        assert!(check_label_key(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "/x",
        "x/",
        "-a",
        "a-",
        "Foo.Com/x",
        &"a".repeat(64),
        "a b",
    ] {
        assert!(check_label_key(bad).is_err(), "{bad}");
    }
    for ok in ["", "v1", "a.b-c_d", &"a".repeat(63)] {
        assert!(check_label_value(ok).is_ok(), "{ok}");
    }
    for bad in ["-v", "v-", "a/b", &"a".repeat(64), "ü"] {
        assert!(check_label_value(bad).is_err(), "{bad}");
    }
    assert!(check_dns_subdomain("web-1.prod").is_ok());
    assert!(check_dns_subdomain("Web").is_err());
    assert!(check_dns_subdomain("").is_err());
    assert!(check_dns_label("sidecar").is_ok());
    assert!(check_dns_label("side.car").is_err());
}

#[test]
fn paths_stay_on_one_line() {
    assert_eq!(join("spec", "replicas"), "spec.replicas");
    assert_eq!(join("", "spec"), "spec");
    assert_eq!(join("spec", "a\nb"), "spec.\"a\\nb\"");
}
