//! `yc-vcr convert`: one message between binary protobuf and JSON in either naming style, stdin to stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;

use crate::schema::SchemaArgs;
use yc_proto::json::{ParseOptions, Style};

/// Convert one message between binary protobuf and JSON (snake_case or camelCase), stdin to stdout
///
/// Examples:
///
///   yc-vcr convert --type yandex.cloud.compute.v1.Image --from json --to camel < image.json
///
///   yc-vcr convert --type yandex.cloud.operation.Operation --from binary --to snake < op.bin
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    /// Full message type name, e.g. `yandex.cloud.compute.v1.Image`.
    #[arg(long = "type", value_name = "NAME")]
    type_name: String,
    /// What stdin holds.
    #[arg(long, value_enum)]
    from: Input,
    /// What to write to stdout.
    #[arg(long, value_enum)]
    to: Output,
    /// Skip JSON fields the schema does not know instead of failing.
    #[arg(long)]
    ignore_unknown_fields: bool,
    /// Indent JSON output.
    #[arg(long)]
    pretty: bool,
    #[command(flatten)]
    schema: SchemaArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Input {
    /// Binary protobuf.
    Binary,
    /// JSON with either field name style.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Output {
    /// Binary protobuf.
    Binary,
    /// JSON with proto field names (`folder_id`), as the gRPC reference shows.
    Snake,
    /// JSON with json names (`folderId`), as the REST API sends.
    Camel,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode> {
    let schema = args.schema.schema()?;
    let Some(message_type) = schema.message(&args.type_name) else {
        bail!(
            "unknown message type `{}` (full names look like `yandex.cloud.compute.v1.Image`)",
            args.type_name
        );
    };
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading stdin")?;

    let bytes = match args.from {
        Input::Binary => input,
        Input::Json => {
            let text = std::str::from_utf8(&input).context("stdin is not UTF-8 JSON")?;
            let options = ParseOptions {
                ignore_unknown_fields: args.ignore_unknown_fields,
            };
            message_type.from_json(text, options)?
        }
    };

    let mut stdout = std::io::stdout().lock();
    match args.to {
        Output::Binary => {
            // Validate before writing, so that bad binary input fails instead of passing through.
            message_type.to_json(&bytes, Style::Snake)?;
            stdout.write_all(&bytes)?;
        }
        Output::Snake | Output::Camel => {
            let style = if matches!(args.to, Output::Snake) {
                Style::Snake
            } else {
                Style::Camel
            };
            let mut json = message_type.to_json(&bytes, style)?;
            if args.pretty {
                let value: serde_json::Value = serde_json::from_str(&json)?;
                json = serde_json::to_string_pretty(&value)?;
            }
            writeln!(stdout, "{json}")?;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
