//! The user's own API descriptions, read at startup: `.proto` trees compiled with protox (pure Rust, no `protoc`)
//! and encoded descriptor sets, merged over the embedded schema ([`yc_proto::Schema::with_descriptor_sets`]).
//!
//! This is the IO that `yc-proto` does not do: walking folders, reading files. Imports resolve against the given
//! folders first (as `protoc -I`), then the files of the embedded schema (so `google/api/annotations.proto` and
//! `yandex/cloud/...` need not be copied), then protobuf's well-known types.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use protox::file::{
    ChainFileResolver, DescriptorSetFileResolver, GoogleFileResolver, IncludeFileResolver,
};
use yc_proto::Schema;

/// Why the user's protos or descriptor sets do not make a schema.
#[derive(Debug, thiserror::Error)]
pub enum ProtosError {
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no `.proto` files under `{}`", .0.display())]
    Empty(PathBuf),
    #[error("compiling the protos under {folders}: {message}")]
    Compile { folders: String, message: String },
    #[error("descriptor set `{}`: {source}", path.display())]
    DescriptorSet {
        path: PathBuf,
        #[source]
        source: yc_proto::Error,
    },
    #[error("the protos under {folders}: {source}")]
    Schema {
        folders: String,
        #[source]
        source: yc_proto::Error,
    },
}

/// The embedded schema, plus every `.proto` file under each of `proto_paths` (compiled together, names relative
/// to their folder) and each encoded `FileDescriptorSet` in `descriptor_sets`. With neither, the embedded schema.
pub fn schema(
    proto_paths: &[PathBuf],
    descriptor_sets: &[PathBuf],
) -> Result<Arc<Schema>, ProtosError> {
    if proto_paths.is_empty() && descriptor_sets.is_empty() {
        return Ok(Schema::embedded());
    }
    let mut sets = Vec::new();
    if !proto_paths.is_empty() {
        sets.push(compile(proto_paths)?);
    }
    for path in descriptor_sets {
        let bytes = std::fs::read(path).map_err(|source| ProtosError::Read {
            path: path.clone(),
            source,
        })?;
        // Checked alone first, so that an error names the file.
        Schema::with_descriptor_sets([bytes.as_slice()]).map_err(|source| {
            ProtosError::DescriptorSet {
                path: path.clone(),
                source,
            }
        })?;
        sets.push(bytes);
    }
    let schema =
        Schema::with_descriptor_sets(sets.iter().map(Vec::as_slice)).map_err(|source| {
            ProtosError::Schema {
                folders: folders(proto_paths),
                source,
            }
        })?;
    Ok(Arc::new(schema))
}

/// Every `.proto` file under `proto_paths`, compiled into one encoded `FileDescriptorSet` with its imports.
pub fn compile(proto_paths: &[PathBuf]) -> Result<Vec<u8>, ProtosError> {
    let mut names = Vec::new();
    let mut resolver = ChainFileResolver::new();
    for root in proto_paths {
        let before = names.len();
        collect(root, root, &mut names)?;
        if names.len() == before {
            return Err(ProtosError::Empty(root.clone()));
        }
        resolver.add(IncludeFileResolver::new(root.clone()));
    }
    let compile_error = |message: String| ProtosError::Compile {
        folders: folders(proto_paths),
        message,
    };
    let embedded = DescriptorSetFileResolver::decode(yc_proto::DESCRIPTOR_SET)
        .map_err(|e| compile_error(e.to_string()))?;
    resolver.add(embedded);
    resolver.add(GoogleFileResolver::new());
    names.sort();
    names.dedup();
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true);
    compiler
        .open_files(&names)
        .map_err(|e| compile_error(e.to_string()))?;
    // The user's files and what they import, but not the embedded files an import found: those came through
    // `prost_types`, without their custom options, and the schema has them as they are.
    let embedded = Schema::embedded();
    let embedded = embedded.pool();
    let pool = compiler.descriptor_pool();
    let mut set = Vec::new();
    for file in compiler.files() {
        if file.path().is_none() && embedded.get_file_by_name(file.name()).is_some() {
            continue;
        }
        if let Some(descriptor) = pool.get_file_by_name(file.name()) {
            let bytes = descriptor.encode_to_vec();
            set.push(0x0a); // FileDescriptorSet.file, length-delimited
            prost::encoding::encode_varint(bytes.len() as u64, &mut set);
            set.extend_from_slice(&bytes);
        }
    }
    Ok(set)
}

/// `.proto` files below `dir`, as names relative to `root` with `/` separators.
fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ProtosError> {
    let read = |source| ProtosError::Read {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let path = entry.map_err(read)?.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto")
            && let Ok(relative) = path.strip_prefix(root)
        {
            let name: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(name.join("/"));
        }
    }
    Ok(())
}

fn folders(proto_paths: &[PathBuf]) -> String {
    proto_paths
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}
