//! Finding and loading the cassettes named on the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use yc_cassette::{Cassette, Keep};
use yc_proto::Schema;

macro_rules! bundle {
    ($name:literal) => {
        ($name, include_str!(concat!("../../../cassettes/", $name)))
    };
}

/// The bundled example cassettes (`cassettes/` in the repository), compiled in, so that `yc-vcr replay` with no
/// arguments serves them from `cargo install` or a copied binary, whatever folder it runs in.
/// A test checks that this list names every file of the folder.
pub(crate) const BUNDLED: &[(&str, &str)] = &[
    bundle!("compute-create-poll.json"),
    bundle!("compute-get-not-found.json"),
    bundle!("compute-get.json"),
    bundle!("compute-update-then-get.json"),
    bundle!("registry-get-grpc.json"),
    bundle!("registry-get-rest.json"),
    bundle!("rest-error.json"),
];

/// The bundled cassettes, parsed for replay; each one's origin is `bundled:NAME`.
pub(crate) fn bundled(schema: &Schema) -> Result<Vec<(String, Cassette)>> {
    BUNDLED
        .iter()
        .map(|(name, text)| {
            let origin = format!("bundled:{name}");
            let cassette = Cassette::from_json_str_keeping(text, &origin, Keep::Replay, schema)?;
            Ok((origin, cassette))
        })
        .collect()
}

/// Every `*.json` file named or found below the named folders, sorted within each folder, in argument order.
pub(crate) fn files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        // A cassette killed before its first rewrite is only its journal so far.
        if !path.exists() && yc_cassette::journal_path(path).exists() {
            files.push(path.clone());
            continue;
        }
        let metadata =
            std::fs::metadata(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        if metadata.is_dir() {
            let before = files.len();
            collect(path, &mut files)?;
            files[before..].sort();
            if files.len() == before {
                bail!("no cassettes (*.json) in `{}`", path.display());
            }
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))?
    {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads every cassette for replay (each a regular file of at most `max_size` bytes, with a journal a crashed
/// recording left recovered and logged), or fails on the first that does not load (the error names file, line and
/// column). Responses are kept as the bytes replay sends ([`Keep::Replay`]).
pub(crate) fn load(
    files: &[PathBuf],
    max_size: u64,
    schema: &Schema,
) -> Result<Vec<(String, Cassette)>> {
    files
        .iter()
        .map(|path| {
            let opened = Cassette::open_keeping(path, max_size, Keep::Replay, schema)?;
            if let Some(recovery) = &opened.recovery {
                tracing::warn!(cassette = %path.display(), "{recovery}");
            }
            Ok((path.display().to_string(), opened.cassette))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_cassette_is_compiled_in_and_loads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .collect();
        on_disk.sort();
        let compiled: Vec<&str> = BUNDLED.iter().map(|(name, _)| *name).collect();
        assert_eq!(compiled, on_disk, "add the new cassette to `BUNDLED`");
        assert_eq!(bundled(&Schema::embedded()).unwrap().len(), on_disk.len());
    }
}
