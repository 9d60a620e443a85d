//! Encoding, as prost encodes.

use super::*;

pub(super) const SKIP_DEFAULT: bool = true;
pub(super) const KEEP_DEFAULT: bool = false;

pub(super) fn encode_seconds_nanos(out: &mut Vec<u8>, seconds: i64, nanos: i32) {
    encode_value(out, 1, &Kind::Int64, &Parsed::I64(seconds), SKIP_DEFAULT);
    encode_value(out, 2, &Kind::Int32, &Parsed::I32(nanos), SKIP_DEFAULT);
}

/// One record of field `number`: its key and value, or nothing for a default when `skip_default`.
pub(super) fn encode_value(
    out: &mut Vec<u8>,
    number: u32,
    kind: &Kind,
    value: &Parsed,
    skip_default: bool,
) {
    if skip_default && value.is_default() {
        return;
    }
    match value {
        Parsed::Str(v) => encode_len(out, number, v.as_bytes()),
        Parsed::Bytes(v) | Parsed::Message(v) => encode_len(out, number, v),
        _ => {
            encode_varint(out, u64::from(number) << 3 | u64::from(wire_type(kind)));
            encode_payload(out, kind, value);
        }
    }
}

/// The value without a key: a packed element, or the payload after a key.
pub(super) fn encode_payload(out: &mut Vec<u8>, kind: &Kind, value: &Parsed) {
    match (value, kind) {
        (Parsed::Bool(v), _) => out.push(u8::from(*v)),
        (Parsed::I32(v), Kind::Sint32) => {
            encode_varint(out, u64::from(((v << 1) ^ (v >> 31)) as u32))
        }
        (Parsed::I32(v), Kind::Sfixed32) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::I32(v) | Parsed::Enum(v), _) => encode_varint(out, i64::from(*v) as u64),
        (Parsed::I64(v), Kind::Sint64) => encode_varint(out, ((v << 1) ^ (v >> 63)) as u64),
        (Parsed::I64(v), Kind::Sfixed64) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::I64(v), _) => encode_varint(out, *v as u64),
        (Parsed::U32(v), Kind::Fixed32) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::U32(v), _) => encode_varint(out, u64::from(*v)),
        (Parsed::U64(v), Kind::Fixed64) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::U64(v), _) => encode_varint(out, *v),
        (Parsed::F32(v), _) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::F64(v), _) => out.extend_from_slice(&v.to_le_bytes()),
        (Parsed::Str(v), _) => encode_bytes(out, v.as_bytes()),
        (Parsed::Bytes(v) | Parsed::Message(v), _) => encode_bytes(out, v),
    }
}

pub(super) fn wire_type(kind: &Kind) -> u8 {
    match kind {
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => 1,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => 5,
        _ => 0,
    }
}

/// A length-delimited record of field `number`.
pub(super) fn encode_len(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    encode_varint(out, u64::from(number) << 3 | 2);
    encode_bytes(out, bytes);
}

pub(super) fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    encode_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

pub(super) fn encode_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}
