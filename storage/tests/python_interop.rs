//! Interop with the Python globus-sdk 4.10.
//!
//! - `reads_python_fixtures`: files written by the Python SDK (committed under
//!   `tests/fixtures/`, made by `make_fixtures.py`) read as `expected.json` says.
//! - The other tests run Python (`$GLOBUS_APP_PYTHON`, else `python3`) to read files
//!   this crate wrote, to update them, and to compare app-name slugs and default
//!   paths. A plain `cargo test` ignores them; `cargo test -- --ignored` runs them
//!   and they fail, saying why, if that Python cannot import `globus_sdk`.

use globus_app_storage::paths::{
    FileFormat, app_data_dir_in_home, slugify_app_name, token_file_path,
};
use globus_app_storage::testing::sample_token;
use globus_app_storage::{
    AccessToken, DEFAULT_NAMESPACE, JsonTokenStorage, StorageError, TokenData, TokenStorage,
    WRITER_VERSION,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Opens a token file with the backend its extension names.
fn open(path: &Path) -> Box<dyn TokenStorage> {
    if path.extension().is_some_and(|e| e == "db") {
        #[cfg(feature = "sqlite")]
        return Box::new(globus_app_storage::SqliteTokenStorage::open(path).expect("open"));
        #[cfg(not(feature = "sqlite"))]
        panic!("the sqlite feature is off");
    }
    Box::new(JsonTokenStorage::new(path))
}

fn namespaces(storage: &dyn TokenStorage, path: &Path) -> Vec<String> {
    if path.extension().is_some_and(|e| e == "db") {
        #[cfg(feature = "sqlite")]
        return globus_app_storage::SqliteTokenStorage::open_read_only(path)
            .expect("open")
            .namespaces()
            .expect("namespaces");
    }
    let _ = storage;
    JsonTokenStorage::new(path)
        .namespaces()
        .expect("namespaces")
}

/// Reads every namespace of a token file as JSON values, like `expected.json`.
fn read_all(path: &Path, namespaces: &[String]) -> Value {
    let storage = open(path);
    let mut out = serde_json::Map::new();
    for ns in namespaces {
        let tokens = storage
            .get_token_data_by_resource_server(ns)
            .expect("get all");
        let mut by_rs = serde_json::Map::new();
        for (rs, token) in tokens {
            let one = storage
                .get_token_data(ns, &rs)
                .expect("get one")
                .expect("present");
            assert_eq!(one, token, "get one and get all disagree for {rs}");
            by_rs.insert(rs, serde_json::to_value(&token).expect("json"));
        }
        out.insert(ns.clone(), Value::Object(by_rs));
    }
    storage.close().expect("close");
    Value::Object(out)
}

fn copy_fixture(name: &str, dir: &Path) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(fixtures().join(name), &to).expect("copy fixture");
    to
}

#[test]
fn reads_python_fixtures() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json"),
    )
    .expect("json");
    let dir = tempfile::tempdir().expect("tempdir");
    let files = expected.as_object().expect("object");
    assert_eq!(files.len(), 6, "{:?}", files.keys());
    for (name, expected) in files {
        if name.ends_with(".db") && !cfg!(feature = "sqlite") {
            continue;
        }
        // Work on a copy: the committed files stay as Python wrote them.
        let path = copy_fixture(name, dir.path());
        let expected_namespaces: Vec<String> = expected
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        let storage = open(&path);
        assert_eq!(namespaces(&*storage, &path), expected_namespaces, "{name}");
        assert_eq!(&read_all(&path, &expected_namespaces), expected, "{name}");
        assert_eq!(
            std::fs::read(&path).expect("read"),
            std::fs::read(fixtures().join(name)).expect("read"),
            "{name}: reading changed the file"
        );
    }

    // A few facts checked by hand, not only through expected.json.
    let v2 = open(&fixtures().join("python-v2.json"));
    let transfer = v2
        .get_token_data(DEFAULT_NAMESPACE, "transfer.api.globus.org")
        .expect("get")
        .expect("some");
    assert_eq!(transfer.refresh_token, None);
    assert_eq!(transfer.expires_at_seconds, 4_102_444_800);
    assert!(transfer.scope.contains("[*https://auth.globus.org/scopes/"));
    let groups = v2
        .get_token_data(DEFAULT_NAMESPACE, "groups.api.globus.org")
        .expect("get")
        .expect("some");
    assert_eq!((groups.identity_id, groups.token_type), (None, None));
    let alice = v2
        .get_token_data_by_resource_server("user:alice@example.org ünïcödé")
        .expect("get");
    assert_eq!(alice.len(), 1);
    let v1 = open(&fixtures().join("python-v1.json"));
    let auth = v1
        .get_token_data(DEFAULT_NAMESPACE, "auth.globus.org")
        .expect("get")
        .expect("some");
    assert_eq!(
        (auth.refresh_token, auth.identity_id),
        (None, None),
        "null refresh token in format 1.0"
    );
    assert!(
        v1.get_token_data_by_resource_server("other")
            .expect("get")
            .is_empty()
    );
    let extra = open(&fixtures().join("python-v2-extra.json"));
    let auth = extra
        .get_token_data(DEFAULT_NAMESPACE, "auth.globus.org")
        .expect("get")
        .expect("some");
    assert_eq!(
        auth.extra["future_field"],
        json!({"nested": [1, "two", null, true]})
    );
    assert_eq!(auth.access_token.secret(), "fixture-access-token-auth");
}

#[test]
fn updates_python_fixtures_keeping_what_it_does_not_know() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Format 1.0 becomes 2.0 at the first store, with the old tokens in DEFAULT.
    let path = copy_fixture("python-v1.json", dir.path());
    let storage = JsonTokenStorage::new(&path);
    storage
        .store_token_data("new-ns", &[sample_token("x")])
        .expect("store");
    let written: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(written["format_version"], "2.0");
    assert_eq!(written["globus-sdk.version"], WRITER_VERSION);
    assert!(written.get("by_rs").is_none());
    assert_eq!(
        written["data"]["DEFAULT"]["auth.globus.org"]["access_token"],
        "fixture-access-token-legacy-auth"
    );
    assert_eq!(
        storage.namespaces().expect("namespaces"),
        ["DEFAULT", "new-ns"]
    );

    // Unknown token fields and top-level keys survive an update of the same entry.
    let path = copy_fixture("python-v2-extra.json", dir.path());
    let storage = JsonTokenStorage::new(&path);
    let mut auth = storage
        .get_token_data(DEFAULT_NAMESPACE, "auth.globus.org")
        .expect("get")
        .expect("some");
    auth.access_token = AccessToken::new("refreshed");
    storage
        .store_token_data(DEFAULT_NAMESPACE, &[auth])
        .expect("store");
    let written: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    assert_eq!(written["x-future-top-level"], json!({"keep": true}));
    assert_eq!(
        written["data"]["DEFAULT"]["auth.globus.org"]["issued_at"],
        1_699_996_400
    );
    assert_eq!(
        written["data"]["DEFAULT"]["auth.globus.org"]["access_token"],
        "refreshed"
    );

    #[cfg(feature = "sqlite")]
    for name in ["python-extra.db", "python-legacy-v1.db"] {
        let path = copy_fixture(name, dir.path());
        let storage = globus_app_storage::SqliteTokenStorage::open(&path).expect("open");
        storage
            .store_token_data("rust", &[sample_token("x")])
            .expect("store");
        assert!(storage.remove_token_data("rust", "x").expect("remove"));
    }
}

// ---------------------------------------------------------------------------------
// With Python

/// The Python to run; fails the test, saying why, if it cannot import globus_sdk.
fn python() -> PathBuf {
    let python =
        PathBuf::from(std::env::var_os("GLOBUS_APP_PYTHON").unwrap_or_else(|| "python3".into()));
    let probe = Command::new(&python)
        .args(["-c", "import globus_sdk; print(globus_sdk.__version__)"])
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => {
            let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if version != "4.10.0" {
                eprintln!(
                    "note: {} has globus-sdk {version}; these tests target 4.10.0",
                    python.display()
                );
            }
            return python;
        }
        Ok(out) => format!(
            "it cannot import globus_sdk ({})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        ),
        Err(e) => format!("it cannot be run: {e}"),
    };
    panic!(
        "Python interop test needs {} with globus-sdk 4.10 ($GLOBUS_APP_PYTHON), but {why}",
        python.display()
    );
}

fn run_python(python: &Path, args: &[&str], stdin: Option<&str>) -> String {
    use std::io::Write as _;
    let mut child = Command::new(python)
        .arg(fixtures().join("python_helper.py"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("wait python");
    assert!(
        out.status.success(),
        "python {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// What this crate writes for the Python tests: several namespaces and resource
/// servers, absent optional fields, extra fields, awkward strings.
fn our_tokens() -> Vec<(&'static str, Vec<TokenData>)> {
    let mut sparse = sample_token("sparse.example.org");
    sparse.identity_id = None;
    sparse.refresh_token = None;
    sparse.token_type = None;
    sparse
        .extra
        .insert("future_field".into(), json!({"list": [1, "two", null]}));
    let mut odd = sample_token("odd \"rs\" ünïcödé/\\");
    odd.access_token = AccessToken::new("tab\tquote\"backslash\\ and ✓");
    vec![
        (
            DEFAULT_NAMESPACE,
            vec![
                sample_token("auth.globus.org"),
                sample_token("transfer.api.globus.org"),
                sparse,
            ],
        ),
        (
            "other-app",
            vec![sample_token("transfer.api.globus.org"), odd],
        ),
    ]
}

fn expected_json(tokens: &[(&str, Vec<TokenData>)]) -> Value {
    let mut out = serde_json::Map::new();
    for (ns, tokens) in tokens {
        let by_rs: serde_json::Map<String, Value> = tokens
            .iter()
            .map(|t| {
                (
                    t.resource_server.clone(),
                    serde_json::to_value(t).expect("json"),
                )
            })
            .collect();
        out.insert((*ns).to_owned(), Value::Object(by_rs));
    }
    Value::Object(out)
}

fn our_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut files = vec![("json", dir.join("rust.json"))];
    if cfg!(feature = "sqlite") {
        files.push(("sqlite", dir.join("rust.db")));
    }
    files
}

#[test]
#[ignore = "needs Python with globus-sdk 4.10 ($GLOBUS_APP_PYTHON, else python3); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn python_reads_what_we_write() {
    let python = python();
    let dir = tempfile::tempdir().expect("tempdir");
    let tokens = our_tokens();
    for (kind, path) in our_files(dir.path()) {
        let storage = open(&path);
        for (ns, tokens) in &tokens {
            storage.store_token_data(ns, tokens).expect("store");
        }
        storage.close().expect("close");
        let path_str = path.to_str().expect("utf-8 path");
        let out = run_python(
            &python,
            &["read", kind, path_str, DEFAULT_NAMESPACE, "other-app"],
            None,
        );
        let read: Value = serde_json::from_str(&out).expect("python output");
        assert_eq!(
            read,
            expected_json(&tokens),
            "{kind}: Python read something else"
        );
    }
}

#[test]
#[ignore = "needs Python with globus-sdk 4.10 ($GLOBUS_APP_PYTHON, else python3); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn python_and_rust_update_each_others_files() {
    let python = python();
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, path) in our_files(dir.path()) {
        let path_str = path.to_str().expect("utf-8 path");
        // Rust creates, Python adds and removes, Rust reads and adds, Python reads.
        let storage = open(&path);
        storage
            .store_token_data(DEFAULT_NAMESPACE, &our_tokens()[0].1)
            .expect("store");
        let from_python = sample_token("python.example.org");
        let arg = serde_json::to_string(&[&from_python]).expect("json");
        run_python(
            &python,
            &["store", kind, path_str, DEFAULT_NAMESPACE, &arg],
            None,
        );
        run_python(&python, &["store", kind, path_str, "python-ns", &arg], None);
        let removed = run_python(
            &python,
            &[
                "remove",
                kind,
                path_str,
                DEFAULT_NAMESPACE,
                "auth.globus.org",
            ],
            None,
        );
        assert_eq!(removed.trim(), "true");

        let all = storage
            .get_token_data_by_resource_server(DEFAULT_NAMESPACE)
            .expect("read");
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            [
                "python.example.org",
                "sparse.example.org",
                "transfer.api.globus.org"
            ],
            "{kind}"
        );
        assert_eq!(all["python.example.org"], from_python);
        // Python keeps the extra fields of entries it did not rewrite.
        assert_eq!(all["sparse.example.org"], our_tokens()[0].1[2]);
        storage
            .store_token_data("python-ns", &[sample_token("rust.example.org")])
            .expect("store");
        storage.close().expect("close");

        let out = run_python(&python, &["read", kind, path_str, "python-ns"], None);
        let read: Value = serde_json::from_str(&out).expect("python output");
        let expected = expected_json(&[(
            "python-ns",
            vec![from_python.clone(), sample_token("rust.example.org")],
        )]);
        assert_eq!(read, expected, "{kind}");
    }
}

#[test]
#[ignore = "needs Python with globus-sdk 4.10 ($GLOBUS_APP_PYTHON, else python3); run with `cargo test -- --ignored` (bash .ci/run installs it)"]
fn slugs_and_default_paths_match_python() {
    let python = python();
    let names = [
        "My App",
        "my.app v2.0",
        "a?",
        "a. b",
        "a\u{0}b",
        "AB",
        "<>:\"/\\|?*",
        "con",
        "CON",
        "con.txt",
        "com1",
        "COM9",
        "com10",
        "lpt1",
        "lpt",
        "nul",
        "aux",
        "prn",
        "com\u{661}",
        "",
        " ",
        "\n",
        "\t\r",
        "ΣΑΣ",
        "İstanbul",
        "Straße",
        "ǅ",
        "nb\u{a0}sp",
        "zero\u{200b}width",
        "bom\u{feff}",
        "soft\u{ad}hyphen",
        "private\u{e000}use",
        "line\u{2028}sep",
        "emoji 🎉",
        "tab\there",
        "\u{7f}del",
        "c1\u{85}ctl",
        "arabic\u{600}sign",
        "tag\u{e0041}char",
        "日本語 アプリ",
    ];
    let names_json = serde_json::to_string(&names[..]).expect("json");
    let out = run_python(&python, &["slugs"], Some(&names_json));
    let python_slugs: Vec<Option<String>> = serde_json::from_str(&out).expect("python output");
    for (name, python_slug) in names.iter().zip(python_slugs) {
        let ours = slugify_app_name(name);
        match (&ours, &python_slug) {
            (Ok(ours), Some(theirs)) => assert_eq!(ours, theirs, "slug of {name:?}"),
            (Err(StorageError::InvalidName { .. }), None) => {}
            _ => panic!("slug of {name:?}: ours {ours:?}, Python {python_slug:?}"),
        }
    }

    let home = tempfile::tempdir().expect("tempdir");
    let client_id = "61338d24-54d5-408f-a10d-66c06b59f6d2";
    for (app, env) in [
        ("My Tool", "production"),
        ("My Tool", "sandbox"),
        ("x.y", "preview"),
    ] {
        let out = Command::new(&python)
            .arg(fixtures().join("python_helper.py"))
            .args(["path", client_id, app, env])
            .env("HOME", home.path())
            .output()
            .expect("python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = String::from_utf8(out.stdout).expect("utf-8");
        for format in [FileFormat::Json, FileFormat::Sqlite] {
            let ours = token_file_path(
                &app_data_dir_in_home(home.path()),
                client_id,
                app,
                env,
                format,
            )
            .expect("path");
            assert_eq!(
                ours,
                PathBuf::from(format!(
                    "{}.{}",
                    theirs.trim_end_matches('\n'),
                    format.extension()
                )),
                "{app:?} {env:?}"
            );
        }
    }
}
