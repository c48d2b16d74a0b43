//! Guard: every server function must be declared with `#[api]` (which always sets the
//! authenticated client). A bare `#[server]` would send calls without the JWT, so it fails here.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_server_function_bypasses_the_authenticated_client() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(!files.is_empty());
    let mut api_uses = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            assert!(
                !(code.contains("#[server")
                    || code.contains("#[leptos::server")
                    || code.contains("::server(")),
                "{}:{}: declare server functions with #[api], not #[server]",
                file.display(),
                n + 1
            );
            if code.starts_with("#[api") {
                api_uses += 1;
            }
        }
    }
    assert!(
        api_uses >= 2,
        "expected the preferences server functions to use #[api]"
    );
}
