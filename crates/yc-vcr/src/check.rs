//! `yc-vcr check`: each cassette loaded exactly as `replay` loads it, then the secret scan over what it holds.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use yc_cassette::{Cassette, Finding, Journal, Redactor};
use yc_proto::Schema;

use crate::cassettes;
use crate::redaction::RedactionArgs;
use crate::schema::SchemaArgs;

/// Check cassettes: each must load as `replay` loads it (format, version, messages of their types, every answer
/// sendable) and hold no secret, in any encoding.
///
/// Prints one line per problem, `FILE:LINE:COLUMN: what`. Exits 0 when every file is clean, 1 when a secret or an
/// invalid cassette was found, 2 when the check could not run (a path that cannot be read, bad options);
/// for CI and pre-commit hooks. A journal a crashed recording left beside a cassette (CASSETTE.journal) is checked
/// too, and noted on stderr.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Cassette files, or folders searched for `*.json`.
    #[arg(required = true, value_name = "CASSETTE")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    redaction: RedactionArgs,
    #[command(flatten)]
    schema: SchemaArgs,
    /// Largest cassette (or journal) read, in bytes.
    #[arg(long, default_value_t = yc_cassette::DEFAULT_MAX_CASSETTE_SIZE, value_name = "BYTES")]
    max_cassette_size: u64,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    match check(args) {
        Ok(Outcome { problems, unread }) if unread > 0 => {
            eprintln!("{unread} cassettes could not be read ({problems} problems in the others)");
            Ok(ExitCode::from(2))
        }
        Ok(Outcome { problems, .. }) => Ok(ExitCode::from(u8::from(problems > 0))),
        Err(error) => {
            eprintln!("error: {error:#}");
            Ok(ExitCode::from(2))
        }
    }
}

struct Outcome {
    problems: usize,
    unread: usize,
}

fn check(args: &Args) -> Result<Outcome> {
    let files = cassettes::files(&args.paths)?;
    // Scanned with the rules `record` was given, as `replay` matches with them.
    let redactor = Redactor::new(&args.redaction.rules()?)?;
    let schema = args.schema.schema()?;
    let mut outcome = Outcome {
        problems: 0,
        unread: 0,
    };
    for file in &files {
        let shown = file.display().to_string();
        outcome.problems += check_journal(file, args.max_cassette_size, &redactor, &schema);
        if !file.exists() && yc_cassette::journal_path(file).exists() {
            continue;
        }
        // A file that loads is scanned as replay reads it; one that does not is scanned as any JSON, else as lines,
        // so that its secrets are reported too.
        let findings = match redactor.load_and_scan(file, args.max_cassette_size, &schema) {
            // Loaded as replay loads it, with every answer checked to be sendable: indexing and serving cannot
            // refuse it after that, so `check` keeps nothing and stops here (indexing 100k cost 0.45 s).
            Ok(findings) => findings,
            Err(
                err @ (yc_cassette::Error::Io { .. }
                | yc_cassette::Error::NotAFile { .. }
                | yc_cassette::Error::TooLarge { .. }),
            ) => {
                println!("{err}");
                outcome.unread += 1;
                continue;
            }
            Err(problem) => {
                println!("{problem}");
                outcome.problems += 1;
                match yc_cassette::read_text(file, args.max_cassette_size) {
                    Ok(text) => redactor.scan_text(&text),
                    Err(err) => {
                        println!("{err}");
                        Vec::new()
                    }
                }
            }
        };
        for finding in &findings {
            println!("{}", describe(&shown, finding));
        }
        outcome.problems += findings.len();
    }
    eprintln!(
        "checked {} cassettes: {} problems",
        files.len(),
        outcome.problems
    );
    Ok(outcome)
}

/// Checks and scans a journal beside `file`, if there is one; the number of problems found.
fn check_journal(
    file: &std::path::Path,
    max_size: u64,
    redactor: &Redactor,
    schema: &Arc<Schema>,
) -> usize {
    let path = yc_cassette::journal_path(file);
    if std::fs::symlink_metadata(&path).is_err() {
        return 0;
    }
    let journal = match Journal::read(&path, max_size, schema) {
        Ok(journal) => journal,
        Err(err) => {
            println!("{err}");
            return 1;
        }
    };
    let lines = journal.interactions.len();
    if let Ok(opened) = Cassette::open(file, max_size, schema)
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
    let findings = redactor.scan(&cassette);
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
            "{file}:{line}:{column}: secret ({}) not redacted in {}",
            finding.kind, finding.location
        ),
        _ => format!(
            "{file}: {}: secret ({}) not redacted",
            finding.location, finding.kind
        ),
    }
}
