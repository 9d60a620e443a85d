//! Redaction options shared by `record` (what to remove before writing) and `replay`
//! (the same rules applied to incoming requests, so that they match their recordings).

use std::path::PathBuf;

use anyhow::{Context, Result};
use yc_cassette::RedactionRules;

#[derive(clap::Args)]
#[command(next_help_heading = "Redaction (added to the built-in rules)")]
pub(crate) struct RedactionArgs {
    /// A header or metadata name whose value is secret; repeatable.
    #[arg(long = "redact-header", value_name = "NAME")]
    headers: Vec<String>,
    /// A message or JSON field (`api_secret`, any depth) or dotted path (`spec.credentials.value`); repeatable.
    #[arg(long = "redact-field", value_name = "FIELD")]
    fields: Vec<String>,
    /// A regular expression whose match (or first capture group) is secret; repeatable.
    #[arg(long = "redact-pattern", value_name = "REGEX")]
    patterns: Vec<String>,
    /// A JSON file: `{"headers": [...], "fields": [...], "patterns": [...]}`.
    #[arg(long = "redaction-config", value_name = "FILE")]
    config: Option<PathBuf>,
}

impl RedactionArgs {
    /// The rules from the config file, if any, plus those given on the command line.
    pub(crate) fn rules(&self) -> Result<RedactionRules> {
        let mut rules = match &self.config {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| {
                    format!("cannot read the redaction config `{}`", path.display())
                })?;
                serde_json::from_str(&text)
                    .with_context(|| format!("invalid redaction config `{}`", path.display()))?
            }
            None => RedactionRules::default(),
        };
        rules.headers.extend(self.headers.iter().cloned());
        rules.fields.extend(self.fields.iter().cloned());
        rules.patterns.extend(self.patterns.iter().cloned());
        Ok(rules)
    }
}
