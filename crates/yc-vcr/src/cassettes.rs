//! Finding and loading the cassettes named on the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use yc_cassette::Cassette;

/// Where the bundled cassettes are: `./cassettes` when run from a checkout, else the checkout this binary was built in.
pub(crate) fn bundled_dir() -> PathBuf {
    let here = PathBuf::from("cassettes");
    if here.is_dir() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../cassettes")
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

/// Loads every cassette (each a regular file of at most `max_size` bytes, with a journal a crashed recording left
/// recovered and logged), or fails on the first that does not load (the error names file, line and column).
pub(crate) fn load(files: &[PathBuf], max_size: u64) -> Result<Vec<(String, Cassette)>> {
    files
        .iter()
        .map(|path| {
            let opened = Cassette::open(path, max_size)?;
            if let Some(recovery) = &opened.recovery {
                tracing::warn!(cassette = %path.display(), "{recovery}");
            }
            Ok((path.display().to_string(), opened.cassette))
        })
        .collect()
}
