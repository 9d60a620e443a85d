//! The dynamic writer's fast path: JSON straight from the protobuf wire format, with no `DynamicMessage` built.
//!
//! It handles the encoding every protobuf encoder produces (fields in field-number order, each singular field once,
//! one member per oneof, a repeated field's records together) and gives up, with [`Fallback`], on anything else:
//! a field out of order or given twice (merge and last-one-wins semantics), a wire type that does not match the
//! field, invalid UTF-8, a group, truncated bytes, nesting past prost's limit, or a well-known type it does not
//! write (wrappers, `Struct`, `Value`, `ListValue`). The caller then writes the message through a
//! `DynamicMessage`, whose decoding decides what those bytes mean or why they are invalid, so the output never
//! depends on which path ran.

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use super::{WellKnown, is_any_value_form, well_known};
use crate::json::{MapKey as _, Style, Writer};
use crate::wkt;

/// The bytes are not in the form the fast path handles; write them the general way.
#[derive(Debug)]
pub(super) struct Fallback;

type Fast<T> = Result<T, Fallback>;

/// prost's nesting limit for decoding, past which the general path reports the error.
const MAX_DEPTH: u32 = 100;

/// Writes the message of type `desc` encoded in `bytes`.
pub(super) fn message(
    w: &mut Writer,
    desc: &MessageDescriptor,
    bytes: &[u8],
    depth: u32,
) -> Fast<()> {
    if depth > MAX_DEPTH {
        return Err(Fallback);
    }
    match well_known(desc) {
        None => {
            w.begin_object();
            let mut first = true;
            members(w, desc, bytes, &mut first, depth)?;
            w.end_object();
        }
        Some(WellKnown::Timestamp) => {
            let (seconds, nanos) = seconds_nanos(bytes)?;
            w.message(&wkt::Timestamp { seconds, nanos });
        }
        Some(WellKnown::Duration) => {
            let (seconds, nanos) = seconds_nanos(bytes)?;
            w.message(&wkt::Duration { seconds, nanos });
        }
        Some(WellKnown::FieldMask) => {
            let mut paths = Vec::new();
            let mut buf = bytes;
            while !buf.is_empty() {
                let (number, wire_type) = key(&mut buf)?;
                if number == 1 && wire_type == LEN {
                    paths.push(utf8(len_delimited(&mut buf)?)?.to_owned());
                } else {
                    skip(&mut buf, wire_type)?;
                }
            }
            w.message(&wkt::FieldMask { paths });
        }
        Some(WellKnown::Empty) => {
            let mut buf = bytes;
            while !buf.is_empty() {
                let (_, wire_type) = key(&mut buf)?;
                skip(&mut buf, wire_type)?;
            }
            w.message(&wkt::Empty {});
        }
        Some(WellKnown::Any) => any(w, desc, bytes)?,
        Some(_) => return Err(Fallback),
    }
    Ok(())
}

/// The fields of an ordinary message as object members, in field-number order, defaults of implicit-presence
/// fields omitted, as the generated writers write them.
fn members(
    w: &mut Writer,
    desc: &MessageDescriptor,
    bytes: &[u8],
    first: &mut bool,
    depth: u32,
) -> Fast<()> {
    let mut buf = bytes;
    let mut last = 0u32;
    // The repeated or map field whose records are being read, and what has been gathered of it.
    let mut group: Option<Group<'_>> = None;
    let mut oneofs: Vec<prost_reflect::OneofDescriptor> = Vec::new();
    while !buf.is_empty() {
        let (number, wire_type) = key(&mut buf)?;
        let Some(field) = desc.get_field(number) else {
            skip(&mut buf, wire_type)?;
            continue;
        };
        let repeated = field.is_list() || field.is_map();
        if number < last || (number == last && !repeated) {
            return Err(Fallback);
        }
        if number != last
            && let Some(done) = group.take()
        {
            done.finish(w, first, depth)?;
        }
        last = number;
        if repeated {
            let group = group.get_or_insert_with(|| Group::new(field.clone()));
            if field.is_map() {
                if wire_type != LEN {
                    return Err(Fallback);
                }
                group.entries.push(len_delimited(&mut buf)?);
            } else if wire_type == LEN && packable(&group.kind) {
                let mut packed = len_delimited(&mut buf)?;
                while !packed.is_empty() {
                    let item = scalar(&group.kind, natural_wire_type(&group.kind), &mut packed)?;
                    group.push(w, first, item, depth)?;
                }
            } else {
                let item = scalar(&group.kind, wire_type, &mut buf)?;
                group.push(w, first, item, depth)?;
            }
            continue;
        }
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            if oneofs.contains(&oneof) {
                return Err(Fallback);
            }
            oneofs.push(oneof);
        }
        let kind = field.kind();
        let item = scalar(&kind, wire_type, &mut buf)?;
        if field.supports_presence() || !item.is_default() {
            key_of(w, first, &field);
            item.write(w, &kind, depth)?;
        }
    }
    if let Some(done) = group {
        done.finish(w, first, depth)?;
    }
    Ok(())
}

/// A repeated field's elements (written as they come) or a map field's entries (written sorted, at the end).
struct Group<'a> {
    field: FieldDescriptor,
    kind: Kind,
    open: bool,
    entries: Vec<&'a [u8]>,
}

impl<'a> Group<'a> {
    fn new(field: FieldDescriptor) -> Group<'a> {
        Group {
            kind: field.kind(),
            field,
            open: false,
            entries: Vec::new(),
        }
    }

    fn push(&mut self, w: &mut Writer, first: &mut bool, item: Item<'_>, depth: u32) -> Fast<()> {
        if self.open {
            w.raw(",");
        } else {
            key_of(w, first, &self.field);
            w.raw("[");
            self.open = true;
        }
        item.write(w, &self.kind, depth)
    }

    fn finish(self, w: &mut Writer, first: &mut bool, depth: u32) -> Fast<()> {
        if self.open {
            w.raw("]");
            return Ok(());
        }
        if self.entries.is_empty() {
            return Ok(());
        }
        let Kind::Message(entry) = &self.kind else {
            return Err(Fallback);
        };
        let key_kind = entry.map_entry_key_field().kind();
        let value_kind = entry.map_entry_value_field().kind();
        let mut entries = Vec::with_capacity(self.entries.len());
        for bytes in &self.entries {
            entries.push(map_entry(bytes, &key_kind, &value_kind)?);
        }
        // Sorted by key as the generated `BTreeMap`s are; of equal keys the last one wins, as on insert.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        key_of(w, first, &self.field);
        w.begin_object();
        let mut first_entry = true;
        for (i, (key, value)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            w.comma(&mut first_entry);
            key.write(w);
            w.raw(":");
            value.write(w, &value_kind, depth)?;
        }
        w.end_object();
        Ok(())
    }
}

/// A map entry's key and value; a missing one is its type's default.
fn map_entry<'a>(bytes: &'a [u8], key_kind: &Kind, value_kind: &Kind) -> Fast<(Key<'a>, Item<'a>)> {
    let mut key_item = None;
    let mut value = None;
    let mut buf = bytes;
    while !buf.is_empty() {
        let (number, wire_type) = key(&mut buf)?;
        match number {
            1 => key_item = Some(scalar(key_kind, wire_type, &mut buf)?),
            2 => value = Some(scalar(value_kind, wire_type, &mut buf)?),
            _ => skip(&mut buf, wire_type)?,
        }
    }
    let key_item = match key_item {
        Some(item) => item,
        None => Item::default_of(key_kind)?,
    };
    let value = match value {
        Some(item) => item,
        None => Item::default_of(value_kind)?,
    };
    let key = match key_item {
        Item::Str(s) => Key::Str(s),
        Item::Bool(b) => Key::Bool(b),
        Item::I32(v) => Key::I64(i64::from(v)),
        Item::I64(v) => Key::I64(v),
        Item::U32(v) => Key::U64(u64::from(v)),
        Item::U64(v) => Key::U64(v),
        _ => return Err(Fallback),
    };
    Ok((key, value))
}

/// A map key, ordered as the generated maps' key types order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Bool(bool),
    I64(i64),
    U64(u64),
    Str(&'a str),
}

impl Key<'_> {
    fn write(&self, w: &mut Writer) {
        match self {
            Key::Bool(v) => v.write_key(w),
            Key::I64(v) => v.write_key(w),
            Key::U64(v) => v.write_key(w),
            Key::Str(v) => w.string(v),
        }
    }
}

/// One decoded value, borrowing from the bytes.
type Item<'a> = super::Scalar<&'a str, &'a [u8]>;

impl Item<'_> {
    fn default_of(kind: &Kind) -> Fast<Item<'static>> {
        Ok(match kind {
            Kind::String => Item::Str(""),
            Kind::Bytes => Item::Bytes(&[]),
            Kind::Message(_) => Item::Message(&[]),
            Kind::Bool => Item::Bool(false),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Item::I32(0),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Item::I64(0),
            Kind::Uint32 | Kind::Fixed32 => Item::U32(0),
            Kind::Uint64 | Kind::Fixed64 => Item::U64(0),
            Kind::Float => Item::F32(0.0),
            Kind::Double => Item::F64(0.0),
            Kind::Enum(_) => Item::Enum(0),
        })
    }

    /// Whether an implicit-presence field with this value is left out, as the generated writers test it.
    fn is_default(&self) -> bool {
        match *self {
            Item::Bool(v) => !v,
            Item::I32(v) | Item::Enum(v) => v == 0,
            Item::I64(v) => v == 0,
            Item::U32(v) => v == 0,
            Item::U64(v) => v == 0,
            Item::F32(v) => v == 0.0,
            Item::F64(v) => v == 0.0,
            Item::Str(v) => v.is_empty(),
            Item::Bytes(v) => v.is_empty(),
            // Message fields always have presence; never asked.
            Item::Message(_) => false,
        }
    }

    fn write(&self, w: &mut Writer, kind: &Kind, depth: u32) -> Fast<()> {
        match *self {
            Item::Bool(v) => w.bool(v),
            Item::I32(v) => w.int(v),
            Item::U32(v) => w.int(v),
            Item::I64(v) => w.quoted_int(v),
            Item::U64(v) => w.quoted_int(v),
            Item::F32(v) => w.f32(v),
            Item::F64(v) => w.f64(v),
            Item::Str(v) => w.string(v),
            Item::Bytes(v) => w.bytes(v),
            Item::Enum(number) => match kind {
                // The reference writes `NullValue` as `null`; the general path does it.
                Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => {
                    return Err(Fallback);
                }
                Kind::Enum(e) => {
                    w.enum_value(e.get_value(number).as_ref().map(|v| v.name()), number)
                }
                _ => return Err(Fallback),
            },
            Item::Message(bytes) => match kind {
                Kind::Message(m) => message(w, m, bytes, depth + 1)?,
                _ => return Err(Fallback),
            },
        }
        Ok(())
    }
}

/// `{"@type": url, ...payload}`, as `wkt::Any` writes it, the payload type from the descriptor's pool; decoded
/// anew (prost's nesting count starts again), as the generated path decodes it.
fn any(w: &mut Writer, desc: &MessageDescriptor, bytes: &[u8]) -> Fast<()> {
    let mut url = "";
    let mut payload: &[u8] = &[];
    let mut buf = bytes;
    while !buf.is_empty() {
        let (number, wire_type) = key(&mut buf)?;
        match (number, wire_type) {
            (1, LEN) => url = utf8(len_delimited(&mut buf)?)?,
            (2, LEN) => payload = len_delimited(&mut buf)?,
            (1 | 2, _) => return Err(Fallback),
            _ => skip(&mut buf, wire_type)?,
        }
    }
    super::any_envelope(
        w,
        desc.parent_pool(),
        url,
        payload.is_empty(),
        |w, inner, first| {
            if is_any_value_form(inner) {
                w.raw_key(first, "value");
                message(w, inner, payload, 0)
            } else {
                members(w, inner, payload, first, 0)
            }
        },
    )
    .unwrap_or(Ok(()))
}

fn key_of(w: &mut Writer, first: &mut bool, field: &FieldDescriptor) {
    let name = match w.style() {
        Style::Snake => field.name(),
        Style::Camel => field.json_name(),
    };
    w.raw_key(first, name);
}

/// `Timestamp` and `Duration`: `seconds` (1) and `nanos` (2), the last of each winning, as prost merges them.
fn seconds_nanos(bytes: &[u8]) -> Fast<(i64, i32)> {
    let (mut seconds, mut nanos) = (0i64, 0i32);
    let mut buf = bytes;
    while !buf.is_empty() {
        let (number, wire_type) = key(&mut buf)?;
        match (number, wire_type) {
            (1, VARINT) => seconds = varint(&mut buf)? as i64,
            (2, VARINT) => nanos = varint(&mut buf)? as i32,
            (1 | 2, _) => return Err(Fallback),
            _ => skip(&mut buf, wire_type)?,
        }
    }
    Ok((seconds, nanos))
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn natural_wire_type(kind: &Kind) -> u8 {
    match kind {
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => FIXED64,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => FIXED32,
        Kind::String | Kind::Bytes | Kind::Message(_) => LEN,
        _ => VARINT,
    }
}

fn packable(kind: &Kind) -> bool {
    !matches!(kind, Kind::String | Kind::Bytes | Kind::Message(_))
}

/// One value of `kind`, read as prost reads it; a wire type that does not match is left to the general path.
fn scalar<'a>(kind: &Kind, wire_type: u8, buf: &mut &'a [u8]) -> Fast<Item<'a>> {
    if wire_type != natural_wire_type(kind) {
        return Err(Fallback);
    }
    Ok(match kind {
        Kind::Bool => Item::Bool(varint(buf)? != 0),
        Kind::Int32 => Item::I32(varint(buf)? as i32),
        Kind::Int64 => Item::I64(varint(buf)? as i64),
        Kind::Uint32 => Item::U32(varint(buf)? as u32),
        Kind::Uint64 => Item::U64(varint(buf)?),
        Kind::Sint32 => {
            let v = varint(buf)? as u32;
            Item::I32(((v >> 1) as i32) ^ -((v & 1) as i32))
        }
        Kind::Sint64 => {
            let v = varint(buf)?;
            Item::I64(((v >> 1) as i64) ^ -((v & 1) as i64))
        }
        Kind::Enum(_) => Item::Enum(varint(buf)? as i32),
        Kind::Fixed32 => Item::U32(u32::from_le_bytes(take(buf)?)),
        Kind::Sfixed32 => Item::I32(i32::from_le_bytes(take(buf)?)),
        Kind::Float => Item::F32(f32::from_le_bytes(take(buf)?)),
        Kind::Fixed64 => Item::U64(u64::from_le_bytes(take(buf)?)),
        Kind::Sfixed64 => Item::I64(i64::from_le_bytes(take(buf)?)),
        Kind::Double => Item::F64(f64::from_le_bytes(take(buf)?)),
        Kind::String => Item::Str(utf8(len_delimited(buf)?)?),
        Kind::Bytes => Item::Bytes(len_delimited(buf)?),
        Kind::Message(_) => Item::Message(len_delimited(buf)?),
    })
}

fn key(buf: &mut &[u8]) -> Fast<(u32, u8)> {
    let key = varint(buf)?;
    let number = u32::try_from(key >> 3).map_err(|_| Fallback)?;
    if number == 0 {
        return Err(Fallback);
    }
    Ok((number, (key & 7) as u8))
}

fn varint(buf: &mut &[u8]) -> Fast<u64> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().enumerate().take(10) {
        if i == 9 && byte > 1 {
            return Err(Fallback);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            *buf = &buf[i + 1..];
            return Ok(value);
        }
    }
    Err(Fallback)
}

fn take<const N: usize>(buf: &mut &[u8]) -> Fast<[u8; N]> {
    let (head, rest) = buf.split_first_chunk::<N>().ok_or(Fallback)?;
    *buf = rest;
    Ok(*head)
}

fn len_delimited<'a>(buf: &mut &'a [u8]) -> Fast<&'a [u8]> {
    let len = usize::try_from(varint(buf)?).map_err(|_| Fallback)?;
    if len > buf.len() {
        return Err(Fallback);
    }
    let (head, rest) = buf.split_at(len);
    *buf = rest;
    Ok(head)
}

fn utf8(bytes: &[u8]) -> Fast<&str> {
    std::str::from_utf8(bytes).map_err(|_| Fallback)
}

/// Skips a field the descriptor does not know; groups are left to the general path.
fn skip(buf: &mut &[u8], wire_type: u8) -> Fast<()> {
    match wire_type {
        VARINT => varint(buf).map(drop),
        FIXED64 => take::<8>(buf).map(drop),
        LEN => len_delimited(buf).map(drop),
        FIXED32 => take::<4>(buf).map(drop),
        _ => Err(Fallback),
    }
}
