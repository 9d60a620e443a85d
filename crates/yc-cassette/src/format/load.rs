//! Loading a cassette file so that its text and its parsed interactions are never in memory together: the text is
//! read once for its layout (where each interaction lies), dropped, and then read again batch by batch, each batch
//! parsed (on several threads) and dropped before the next. At 100k interactions that is the difference between
//! 2.2 and 1.4 times the file size at peak; reading the file twice costs about 50 ms (it is in the page cache).
//!
//! Any failure falls back to [`Cassette::from_json_str_inspecting`] over the whole text, which says exactly where
//! the file goes wrong; so does a file that changed between the two reads.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;

use yc_proto::Schema;

use super::{FORMAT_VERSION, Keep, Layout, offset_in, parse_interactions};
use crate::Error;
use crate::model::{Cassette, Interaction};
use crate::store::{open_regular, read_all, read_error, read_text};

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
    let text = read_all(&mut file, path, max_size)?;
    let Ok(layout) = serde_json::from_str::<Layout<'_>>(&text) else {
        return whole(&text);
    };
    if layout.version != FORMAT_VERSION {
        return whole(&text);
    }
    let spans: Vec<(usize, usize)> = layout
        .interactions
        .iter()
        .map(|raw| (offset_in(&text, raw), raw.get().len()))
        .collect();
    let mut cassette = Cassette {
        version: layout.version,
        meta: layout.meta,
        matching: layout.matching,
        interactions: Vec::with_capacity(spans.len()),
    };
    drop(text);
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
