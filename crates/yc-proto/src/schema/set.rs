//! Encoded `FileDescriptorSet`s taken apart and put together file by file, at the wire level: decoding them into
//! `prost_types` would drop every custom option (`google.api.http` is an extension, unknown to those types).

use prost::encoding::{decode_varint, encode_varint};

use crate::Error;

/// The files of an encoded set, in order: `(name, encoded FileDescriptorProto)`.
pub(crate) fn files(set: &[u8]) -> Result<Vec<(&str, &[u8])>, Error> {
    let mut out = Vec::new();
    for (field, bytes) in fields(set)? {
        if field == 1 {
            let name = fields(bytes)?
                .into_iter()
                .find(|(field, _)| *field == 1)
                .and_then(|(_, name)| std::str::from_utf8(name).ok())
                .ok_or_else(|| bad("a file without a name"))?;
            out.push((name, bytes));
        }
    }
    Ok(out)
}

/// An encoded set of `files`.
pub(crate) fn encode<'a>(files: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for file in files {
        out.push(0x0a); // field 1, length-delimited
        encode_varint(file.len() as u64, &mut out);
        out.extend_from_slice(file);
    }
    out
}

/// The length-delimited fields of a message, `(number, bytes)`; other wire types are skipped.
fn fields(mut buf: &[u8]) -> Result<Vec<(u64, &[u8])>, Error> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = decode_varint(&mut buf).map_err(|_| bad("a truncated key"))?;
        let skip = match key & 7 {
            0 => {
                decode_varint(&mut buf).map_err(|_| bad("a truncated varint"))?;
                0
            }
            1 => 8,
            5 => 4,
            2 => {
                let len = decode_varint(&mut buf).map_err(|_| bad("a truncated length"))?;
                let len = usize::try_from(len).map_err(|_| bad("a length past the end"))?;
                let value = buf.get(..len).ok_or_else(|| bad("a length past the end"))?;
                out.push((key >> 3, value));
                len
            }
            _ => return Err(bad("an unknown wire type")),
        };
        buf = buf.get(skip..).ok_or_else(|| bad("a field past the end"))?;
    }
    Ok(out)
}

fn bad(what: &str) -> Error {
    Error::Descriptors(format!("not a FileDescriptorSet: {what}"))
}
