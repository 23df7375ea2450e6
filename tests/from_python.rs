//! The "coming from the Python SDK" page (`src/from_python.md`) names every field of
//! the reference's `GlobusAppConfig` and every public method of its `GlobusApp`,
//! read from the installed globus-sdk 4.10 itself.

use std::process::Command;

const PAGE: &str = include_str!("../src/from_python.md");

#[test]
#[ignore = "needs Python with globus-sdk 4.10 ($GLOBUS_APP_PYTHON, else python3); run with `cargo test -- --ignored` (bash .ci/run does)"]
fn the_migration_page_names_every_option_and_method_of_the_reference() {
    let python = std::env::var("GLOBUS_APP_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = "import dataclasses, inspect, globus_sdk\n\
        print(globus_sdk.__version__)\n\
        print(' '.join(f.name for f in dataclasses.fields(globus_sdk.GlobusAppConfig)))\n\
        print(' '.join(n for n, _ in inspect.getmembers(globus_sdk.GlobusApp) if not n.startswith('_')))";
    let out = Command::new(&python)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("{python}: {e}"));
    assert!(
        out.status.success(),
        "{python} cannot import globus_sdk: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap_or_default();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("4.10.0"));
    let fields: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let methods: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    assert!(fields.len() >= 8, "{fields:?}");
    for name in fields {
        assert!(
            PAGE.contains(&format!("`{name}")),
            "GlobusAppConfig.{name} is not on the page"
        );
    }
    // Methods a user calls (the retry-check hook is what service clients call).
    for name in methods.iter().filter(|m| **m != "get_client_retry_checks") {
        assert!(PAGE.contains(*name), "GlobusApp.{name} is not on the page");
    }
}
