//! Unit and property tests of templates and the router.

use proptest::prelude::*;

use super::*;

fn t(text: &str) -> Template {
    Template::parse(text).unwrap()
}

#[test]
fn templates_parse_into_segments() {
    let template = t("/v1/{name=projects/*/widgets/*}:frobnicate");
    assert_eq!(
        template.segments(),
        [
            Segment::Literal("v1".into()),
            Segment::Literal("projects".into()),
            Segment::Single,
            Segment::Literal("widgets".into()),
            Segment::Single,
        ]
    );
    assert_eq!(template.verb(), Some("frobnicate"));
    assert_eq!(template.variables()[0].field_path, "name");
    assert_eq!(template.variables()[0].segments, 1..5);
    assert_eq!(t("/images:latestByFamily").verb(), Some("latestByFamily"));
    assert_eq!(
        t("/v1/{image.folder_id}").variables()[0].field_path,
        "image.folder_id"
    );
}

#[test]
fn bad_templates_say_where() {
    let cases = [
        ("v1/x", "a template starts with `/` at byte 0"),
        ("/v1/{}", "expected a field path at byte 5"),
        ("/v1/{x", "expected `}` at byte 6"),
        (
            "/v1/{x={y}}",
            "a variable cannot hold another variable at byte 7",
        ),
        ("/v1/**/**", "only one `**` is allowed at byte 9"),
        ("/v1//x", "expected a segment at byte 4"),
        ("/v1/x:", "expected a verb after `:` at byte 6"),
        ("/v1/x:a/b", "unexpected character at byte 7"),
        ("/v1/{9x}", "expected a field path at byte 5"),
    ];
    for (text, reason) in cases {
        let error = Template::parse(text).unwrap_err().to_string();
        assert_eq!(error, format!("path template `{text}`: {reason}"));
    }
}

#[test]
fn variables_check_their_patterns() {
    let template = t("/v1/{name=projects/*/widgets/*}");
    assert_eq!(
        template.matches("/v1/projects/p1/widgets/w%201"),
        Some(vec![("name", "projects/p1/widgets/w 1".to_owned())])
    );
    assert_eq!(template.matches("/v1/projects/p1/gadgets/w1"), None);
    assert_eq!(template.matches("/v1/projects/p1/widgets"), None);
    assert_eq!(template.matches("/v1/projects//widgets/w1"), None);
}

#[test]
fn double_wildcards_take_any_number_of_segments() {
    let template = t("/v1/{path=files/**}/content");
    assert_eq!(
        template.matches("/v1/files/a/b/c/content"),
        Some(vec![("path", "files/a/b/c".to_owned())])
    );
    assert_eq!(
        template.matches("/v1/files/content"),
        Some(vec![("path", "files".to_owned())])
    );
    assert_eq!(template.matches("/v1/content"), None);
    // Multi-segment variables keep an escaped slash, so the value splits back into the segments sent.
    assert_eq!(
        t("/v1/{path=**}").matches("/v1/a%2Fb/%C3%A9%25"),
        Some(vec![("path", "a%2Fb/é%".to_owned())])
    );
    // One-segment variables decode everything.
    assert_eq!(
        t("/v1/{id}").matches("/v1/a%2fb"),
        Some(vec![("id", "a/b".to_owned())])
    );
}

#[test]
fn the_most_specific_template_wins() {
    let mut router = Router::new();
    router.add("GET", t("/images/{image_id}"), "get");
    router.add(
        "GET",
        t("/images/{resource_id}:listAccessBindings"),
        "bindings",
    );
    router.add("GET", t("/images:latestByFamily"), "latest");
    router.add("GET", t("/{name=**}"), "anything");
    router.add("GET", t("/images/{image_id}/operations"), "operations");
    router.add("get", t("/images/special"), "special");
    let target = |path: &str| router.route("GET", path).map(|r| *r.target);
    assert_eq!(target("/images/fd8"), Some("get"));
    assert_eq!(target("/images/fd8:listAccessBindings"), Some("bindings"));
    assert_eq!(target("/images:latestByFamily"), Some("latest"));
    assert_eq!(target("/images/special"), Some("special"));
    assert_eq!(target("/images/fd8/operations"), Some("operations"));
    assert_eq!(target("/other/thing"), Some("anything"));
    assert_eq!(target("/images/"), Some("anything"));
    assert_eq!(router.route("POST", "/images/fd8"), None);
    assert_eq!(
        router.route("get", "/images/fd8").map(|r| *r.target),
        Some("get")
    );
    let route = router
        .route("GET", "/images/fd8:listAccessBindings")
        .unwrap();
    assert_eq!(route.bindings, vec![("resource_id", "fd8".to_owned())]);
}

#[test]
fn status_codes_map_both_ways() {
    let table = [
        (0, 200),
        (1, 499),
        (2, 500),
        (3, 400),
        (4, 504),
        (5, 404),
        (6, 409),
        (7, 403),
        (8, 429),
        (9, 400),
        (10, 409),
        (11, 400),
        (12, 501),
        (13, 500),
        (14, 503),
        (15, 500),
        (16, 401),
        (99, 500),
        (-1, 500),
    ];
    for (code, http) in table {
        assert_eq!(http_status(code), http, "code {code}");
    }
    for code in [1, 3, 4, 5, 7, 8, 12, 14, 16] {
        assert_eq!(grpc_code(http_status(code)) as i32, code, "code {code}");
    }
    assert_eq!(grpc_code(418), crate::google::rpc::Code::Unknown);
}

/// A template segment as the property tests build them.
#[derive(Debug, Clone)]
enum Piece {
    Literal(String),
    /// `{field}` or `{field=pattern}`, the pattern made of literals and `*`, maybe ending in `**`.
    Variable {
        pattern: Vec<Option<String>>,
        multi: bool,
    },
}

fn literal() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.~-]{1,8}"
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        literal().prop_map(Piece::Literal),
        (
            proptest::collection::vec(proptest::option::of(literal()), 1..4),
            any::<bool>()
        )
            .prop_map(|(pattern, multi)| Piece::Variable { pattern, multi }),
    ]
}

/// A template, and for each of its variables a value that fits its pattern (any text where `*` and `**` are).
fn template_and_values() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (
        proptest::collection::vec(piece(), 1..5),
        proptest::option::of(literal()),
        proptest::collection::vec(".{1,6}", 16),
        proptest::collection::vec("[^/]{1,6}", 16),
    )
        .prop_map(|(pieces, verb, free, single)| {
            let mut text = String::new();
            let mut values = Vec::new();
            let mut seen_multi = false;
            for (i, piece) in pieces.into_iter().enumerate() {
                text.push('/');
                match piece {
                    Piece::Literal(literal) => text.push_str(&literal),
                    Piece::Variable { pattern, multi } => {
                        let field = format!("f{i}");
                        let multi = multi && !seen_multi;
                        seen_multi |= multi;
                        let mut pattern_text = Vec::new();
                        let mut value = Vec::new();
                        let one_segment = pattern.len() == 1 && !multi;
                        for (j, segment) in pattern.iter().enumerate() {
                            match segment {
                                Some(literal) => {
                                    pattern_text.push(literal.clone());
                                    value.push(literal.clone());
                                }
                                None => {
                                    pattern_text.push("*".into());
                                    // In a one-segment variable a `/` is escaped and decoded back; in a longer
                                    // one a `*` value cannot hold one.
                                    let pool = if one_segment { &free } else { &single };
                                    value.push(pool[(i * 4 + j) % pool.len()].clone());
                                }
                            }
                        }
                        if multi {
                            pattern_text.push("**".into());
                            value.push(free[i % free.len()].clone());
                        }
                        text.push_str(&format!("{{{field}={}}}", pattern_text.join("/")));
                        values.push((field, value.join("/")));
                    }
                }
            }
            if let Some(verb) = verb {
                text.push(':');
                text.push_str(&verb);
            }
            (text, values)
        })
}

proptest! {
    #[test]
    fn a_path_built_from_a_template_matches_back((text, values) in template_and_values()) {
        let template = Template::parse(&text).unwrap();
        let borrowed: Vec<(&str, &str)> = values.iter().map(|(f, v)| (f.as_str(), v.as_str())).collect();
        let path = template.expand(&borrowed);
        prop_assert!(path.is_some(), "{text} {values:?}");
        let path = path.unwrap();
        let mut router = Router::new();
        router.add("GET", Template::parse("/unrelated/{x}").unwrap(), 0);
        router.add("POST", template.clone(), 1);
        router.add("GET", template, 2);
        let route = router.route("GET", &path);
        prop_assert!(route.is_some(), "{text} {path}");
        let route = route.unwrap();
        prop_assert_eq!(*route.target, 2);
        let bound: Vec<(String, String)> =
            route.bindings.iter().map(|(f, v)| ((*f).to_owned(), v.clone())).collect();
        prop_assert_eq!(bound, values);
    }
}

proptest! {
    #[test]
    fn any_path_against_any_template_is_an_answer_not_a_panic(
        (text, _) in template_and_values(),
        path in "(/[a-z0-9%:*{}]{0,4}){0,7}",
    ) {
        let template = Template::parse(&text).unwrap();
        let _ = template.matches(&path);
        let mut router = Router::new();
        router.add("GET", template, ());
        let _ = router.route("GET", &path);
    }
}
