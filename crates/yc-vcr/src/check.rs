//! `yc-vcr check`: the format check and the secret scan over committed cassettes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use yc_cassette::{Cassette, Finding, scan_text};

use crate::cassettes;

/// Check cassettes: each must load (format, version, messages of their types) and hold no secret.
///
/// Prints one line per problem, `FILE:LINE:COLUMN: what`, and exits 1 if there is any;
/// for CI and pre-commit hooks.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Cassette files, or folders searched for `*.json`.
    #[arg(required = true, value_name = "CASSETTE")]
    paths: Vec<PathBuf>,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let files = cassettes::files(&args.paths)?;
    let mut problems = 0;
    for file in &files {
        let shown = file.display();
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(err) => {
                println!("{shown}: cannot read: {err}");
                problems += 1;
                continue;
            }
        };
        if let Err(err) = Cassette::from_json_str(&text, &shown.to_string()) {
            println!("{err}");
            problems += 1;
        }
        // The text scan also decodes base64 (raw message bytes, `-bin` metadata), and it knows lines and columns.
        let findings = scan_text(&text);
        for finding in &findings {
            println!("{}", describe(&shown.to_string(), finding));
        }
        problems += findings.len();
    }
    eprintln!("checked {} cassettes: {problems} problems", files.len());
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn describe(file: &str, finding: &Finding) -> String {
    match (finding.line, finding.column) {
        (Some(line), Some(column)) => format!(
            "{file}:{line}:{column}: secret ({}) not redacted",
            finding.kind
        ),
        _ => format!(
            "{file}: {}: secret ({}) not redacted",
            finding.location, finding.kind
        ),
    }
}
