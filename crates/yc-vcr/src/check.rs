//! `yc-vcr check`: the format check and the secret scan over committed cassettes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use yc_cassette::{Cassette, Finding, Journal, scan, scan_text};

use crate::cassettes;

/// Check cassettes: each must load (format, version, messages of their types) and hold no secret.
///
/// Prints one line per problem, `FILE:LINE:COLUMN: what`, and exits 1 if there is any;
/// for CI and pre-commit hooks. A journal a crashed recording left beside a cassette (CASSETTE.journal) is checked
/// too, and noted on stderr.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Cassette files, or folders searched for `*.json`.
    #[arg(required = true, value_name = "CASSETTE")]
    paths: Vec<PathBuf>,
    /// Largest cassette (or journal) read, in bytes.
    #[arg(long, default_value_t = yc_cassette::DEFAULT_MAX_CASSETTE_SIZE, value_name = "BYTES")]
    max_cassette_size: u64,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let files = cassettes::files(&args.paths)?;
    let mut problems = 0;
    for file in &files {
        let shown = file.display();
        problems += check_journal(file, args.max_cassette_size);
        let journal_only = !file.exists() && yc_cassette::journal_path(file).exists();
        if journal_only {
            continue;
        }
        let text = match yc_cassette::read_text(file, args.max_cassette_size) {
            Ok(text) => text,
            Err(err) => {
                println!("{err}");
                problems += 1;
                continue;
            }
        };
        // The format check and the text scan read the same text independently: one core each.
        let origin = shown.to_string();
        let (loaded, findings) = std::thread::scope(|scope| {
            let loaded = scope.spawn(|| Cassette::from_json_str(&text, &origin).map(drop));
            // The text scan also decodes base64 (raw message bytes, `-bin` metadata), and it knows lines and columns.
            let findings = scan_text(&text);
            (loaded.join(), findings)
        });
        match loaded {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                println!("{err}");
                problems += 1;
            }
            Err(_) => {
                println!("{shown}: the format check failed unexpectedly");
                problems += 1;
            }
        }
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

/// Checks the journal beside `file`, if any: its lines load, and hold no secret. Returns the problems found.
fn check_journal(file: &std::path::Path, max_size: u64) -> usize {
    let path = yc_cassette::journal_path(file);
    if std::fs::symlink_metadata(&path).is_err() {
        return 0;
    }
    let journal = match Journal::read(&path, max_size) {
        Ok(journal) => journal,
        Err(err) => {
            println!("{err}");
            return 1;
        }
    };
    let lines = journal.interactions.len();
    if let Ok(opened) = Cassette::open(file, max_size)
        && let Some(recovery) = opened.recovery
    {
        eprintln!("{}: {recovery}", file.display());
    } else {
        eprintln!(
            "{}: journal `{}` with {lines} interactions",
            file.display(),
            path.display()
        );
    }
    let mut cassette = Cassette::new(journal.header.meta.clone());
    cassette.interactions = journal.interactions;
    let findings = scan(&cassette);
    for finding in &findings {
        // Journal line `2 + i` holds interaction `i` of the journal.
        let location = finding
            .location
            .strip_prefix("interactions[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, rest)| Some((i.parse::<usize>().ok()? + 2, rest)))
            .map_or_else(
                || finding.location.clone(),
                |(line, rest)| format!("{line}: {}", rest.trim_start_matches('.')),
            );
        println!(
            "{}:{location}: secret ({}) not redacted",
            path.display(),
            finding.kind
        );
    }
    findings.len()
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
