//! Schema options shared by `record`, `replay`, `check` and `convert`: the user's own protos or descriptor sets,
//! merged over the embedded schema, so messages of any service are typed JSON, transcoded and reflected.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use yc_proto::Schema;

#[derive(clap::Args)]
#[command(next_help_heading = "Schema (added to the built-in Yandex Cloud protos)")]
pub(crate) struct SchemaArgs {
    /// A folder of `.proto` files, compiled at startup (every file under it; imports resolve as with
    /// `protoc -I`); repeatable.
    #[arg(long = "proto-path", value_name = "DIR")]
    proto_paths: Vec<PathBuf>,
    /// An encoded FileDescriptorSet (`protoc --descriptor_set_out`, `buf build -o`); repeatable.
    #[arg(long = "descriptor-set", value_name = "FILE")]
    descriptor_sets: Vec<PathBuf>,
}

impl SchemaArgs {
    pub(crate) fn schema(&self) -> Result<Arc<Schema>> {
        let started = std::time::Instant::now();
        let schema = yc_vcr::protos::schema(&self.proto_paths, &self.descriptor_sets)?;
        if !self.proto_paths.is_empty() || !self.descriptor_sets.is_empty() {
            tracing::info!(
                files = schema.pool().files().len(),
                methods = schema.methods().len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "schema loaded"
            );
        }
        Ok(schema)
    }
}
