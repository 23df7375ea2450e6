//! Unit tests of the scopes module: every error kind with its position,
//! merging, nesting, round trips, and the constants.

use super::*;
use ScopeParseErrorKind as K;

/// Parses `input` and returns the error's kind, position and excerpt.
fn error_of(input: &str) -> (ScopeParseErrorKind, usize, String) {
    match parse(input) {
        Ok(scopes) => panic!("{input:?} parsed as {:?}", serialize(&scopes)),
        Err(e) => (e.kind(), e.position(), e.found().to_owned()),
    }
}

fn assert_error(input: &str, kind: ScopeParseErrorKind, position: usize, found: &str) {
    assert_eq!(
        error_of(input),
        (kind, position, found.to_owned()),
        "input {:?}",
        input.chars().take(80).collect::<String>()
    );
}

/// Parses and serializes back.
fn reparse(input: &str) -> String {
    serialize(parse(input).expect("a valid scope string"))
}

/// An order-insensitive form of a scope: dependencies sorted recursively, as
/// the Python comparison script printed them.
fn canon(scope: &Scope) -> String {
    let mut deps: Vec<String> = scope.dependencies().iter().map(canon).collect();
    deps.sort();
    let star = if scope.is_optional() { "*" } else { "" };
    if deps.is_empty() {
        format!("{star}{}", scope.name())
    } else {
        format!("{star}{}[{}]", scope.name(), deps.join(" "))
    }
}

fn canon_all(input: &str) -> Vec<String> {
    let mut all: Vec<String> = parse(input)
        .expect("a valid scope string")
        .iter()
        .map(canon)
        .collect();
    all.sort();
    all
}

fn s(name: &str) -> Scope {
    Scope::new(name).expect("a valid name")
}

// ---------------------------------------------------------------- errors

#[test]
fn empty_name() {
    let err = Scope::new("").expect_err("empty");
    assert_eq!(
        (err.kind(), err.position(), err.found()),
        (K::EmptyName, 0, "")
    );
    for input in ["", "   ", "\t\n"] {
        let err = input.parse::<Scope>().expect_err("no scope");
        assert_eq!((err.kind(), err.position()), (K::EmptyName, 0), "{input:?}");
    }
}

#[test]
fn invalid_character_in_new() {
    let cases = [
        ("a b", 1, " "),
        ("a[", 1, "["),
        ("a]b", 1, "]"),
        ("*a", 0, "*"),
        ("x\ty", 1, "\t"),
        ("\u{e9}\u{3000}", 2, "\u{3000}"),
        ("nul\0", 3, "\0"),
        ("del\u{7f}", 3, "\u{7f}"),
    ];
    for (name, position, found) in cases {
        let err = Scope::new(name).expect_err(name);
        assert_eq!(
            (err.kind(), err.position(), err.found()),
            (K::InvalidCharacter, position, found),
            "{name:?}"
        );
    }
}

#[test]
fn invalid_character_in_parse() {
    assert_error("a\0b", K::InvalidCharacter, 1, "\0");
    assert_error("ok a[b\u{7}]", K::InvalidCharacter, 6, "\u{7}");
    assert_error("*\u{1b}x", K::InvalidCharacter, 1, "\u{1b}");
    assert_error("\u{9f}", K::InvalidCharacter, 0, "\u{9f}");
}

#[test]
fn misplaced_optional_marker() {
    assert_error("*", K::MisplacedOptionalMarker, 0, "*");
    assert_error("* a", K::MisplacedOptionalMarker, 0, "* ");
    assert_error("**a", K::MisplacedOptionalMarker, 0, "**");
    assert_error("a*", K::MisplacedOptionalMarker, 1, "*");
    assert_error("foo*bar", K::MisplacedOptionalMarker, 3, "*b");
    assert_error("a[*]", K::MisplacedOptionalMarker, 2, "*]");
    assert_error("a[b*]", K::MisplacedOptionalMarker, 3, "*]");
    assert_error("*[a]", K::MisplacedOptionalMarker, 0, "*[");
    assert_error("a*[b]", K::MisplacedOptionalMarker, 1, "*[");
    assert_error("ok *", K::MisplacedOptionalMarker, 3, "*");
}

#[test]
fn bracket_without_scope() {
    assert_error("[a]", K::BracketWithoutScope, 0, "[");
    assert_error("a [b]", K::BracketWithoutScope, 2, "[");
    assert_error("a[[b]]", K::BracketWithoutScope, 2, "[");
    assert_error("a[b] [c]", K::BracketWithoutScope, 5, "[");
}

#[test]
fn empty_brackets() {
    assert_error("a[]", K::EmptyBrackets, 1, "[]");
    assert_error("a[ \t]", K::EmptyBrackets, 1, "[ \t]");
    assert_error("x a[b[ ]]", K::EmptyBrackets, 5, "[ ]");
}

#[test]
fn unmatched_close_bracket() {
    assert_error("]", K::UnmatchedCloseBracket, 0, "]");
    assert_error("a]", K::UnmatchedCloseBracket, 1, "]");
    assert_error("a[b]]", K::UnmatchedCloseBracket, 4, "]");
    assert_error("a[b] ]", K::UnmatchedCloseBracket, 5, "]");
}

#[test]
fn unclosed_bracket() {
    assert_error("a[", K::UnclosedBracket, 1, "[");
    assert_error("a[b", K::UnclosedBracket, 1, "[");
    assert_error("a[b[c]", K::UnclosedBracket, 1, "[");
    assert_error("a[b c[d", K::UnclosedBracket, 5, "[");
}

#[test]
fn missing_separator() {
    assert_error("a[b]c", K::MissingSeparator, 3, "]c");
    assert_error("a[b][c]", K::MissingSeparator, 3, "][");
    assert_error("a[b]*c", K::MissingSeparator, 3, "]*");
    assert_error("a[b]\u{e9}", K::MissingSeparator, 3, "]\u{e9}");
    // whitespace of any kind and ']' are fine after ']'
    assert_eq!(reparse("a[b[c]]\tx[y]\nz"), "a[b[c]] x[y] z");
}

#[test]
fn cycles() {
    assert_error("a[a]", K::Cycle, 2, "a");
    assert_error("a[*a]", K::Cycle, 3, "a");
    assert_error("a[b[a]]", K::Cycle, 4, "a");
    // only a cycle once occurrences are merged
    assert_error("a[b] b[a]", K::Cycle, 7, "a");
    assert_error("a[b[c[d]]] d[a]", K::Cycle, 13, "a");
    assert_error("x y[z] z[w[y]]", K::Cycle, 11, "y");
    // a shared dependency is not a cycle
    assert_eq!(reparse("a[c] b[c] c"), "a[c] b[c] c");
}

/// `n0[n1[...n{levels-1}]]`.
fn chain(levels: usize) -> String {
    let mut out = String::new();
    for i in 0..levels {
        if i > 0 {
            out.push('[');
        }
        out.push_str(&format!("n{i}"));
    }
    out.push_str(&"]".repeat(levels.saturating_sub(1)));
    out
}

#[test]
fn deep_nesting() {
    let deepest = chain(MAX_DEPTH);
    let parsed: Scope = deepest.parse().expect("MAX_DEPTH levels are accepted");
    assert_eq!(parsed.to_string(), deepest);
    let mut depth = 0;
    let mut node = Some(&parsed);
    while let Some(scope) = node {
        depth += 1;
        node = scope.dependencies().first();
    }
    assert_eq!(depth, MAX_DEPTH);
    // clone, compare, debug and drop run on the deepest tree without trouble
    assert_eq!(parsed.clone(), parsed);
    assert!(format!("{parsed:?}").contains("n127"));

    assert_error(&chain(MAX_DEPTH + 1), K::TooDeep, 0, "n0");
    // depth is counted after merging: no brackets are nested here
    let flat: Vec<String> = (0..=MAX_DEPTH)
        .map(|i| format!("n{i}[n{}]", i + 1))
        .collect();
    let flat = flat.join(" ");
    assert_error(&flat, K::TooDeep, 0, "n0");
}

#[test]
fn huge_inputs_do_not_overflow_the_stack() {
    assert_error(&chain(100_000), K::TooDeep, 0, "n0");
    let cycle = "a[".repeat(50_000) + "a" + &"]".repeat(50_000);
    assert_error(&cycle, K::Cycle, 2, "a");
    let unclosed = "a[b".repeat(50_000);
    assert_error(&unclosed, K::UnclosedBracket, unclosed.len() - 2, "[");
    assert_error(&"[".repeat(100_000), K::BracketWithoutScope, 0, "[");
}

#[test]
fn too_large() {
    // every level doubles the expanded tree: 2^21 scopes from ~400 bytes
    let levels: Vec<String> = (0..20)
        .map(|i| format!("x{i}[x{n} y{n}] y{i}[x{n} y{n}]", n = i + 1))
        .collect();
    assert_error(&levels.join(" "), K::TooLarge, 0, "x0");

    let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
    let many = many.join(" ");
    let last = many.rfind(' ').expect("a space") + 1;
    assert_error(&many, K::TooLarge, last, &format!("s{MAX_SCOPES}"));
    assert_eq!(
        parse(&many[..last - 1]).expect("MAX_SCOPES").len(),
        MAX_SCOPES
    );
}

#[test]
fn multiple_scopes_in_from_str() {
    let err = "a[x] *b".parse::<Scope>().expect_err("two scopes");
    assert_eq!(
        (err.kind(), err.position(), err.found()),
        (K::MultipleScopes, 6, "b")
    );
    // duplicates merge into one scope
    assert_eq!(
        "a a[b]".parse::<Scope>(),
        Ok(s("a").with_dependency(s("b")))
    );
}

#[test]
fn invalid_uuid() {
    for result in [
        gcs::data_access("abc"),
        gcs::https("abc"),
        gcs::manage_collections("abc"),
        flows::specific_flow_user("abc"),
        transfer::all_with_data_access(["6c54cade-bde5-45c1-bdea-f4bd71dba2cc", "abc"]),
    ] {
        let err = result.expect_err("not a uuid");
        assert_eq!(
            (err.kind(), err.position(), err.found()),
            (K::InvalidUuid, 3, "abc")
        );
    }
}

#[test]
fn error_messages_name_position_and_text() {
    let err = parse("openid a[b]]").expect_err("unmatched");
    let message = err.to_string();
    assert!(message.contains("at byte 11"), "{message}");
    assert!(message.contains("\"]\""), "{message}");
    assert!(message.contains("closes no '['"), "{message}");
    // long offending text is cut short
    let long = format!("{0}[{0}]", "x".repeat(500));
    let err = parse(&long).expect_err("cycle");
    assert_eq!(err.found().chars().count(), 65);
    assert!(err.found().ends_with('…'));
    // it is a std error
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(
        boxed
            .to_string()
            .starts_with("invalid scope string at byte 501")
    );
}

// ---------------------------------------------------------------- merging

#[test]
fn merging_unions_dependencies_of_every_occurrence() {
    assert_eq!(reparse("a[b] c[a[d]]"), "a[b d] c[a[b d]]");
    assert_eq!(reparse("a[b[c]] b[d]"), "a[b[c d]] b[c d]");
    assert_eq!(reparse("a b a"), "a b");
    assert_eq!(reparse("a[b b b]"), "a[b]");
    assert_eq!(reparse("a[b] a[c] a[b]"), "a[b c]");
}

#[test]
fn merging_required_wins_over_optional() {
    assert_eq!(reparse("a[b *b]"), "a[b]");
    assert_eq!(reparse("a[*b] a[b]"), "a[b]");
    assert_eq!(reparse("*a *a"), "*a");
    assert_eq!(reparse("*a a"), "a");
    // optionality belongs to each edge: the same scope can be optional under
    // one parent and required under another
    assert_eq!(reparse("x[a] y[*a]"), "x[a] y[*a]");
}

#[test]
fn merge_function() {
    let a = s("a").with_dependency(s("b"));
    let merged = merge([&a, &s("a").with_dependency(s("c").optional(true))]).expect("merge");
    assert_eq!(
        merged,
        vec![s("a").with_dependencies([s("b"), s("c").optional(true)])]
    );
    let err = merge(["a[b]", "b[a]"]).expect_err("cycle");
    assert_eq!((err.kind(), err.position()), (K::Cycle, 7));
    assert_eq!(merge(Vec::<Scope>::new()), Ok(vec![]));
}

/// Strings run through `globus_sdk.scopes.ScopeParser.parse` of globus-sdk
/// 4.10.0; the expectations are its output with dependencies and top-level
/// scopes sorted (Python's order comes from sets and is not stable).
#[test]
fn same_scopes_as_python_sdk() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("   ", &[]),
        ("a[b] c[a[d]]", &["a[b d]", "c[a[b d]]"]),
        ("a[b *b]", &["a[b]"]),
        ("x[a] y[*a]", &["x[a]", "y[*a]"]),
        ("a[ b ]", &["a[b]"]),
        ("  a[  b  ]  ", &["a[b]"]),
        ("a[b[c]] b[d]", &["a[b[c d]]", "b[c d]"]),
        ("a[*b] a[b]", &["a[b]"]),
        ("a b a", &["a", "b"]),
        ("*a *a", &["*a"]),
        ("a[b c] c[d] b[c]", &["a[b[c[d]] c[d]]", "b[c[d]]", "c[d]"]),
        ("a[b[c]] b", &["a[b[c]]", "b[c]"]),
        ("a[b] *b[c]", &["*b[c]", "a[b[c]]"]),
        ("a[b c[d *e]] e[f]", &["a[b c[*e[f] d]]", "e[f]"]),
        ("\u{e9}[\u{fc} *\u{f1}]", &["\u{e9}[*\u{f1} \u{fc}]"]),
        ("a[b]  c[b[d]]", &["a[b[d]]", "c[b[d]]"]),
        ("a[b c] b[c]", &["a[b[c] c]", "b[c]"]),
        ("T[x] F[*T[y]] T[*y]", &["F[*T[x y]]", "T[x y]"]),
        (
            "a[b[c[d[e]]]] e[f] c[g]",
            &["a[b[c[d[e[f]] g]]]", "c[d[e[f]] g]", "e[f]"],
        ),
        (
            "openid profile email \
             urn:globus:auth:scope:transfer.api.globus.org:all[\
             *https://auth.globus.org/scopes/C1/data_access \
             *https://auth.globus.org/scopes/C2/data_access] \
             urn:globus:auth:scope:transfer.api.globus.org:all[\
             https://auth.globus.org/scopes/C1/data_access]",
            &[
                "email",
                "openid",
                "profile",
                "urn:globus:auth:scope:transfer.api.globus.org:all[\
                 *https://auth.globus.org/scopes/C2/data_access \
                 https://auth.globus.org/scopes/C1/data_access]",
            ],
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(canon_all(input), *expected, "input {input:?}");
    }
}

/// Strings globus-sdk 4.10.0 rejects (ScopeParseError or ScopeCycleError);
/// they are rejected here too.
#[test]
fn same_rejections_as_python_sdk() {
    let cases = [
        ("a[b] b[a]", K::Cycle),
        ("a[a]", K::Cycle),
        ("a[*a]", K::Cycle),
        ("a[b[c[d]]] d[a]", K::Cycle),
        ("a*", K::MisplacedOptionalMarker),
        ("* a", K::MisplacedOptionalMarker),
        ("**a", K::MisplacedOptionalMarker),
        ("a*[b]", K::MisplacedOptionalMarker),
        ("a[*]", K::MisplacedOptionalMarker),
        ("a[b*]", K::MisplacedOptionalMarker),
        ("a [b]", K::BracketWithoutScope),
        ("a[b] [c]", K::BracketWithoutScope),
        ("[a]", K::BracketWithoutScope),
        ("a[b]c", K::MissingSeparator),
        ("a[b][c]", K::MissingSeparator),
        ("a[b]*c", K::MissingSeparator),
        ("a[b]]", K::UnmatchedCloseBracket),
        ("a]", K::UnmatchedCloseBracket),
        ("]", K::UnmatchedCloseBracket),
        ("a[", K::UnclosedBracket),
        ("a[]", K::EmptyBrackets),
        ("a[ ]", K::EmptyBrackets),
    ];
    for (input, kind) in cases {
        assert_eq!(error_of(input).0, kind, "input {input:?}");
    }
}

/// Where this parser deliberately differs from globus-sdk 4.10.0 (see the
/// module docs); Python's output is in the comments.
#[test]
fn documented_differences_from_python_sdk() {
    // Python: ['*a', 'a']
    assert_eq!(reparse("a *a"), "a");
    // Python: ['*a[b]', 'a[b]']
    assert_eq!(reparse("*a[b] a"), "a[b]");
    // Python: ['*a[b[c]]', 'a[b[c]]']
    assert_eq!(reparse("*a[*b[*c]] a[b[c]]"), "a[b[c]]");
    // Python: ['a\tb'] and ['a\nb'] (one scope with a tab or newline in it)
    assert_eq!(reparse("a\tb"), "a b");
    assert_eq!(reparse("a\nb"), "a b");
    // Python: ['*bar', 'foo']
    assert_eq!(error_of("foo*bar").0, K::MisplacedOptionalMarker);
}

#[test]
fn order_is_first_appearance() {
    assert_eq!(reparse("c b[z y] a b[x] c"), "c b[z y x] a");
}

// ---------------------------------------------------------------- round trips

#[test]
fn round_trips() {
    for input in [
        "openid",
        "openid profile email",
        "*a",
        "a[*b c[d *e[f]]] g",
        "urn:globus:auth:scope:transfer.api.globus.org:all\
         [*https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access]",
        "\u{e9}t\u{e9}[\u{1f600}]",
    ] {
        assert_eq!(reparse(input), input);
        let once = parse(input).expect("valid");
        assert_eq!(parse(&serialize(&once)), Ok(once));
    }
    // whitespace is normalized
    assert_eq!(reparse(" a[ b\t\tc ]\n d "), "a[b c] d");
}

#[test]
fn display_of_built_scopes() {
    let scope = s("a")
        .optional(true)
        .with_dependency(s("b"))
        .with_dependencies([s("c").optional(true).with_dependency(s("d"))]);
    assert_eq!(scope.to_string(), "*a[b *c[d]]");
    assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope.clone()));
    assert_eq!(scope.name(), "a");
    assert!(scope.is_optional());
    assert_eq!(scope.dependencies().len(), 2);
    assert!(!scope.clone().optional(false).is_optional());
    // hand-built duplicates are kept until parsed
    let dup = s("a").with_dependencies([s("b"), s("b")]);
    assert_eq!(dup.to_string(), "a[b b]");
    assert_eq!(
        dup.to_string().parse::<Scope>(),
        Ok(s("a").with_dependency(s("b")))
    );
}

#[test]
fn serialize_joins_with_spaces() {
    assert_eq!(serialize(Vec::<Scope>::new()), "");
    assert_eq!(serialize([s("a"), s("b").optional(true)]), "a *b");
    assert_eq!(serialize(["", "a", "", "b", ""]), "a b");
    assert_eq!(serialize(&[auth::OPENID]), "openid");
}

#[test]
#[should_panic(expected = "Scope::from_static")]
fn from_static_rejects_invalid_names() {
    let _ = Scope::from_static("not valid");
}

#[test]
fn from_static_and_new_agree() {
    const CONST_SCOPE: Scope = Scope::from_static("x:y").optional(true);
    assert_eq!(CONST_SCOPE, s("x:y").optional(true));
    // Equal scopes hash alike (a fixed-key hasher: the core has no OS-seeded one).
    let hash = |scope: &Scope| {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::hash::DefaultHasher::new();
        scope.hash(&mut hasher);
        hasher.finish()
    };
    assert_eq!(hash(&s("openid")), hash(&auth::OPENID));
}

// ---------------------------------------------------------------- constants

/// The scope strings of globus-sdk 4.10.0's scope collections, printed by
/// `sorted(str(x) for x in collection)` with their `resource_server`.
#[test]
fn constants_match_python_sdk() {
    let urn = |rs: &str, name: &str| format!("urn:globus:auth:scope:{rs}:{name}");
    let url = |id: &str, name: &str| format!("https://auth.globus.org/scopes/{id}/{name}");
    let check = |scopes: &[Scope], expected: Vec<String>| {
        let names: Vec<&str> = scopes.iter().map(Scope::name).collect();
        assert_eq!(names, expected);
        for scope in scopes {
            assert_eq!(Scope::new(scope.name()), Ok(scope.clone()));
            assert!(!scope.is_optional() && scope.dependencies().is_empty());
        }
    };

    assert_eq!(auth::RESOURCE_SERVER, "auth.globus.org");
    check(
        &[auth::OPENID, auth::EMAIL, auth::PROFILE],
        vec!["openid".into(), "email".into(), "profile".into()],
    );
    check(
        &[
            auth::MANAGE_PROJECTS,
            auth::VIEW_AUTHENTICATIONS,
            auth::VIEW_CLIENTS,
            auth::VIEW_CLIENTS_AND_SCOPES,
            auth::VIEW_CONSENTS,
            auth::VIEW_IDENTITIES,
            auth::VIEW_IDENTITY_SET,
        ],
        [
            "manage_projects",
            "view_authentications",
            "view_clients",
            "view_clients_and_scopes",
            "view_consents",
            "view_identities",
            "view_identity_set",
        ]
        .map(|n| urn("auth.globus.org", n))
        .into(),
    );

    assert_eq!(transfer::RESOURCE_SERVER, "transfer.api.globus.org");
    check(
        &[transfer::ALL, transfer::GCP_INSTALL],
        ["all", "gcp_install"]
            .map(|n| urn("transfer.api.globus.org", n))
            .into(),
    );

    assert_eq!(groups::RESOURCE_SERVER, "groups.api.globus.org");
    check(
        &[groups::ALL, groups::VIEW_MY_GROUPS_AND_MEMBERSHIPS],
        ["all", "view_my_groups_and_memberships"]
            .map(|n| urn("groups.api.globus.org", n))
            .into(),
    );

    assert_eq!(nexus::RESOURCE_SERVER, "nexus.api.globus.org");
    check(
        &[nexus::GROUPS],
        vec![urn("nexus.api.globus.org", "groups")],
    );

    assert_eq!(search::RESOURCE_SERVER, "search.api.globus.org");
    check(
        &[
            search::ALL,
            search::GLOBUS_CONNECT_SERVER,
            search::INGEST,
            search::SEARCH,
        ],
        ["all", "globus_connect_server", "ingest", "search"]
            .map(|n| urn("search.api.globus.org", n))
            .into(),
    );

    assert_eq!(
        timers::RESOURCE_SERVER,
        "524230d7-ea86-4a52-8312-86065a9e0417"
    );
    check(
        &[timers::TIMER],
        vec![url(timers::RESOURCE_SERVER, "timer")],
    );

    assert_eq!(flows::RESOURCE_SERVER, "flows.globus.org");
    assert_eq!(flows::CLIENT_ID, "eec9b274-0c81-4334-bdc2-54e90e689b9a");
    check(
        &[
            flows::ALL,
            flows::MANAGE_FLOWS,
            flows::VIEW_FLOWS,
            flows::RUN,
            flows::RUN_STATUS,
            flows::RUN_MANAGE,
        ],
        [
            "all",
            "manage_flows",
            "view_flows",
            "run",
            "run_status",
            "run_manage",
        ]
        .map(|n| url(flows::CLIENT_ID, n))
        .into(),
    );

    assert_eq!(compute::RESOURCE_SERVER, "funcx_service");
    assert_eq!(compute::CLIENT_ID, "facd7ccc-c5f4-42aa-916b-a0e270e2c2a9");
    check(&[compute::ALL], vec![url(compute::CLIENT_ID, "all")]);
}

/// Dynamic scopes, compared with globus-sdk 4.10.0's `GCSCollectionScopes`,
/// `GCSEndpointScopes`, `SpecificFlowScopes` and
/// `TransferClient.add_app_data_access_scope`.
#[test]
fn dynamic_scopes_match_python_sdk() {
    let id = "1234abcd-0000-1111-2222-333344445555";
    assert_eq!(
        flows::specific_flow_user(id).expect("uuid").name(),
        "https://auth.globus.org/scopes/1234abcd-0000-1111-2222-333344445555\
         /flow_1234abcd_0000_1111_2222_333344445555_user"
    );
    assert_eq!(
        gcs::manage_collections(id).expect("uuid").name(),
        "urn:globus:auth:scope:1234abcd-0000-1111-2222-333344445555:manage_collections"
    );
    assert_eq!(
        gcs::https(id).expect("uuid").name(),
        "https://auth.globus.org/scopes/1234abcd-0000-1111-2222-333344445555/https"
    );
    assert_eq!(
        gcs::data_access(&id.to_uppercase()).expect("uuid").name(),
        "https://auth.globus.org/scopes/1234abcd-0000-1111-2222-333344445555/data_access"
    );
    let other = "6c54cade-bde5-45c1-bdea-f4bd71dba2cc";
    assert_eq!(
        transfer::all_with_data_access([id, other])
            .expect("uuids")
            .to_string(),
        "urn:globus:auth:scope:transfer.api.globus.org:all[\
         *https://auth.globus.org/scopes/1234abcd-0000-1111-2222-333344445555/data_access \
         *https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access]"
    );
    assert_eq!(
        transfer::all_with_data_access(Vec::<String>::new()),
        Ok(transfer::ALL)
    );
}

#[test]
fn resource_servers() {
    let cases = [
        ("openid", Some("auth.globus.org")),
        ("profile", Some("auth.globus.org")),
        ("*email", Some("auth.globus.org")),
        (
            "urn:globus:auth:scope:auth.globus.org:view_identities",
            Some("auth.globus.org"),
        ),
        (
            "urn:globus:auth:scope:transfer.api.globus.org:all[*x y]",
            Some("transfer.api.globus.org"),
        ),
        (
            "https://auth.globus.org/scopes/6c54cade-bde5-45c1-bdea-f4bd71dba2cc/data_access",
            Some("6c54cade-bde5-45c1-bdea-f4bd71dba2cc"),
        ),
        (
            "https://auth.globus.org/scopes/524230d7-ea86-4a52-8312-86065a9e0417/timer",
            Some(timers::RESOURCE_SERVER),
        ),
        (
            "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run",
            Some("flows.globus.org"),
        ),
        (
            "https://auth.globus.org/scopes/facd7ccc-c5f4-42aa-916b-a0e270e2c2a9/all",
            Some("funcx_service"),
        ),
        ("urn:globus:auth:scope:transfer.api.globus.org", None),
        ("urn:globus:auth:scope::all", None),
        ("urn:globus:auth:scope:x:", None),
        ("https://auth.globus.org/scopes/abc", None),
        ("https://auth.globus.org/scopes//all", None),
        ("https://auth.globus.org/scopes/abc/", None),
        ("openid2", None),
        ("", None),
        ("custom", None),
    ];
    for (scope, expected) in cases {
        assert_eq!(resource_server_of(scope), expected, "{scope:?}");
    }

    let all = [
        (auth::OPENID, auth::RESOURCE_SERVER),
        (auth::EMAIL, auth::RESOURCE_SERVER),
        (auth::PROFILE, auth::RESOURCE_SERVER),
        (auth::VIEW_IDENTITIES, auth::RESOURCE_SERVER),
        (auth::MANAGE_PROJECTS, auth::RESOURCE_SERVER),
        (transfer::ALL, transfer::RESOURCE_SERVER),
        (transfer::GCP_INSTALL, transfer::RESOURCE_SERVER),
        (groups::ALL, groups::RESOURCE_SERVER),
        (
            groups::VIEW_MY_GROUPS_AND_MEMBERSHIPS,
            groups::RESOURCE_SERVER,
        ),
        (nexus::GROUPS, nexus::RESOURCE_SERVER),
        (search::ALL, search::RESOURCE_SERVER),
        (search::INGEST, search::RESOURCE_SERVER),
        (timers::TIMER, timers::RESOURCE_SERVER),
        (flows::ALL, flows::RESOURCE_SERVER),
        (flows::RUN_MANAGE, flows::RESOURCE_SERVER),
        (compute::ALL, compute::RESOURCE_SERVER),
    ];
    for (scope, server) in all {
        assert_eq!(scope.resource_server(), Some(server), "{scope}");
    }
    let flow = "0aa1bb2c-3d4e-4f50-8a6b-7c8d9e0f1a2b";
    assert_eq!(
        flows::specific_flow_user(flow)
            .expect("uuid")
            .resource_server(),
        Some(flow)
    );
}
