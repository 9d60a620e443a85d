//! Writing: a decoded message walked in field-number order into the shared `Writer`.

use super::*;

pub(super) fn write_message(w: &mut Writer, message: &DynamicMessage) {
    let desc = message.descriptor();
    match well_known(&desc) {
        None => {
            w.begin_object();
            let mut first = true;
            write_members(w, message, &mut first);
            w.end_object();
        }
        Some(WellKnown::Timestamp) => {
            let (seconds, nanos) = seconds_nanos(message);
            w.message(&wkt::Timestamp { seconds, nanos });
        }
        Some(WellKnown::Duration) => {
            let (seconds, nanos) = seconds_nanos(message);
            w.message(&wkt::Duration { seconds, nanos });
        }
        Some(WellKnown::FieldMask) => {
            let paths = match message.get_field_by_number(1).as_deref() {
                Some(Value::List(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            };
            w.message(&wkt::FieldMask { paths });
        }
        Some(WellKnown::Empty) => w.message(&wkt::Empty {}),
        Some(WellKnown::Any) => write_any(w, message),
        Some(WellKnown::Struct) => write_struct(w, message),
        Some(WellKnown::Value) => write_struct_value(w, message),
        Some(WellKnown::ListValue) => write_list_value(w, message),
        Some(WellKnown::Wrapper) => match desc.get_field(1) {
            Some(field) => write_value(w, &field.kind(), &message.get_field(&field)),
            None => w.raw("null"),
        },
    }
}

/// The set fields of an ordinary message, in field-number order, as object members.
pub(super) fn write_members(w: &mut Writer, message: &DynamicMessage, first: &mut bool) {
    let style = w.style();
    for (field, value) in message.fields() {
        let name = match style {
            Style::Snake => field.name(),
            Style::Camel => field.json_name(),
        };
        // A descriptor's json_name may be anything, so it is escaped; an identifier comes out as `field` writes it.
        w.raw_key(first, name);
        write_field(w, &field, value);
    }
}

pub(super) fn write_field(w: &mut Writer, field: &FieldDescriptor, value: &Value) {
    match value {
        Value::List(items) => {
            let kind = field.kind();
            w.list(items, |w, v| write_value(w, &kind, v));
        }
        Value::Map(entries) => {
            let value_kind = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other,
            };
            write_sorted_map(w, entries, |w, v| write_value(w, &value_kind, v));
        }
        single => write_value(w, &field.kind(), single),
    }
}

pub(super) fn write_map_key(w: &mut Writer, key: &MapKey) {
    match key {
        MapKey::Bool(v) => v.write_key(w),
        MapKey::I32(v) => v.write_key(w),
        MapKey::I64(v) => v.write_key(w),
        MapKey::U32(v) => v.write_key(w),
        MapKey::U64(v) => v.write_key(w),
        MapKey::String(v) => v.write_key(w),
    }
}

/// One value of a singular field, a list element or a map value.
pub(super) fn write_value(w: &mut Writer, kind: &Kind, value: &Value) {
    match value {
        Value::Bool(v) => w.bool(*v),
        Value::I32(v) => w.int(*v),
        Value::U32(v) => w.int(*v),
        Value::I64(v) => w.quoted_int(*v),
        Value::U64(v) => w.quoted_int(*v),
        Value::F32(v) => w.f32(*v),
        Value::F64(v) => w.f64(*v),
        Value::String(v) => w.string(v),
        Value::Bytes(v) => w.bytes(v),
        Value::EnumNumber(number) => match kind {
            Kind::Enum(e) if e.full_name() == "google.protobuf.NullValue" => w.raw("null"),
            Kind::Enum(e) => w.enum_value(e.get_value(*number).as_ref().map(|v| v.name()), *number),
            _ => w.int(*number),
        },
        Value::Message(m) => write_message(w, m),
        // A list or map nested in a list cannot be expressed in protobuf; written as JSON would have them.
        Value::List(items) => w.list(items, |w, v| write_value(w, kind, v)),
        Value::Map(_) => w.raw("{}"),
    }
}

pub(super) fn seconds_nanos(message: &DynamicMessage) -> (i64, i32) {
    let seconds = message
        .get_field_by_number(1)
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    let nanos = message
        .get_field_by_number(2)
        .and_then(|v| v.as_i32())
        .unwrap_or(0);
    (seconds, nanos)
}

/// `{"@type": url, ...payload}`, as `wkt::Any` writes it, with the payload type from the message's own pool.
pub(super) fn write_any(w: &mut Writer, any: &DynamicMessage) {
    let url = any.get_field_by_number(1);
    let url = url.as_deref().and_then(Value::as_str).unwrap_or("");
    let payload = any.get_field_by_number(2);
    let payload = payload
        .as_deref()
        .and_then(Value::as_bytes)
        .map_or(&[][..], |b| &b[..]);
    let pool = any.descriptor().parent_pool().clone();
    any_envelope(
        w,
        &pool,
        url,
        payload.is_empty(),
        |w, desc, first| match DynamicMessage::decode(desc.clone(), payload) {
            Ok(inner) if is_any_value_form(desc) => {
                w.raw_key(first, "value");
                write_message(w, &inner);
            }
            Ok(inner) => write_members(w, &inner, first),
            Err(e) => w.fail(Error::decode(desc.full_name(), e)),
        },
    );
}

/// The object an `Any` is written as: `"@type"` (unless the `Any` is empty), then what `payload` writes of the
/// type the URL names in `pool`, given the object's `first` flag; an unknown type is an error in the writer. What
/// `payload` returns, if it ran.
pub(super) fn any_envelope<T>(
    w: &mut Writer,
    pool: &prost_reflect::DescriptorPool,
    url: &str,
    payload_is_empty: bool,
    payload: impl FnOnce(&mut Writer, &MessageDescriptor, &mut bool) -> T,
) -> Option<T> {
    w.begin_object();
    let mut first = true;
    let mut written = None;
    if !url.is_empty() || !payload_is_empty {
        w.raw_key(&mut first, "@type");
        w.string(url);
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        match pool.get_message_by_name(name) {
            Some(desc) => {
                if w.enter_any() {
                    written = Some(payload(w, &desc, &mut first));
                    w.leave_any();
                }
            }
            None => w.fail(Error::json(
                "google.protobuf.Any",
                format_args!("unknown type `{url}`"),
            )),
        }
    }
    w.end_object();
    written
}

/// A map field as a JSON object, keys sorted as the generated `BTreeMap`s sort them, each value written by `value`.
fn write_sorted_map(
    w: &mut Writer,
    entries: &std::collections::HashMap<MapKey, Value>,
    mut value: impl FnMut(&mut Writer, &Value),
) {
    let mut sorted: Vec<(&MapKey, &Value)> = entries.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    w.begin_object();
    let mut first = true;
    for (key, v) in sorted {
        w.comma(&mut first);
        write_map_key(w, key);
        w.raw(":");
        value(w, v);
    }
    w.end_object();
}

/// `Struct`: its `fields` map as a JSON object, keys sorted.
pub(super) fn write_struct(w: &mut Writer, message: &DynamicMessage) {
    match message.get_field_by_number(1).as_deref() {
        Some(Value::Map(entries)) if !entries.is_empty() => {
            write_sorted_map(w, entries, |w, value| match value {
                Value::Message(v) => write_struct_value(w, v),
                _ => w.raw("null"),
            });
        }
        _ => w.raw("{}"),
    }
}

/// `Value`: whichever JSON value its `kind` holds; unset is `null`, as the reference writes it.
pub(super) fn write_struct_value(w: &mut Writer, message: &DynamicMessage) {
    let Some((field, value)) = message.fields().next() else {
        w.raw("null");
        return;
    };
    match value {
        Value::F64(v) if !v.is_finite() => {
            // The reference refuses: it would read back as a string.
            w.fail(Error::json(
                "google.protobuf.Value",
                format_args!("`number_value` {v} has no JSON number form"),
            ));
            w.raw("null");
        }
        Value::Message(m) if field.number() == 5 => write_struct(w, m),
        Value::Message(m) if field.number() == 6 => write_list_value(w, m),
        other => write_value(w, &field.kind(), other),
    }
}

/// `ListValue`: its `values` as a JSON array.
pub(super) fn write_list_value(w: &mut Writer, message: &DynamicMessage) {
    match message.get_field_by_number(1).as_deref() {
        Some(Value::List(items)) => w.list(items, |w, item| match item {
            Value::Message(v) => write_struct_value(w, v),
            _ => w.raw("null"),
        }),
        _ => w.raw("[]"),
    }
}
