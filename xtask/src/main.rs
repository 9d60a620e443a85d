//! `cargo xtask`: the project's automation, as a Rust program rather than shell scripts.
//!
//! Nothing depends on this crate.
//! It generates code (`codegen`), the bundled cassettes (`cassettes`), runs every test with the official SDK clients
//! provisioned (`test`) and runs benchmarks (`bench`).

mod bench;
mod cassettes;
mod codegen;
mod test;
mod tidy;

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Project automation for yc-vcr")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate `crates/yc-proto/src/generated/` from `proto/`.
    Codegen {
        /// Only check that the committed files are up to date; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Regenerate the bundled cassettes in `cassettes/`.
    Cassettes {
        /// Only check that the committed cassettes are up to date; write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Run every test, the official SDK clients included: provisions the pinned Python SDK, Node.js SDK and grpcurl
    /// under `target/sdk/`, then runs `cargo test --workspace` with them.
    Test {
        /// Passed on to `cargo test` (e.g. `--locked`, or `-- python` to filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run a benchmark in release mode; it prints its figures beside a baseline from the same run.
    Bench {
        #[arg(value_enum)]
        name: bench::Bench,
        /// Passed on to the benchmark program.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = project_root();
    match cli.command {
        Command::Codegen { check } => codegen::run(&root, check),
        Command::Cassettes { check } => cassettes::run(&root, check),
        Command::Test { args } => test::run(&root, &args),
        Command::Bench { name, args } => bench::run(&root, name, &args),
    }
}

/// The workspace root: the parent of this crate's folder.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
