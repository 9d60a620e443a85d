//! Options shared by the commands that run a server, `record` and `replay`: the size limits, redaction, the schema
//! and TLS.

use crate::redaction::RedactionArgs;
use crate::schema::SchemaArgs;
use crate::tls::TlsArgs;

#[derive(clap::Args)]
pub(crate) struct ServeArgs {
    /// Largest gRPC message, in bytes: replay refuses a larger request; record passes a call with a larger one
    /// through, unrecorded.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    pub(crate) max_message_size: usize,
    /// Largest cassette (or journal) read, in bytes (record reads one when appending or recovering).
    #[arg(long, default_value_t = yc_cassette::DEFAULT_MAX_CASSETTE_SIZE, value_name = "BYTES")]
    pub(crate) max_cassette_size: u64,
    #[command(flatten)]
    pub(crate) redaction: RedactionArgs,
    #[command(flatten)]
    pub(crate) schema: SchemaArgs,
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
}
