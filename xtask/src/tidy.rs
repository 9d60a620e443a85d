//! The rules of ARCHITECTURE.md that can be checked mechanically, as tests: they fail with what broke and where.
//!
//! - Dependencies point one way: `yc-vcr -> yc-proxy -> yc-cassette -> yc-proto`, read from `cargo metadata`.
//! - The pure core is pure: `yc-cassette` (and `yc-proto` without its `grpc` feature) pulls in no tokio, hyper or
//!   h2, read from `cargo tree`.
//! - Only the binary prints: no `print!`, `println!`, `eprint!`, `eprintln!` or `dbg!` in the library crates.
//! - `yc-proxy` does not `unwrap` or `expect` outside its tests: input reaches almost every line of it.
//!
//! Text checks skip comments, `tests.rs` files and everything after a `#[cfg(test)]` line.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::Value;

    use crate::project_root;

    /// Workspace crate -> the workspace crates it may depend on (normal dependencies).
    const ALLOWED: &[(&str, &[&str])] = &[
        ("yc-proto", &[]),
        ("yc-cassette", &["yc-proto"]),
        ("yc-proxy", &["yc-cassette", "yc-proto"]),
        ("yc-vcr", &["yc-proxy", "yc-cassette", "yc-proto"]),
    ];

    /// What `cargo ARGS` prints on stdout, run in the workspace; a failure fails the test with cargo's stderr.
    fn cargo(args: &[&str]) -> String {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(project_root())
            .args(args)
            .output()
            .expect("cargo runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn dependencies_point_one_way() {
        let output = cargo(&[
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ]);
        let metadata: Value = serde_json::from_str(&output).unwrap();
        let members: Vec<&str> = ALLOWED.iter().map(|(name, _)| *name).collect();
        let mut broken = Vec::new();
        for package in metadata["packages"].as_array().unwrap() {
            let name = package["name"].as_str().unwrap();
            let Some((_, allowed)) = ALLOWED.iter().find(|(crate_name, _)| *crate_name == name)
            else {
                continue;
            };
            for dependency in package["dependencies"].as_array().unwrap() {
                let dep = dependency["name"].as_str().unwrap();
                let normal = dependency["kind"].is_null();
                if normal && members.contains(&dep) && !allowed.contains(&dep) {
                    broken.push(format!("{name} depends on {dep}"));
                }
            }
        }
        assert!(
            broken.is_empty(),
            "dependencies must point yc-vcr -> yc-proxy -> yc-cassette -> yc-proto: {broken:?}"
        );
    }

    #[test]
    fn the_pure_core_pulls_in_no_async_runtime_or_http_stack() {
        let package = "yc-cassette";
        let tree = cargo(&[
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "-p",
            package,
        ]);
        let impure: Vec<&str> = tree
            .lines()
            .filter(|line| {
                let name = line.split_whitespace().next().unwrap_or_default();
                name.starts_with("tokio") || name.starts_with("hyper") || name == "h2"
            })
            .collect();
        assert!(
            impure.is_empty(),
            "{package} must know nothing of tokio, hyper or h2, but depends on {impure:?}"
        );
    }

    #[test]
    fn only_the_binary_prints() {
        let found = scan(
            &[
                "crates/yc-proto/src",
                "crates/yc-cassette/src",
                "crates/yc-proxy/src",
            ],
            &["print!(", "println!(", "eprint!(", "eprintln!(", "dbg!("],
        );
        assert!(found.is_empty(), "only yc-vcr prints; found {found:#?}");
    }

    #[test]
    fn the_proxy_never_unwraps_outside_its_tests() {
        let found = scan(&["crates/yc-proxy/src"], &[".unwrap()", ".expect("]);
        assert!(
            found.is_empty(),
            "yc-proxy turns every failure into a response or an error, never a panic; found {found:#?}"
        );
    }

    /// `path:line: text` of every non-comment line before any `#[cfg(test)]` that contains one of `needles`.
    fn scan(roots: &[&str], needles: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for root in roots {
            for file in rust_files(&project_root().join(root)) {
                if file.file_name().is_some_and(|name| name == "tests.rs")
                    || file.components().any(|c| c.as_os_str() == "generated")
                {
                    continue;
                }
                let text = std::fs::read_to_string(&file).unwrap();
                for (number, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("#[cfg(test)]") {
                        break;
                    }
                    if code.starts_with("//") {
                        continue;
                    }
                    if needles.iter().any(|needle| code.contains(needle)) {
                        let relative = file.strip_prefix(project_root()).unwrap_or(&file);
                        found.push(format!("{}:{}: {code}", relative.display(), number + 1));
                    }
                }
            }
        }
        found
    }

    fn rust_files(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }
}
