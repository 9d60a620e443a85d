//! Parsing: a descriptor-driven `serde` walk that encodes as it reads.
//!
//! JSON is encoded straight to bytes, laid out as prost lays out the generated types (fields by tag, a oneof at its
//! lowest tag, repeated scalars packed as the descriptor says, map entries sorted by key with default keys and values
//! left out, implicit-presence defaults left out), so both paths give the same bytes for the same JSON: a cassette's
//! "does the JSON encode back to the recorded bytes" check answers the same either way.

use super::*;

/// A message of type `desc`, from a JSON object (or a well-known type's own form), as its encoded bytes.
#[derive(Clone, Copy)]
pub(super) struct MessageSeed<'a> {
    pub(super) desc: &'a MessageDescriptor,
    pub(super) options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        let Some(kind) = well_known(self.desc) else {
            // `deserialize_struct`, as pbjson calls it, so that a wrong JSON type fails at the same position.
            return d.deserialize_struct("", &[], MessageVisitor(self));
        };
        let mut out = Vec::new();
        match kind {
            WellKnown::Timestamp => {
                let t = wkt::Timestamp::deserialize(d)?;
                encode_seconds_nanos(&mut out, t.seconds, t.nanos);
            }
            WellKnown::Duration => {
                let t = wkt::Duration::deserialize(d)?;
                encode_seconds_nanos(&mut out, t.seconds, t.nanos);
            }
            WellKnown::FieldMask => {
                for path in wkt::FieldMask::deserialize(d)?.paths {
                    encode_len(&mut out, 1, path.as_bytes());
                }
            }
            WellKnown::Empty => {
                wkt::Empty::deserialize(d)?;
            }
            WellKnown::Any => return AnySeed(self).deserialize(d),
            WellKnown::Struct => return d.deserialize_map(StructVisitor),
            WellKnown::Value => return d.deserialize_any(StructValueVisitor),
            WellKnown::ListValue => return d.deserialize_seq(ListValueVisitor),
            WellKnown::Wrapper => {
                let field = self.desc.get_field(1).ok_or_else(|| {
                    de::Error::custom(format_args!("`{}` has no field 1", self.desc.full_name()))
                })?;
                let kind = field.kind();
                let value = SingleSeed {
                    kind: &kind,
                    options: self.options,
                }
                .deserialize(d)?;
                encode_value(&mut out, 1, &kind, &value, SKIP_DEFAULT);
            }
        }
        Ok(out)
    }
}

pub(super) struct MessageVisitor<'a>(MessageSeed<'a>);

impl<'de> Visitor<'de> for MessageVisitor<'_> {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", self.0.desc.full_name())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut out = Vec::new();
        // Each field's records, by where prost puts the field; sorted at the end if the input had another order.
        let mut spans: Vec<(u32, usize, usize)> = Vec::new();
        // Field numbers given a value so far: a key twice (even in both spellings) is an error, as is a second
        // member of one oneof. `null` gives no value, as pbjson sees it after the pre-pass removed it.
        let mut seen: Vec<u32> = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed { desc, options })? {
            let Some(field) = key else {
                map.next_value::<de::IgnoredAny>()?;
                continue;
            };
            let oneof = field.containing_oneof().filter(|o| !o.is_synthetic());
            let clash = seen.contains(&field.number())
                || oneof.as_ref().is_some_and(|oneof| {
                    oneof.fields().any(|other| {
                        other.number() != field.number() && seen.contains(&other.number())
                    })
                });
            if clash {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    field.json_name()
                )));
            }
            let start = out.len();
            let present = map
                .next_value_seed(FieldSeed {
                    field: &field,
                    options,
                    out: &mut out,
                })
                .map_err(|e| at_field(field.name(), e))?;
            if present {
                seen.push(field.number());
            }
            if out.len() > start {
                // prost-derive orders fields by their lowest tag; a oneof's is its members' lowest.
                let order = oneof
                    .and_then(|o| o.fields().map(|f| f.number()).min())
                    .unwrap_or(field.number());
                spans.push((order, start, out.len()));
            }
        }
        if spans.windows(2).all(|pair| pair[0].0 <= pair[1].0) {
            return Ok(out);
        }
        spans.sort_by_key(|span| span.0);
        let mut sorted = Vec::with_capacity(out.len());
        for (_, start, end) in spans {
            sorted.extend_from_slice(&out[start..end]);
        }
        Ok(sorted)
    }
}

/// A key of a message object: the field it names by either spelling, `None` for an unknown key to skip, or the
/// error pbjson gives for an unknown key.
pub(super) struct KeySeed<'a> {
    desc: &'a MessageDescriptor,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<FieldDescriptor>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<FieldDescriptor>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a field name of {}", self.desc.full_name())
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        let field = self
            .desc
            .get_field_by_json_name(key)
            .or_else(|| self.desc.get_field_by_name(key));
        match field {
            Some(field) => Ok(Some(field)),
            None if self.options.ignore_unknown_fields => Ok(None),
            None => Err(unknown_field(key, self.desc)),
        }
    }
}

/// serde's ``unknown field `x`, expected one of ...``, over the names pbjson lists: each field's proto name, then
/// its JSON name when that differs.
#[cold]
#[inline(never)]
pub(super) fn unknown_field<E: de::Error>(key: &str, desc: &MessageDescriptor) -> E {
    // pbjson's order: fields outside a oneof as declared, then each oneof's members as declared.
    let declared = &desc.descriptor_proto().field;
    let in_oneof = |f: &prost_reflect::prost_types::FieldDescriptorProto| {
        f.oneof_index.is_some() && !f.proto3_optional()
    };
    let mut names = Vec::new();
    let plain = declared.iter().filter(|f| !in_oneof(f));
    let oneofs = (0..desc.descriptor_proto().oneof_decl.len()).flat_map(|i| {
        declared
            .iter()
            .filter(move |f| in_oneof(f) && f.oneof_index == Some(i as i32))
    });
    for field in plain.chain(oneofs) {
        let Some(field) = desc.get_field(field.number() as u32) else {
            continue;
        };
        names.push(field.name().to_owned());
        if field.json_name() != field.name() {
            names.push(field.json_name().to_owned());
        }
    }
    if names.is_empty() {
        E::custom(format_args!("unknown field `{key}`, there are no fields"))
    } else {
        E::custom(format_args!(
            "unknown field `{key}`, expected {}",
            OneOf(&names)
        ))
    }
}

/// serde's way of listing what was expected: `` `a` ``, `` `a` or `b` ``, `` one of `a`, `b`, `c` ``.
pub(super) struct OneOf<'a, S>(pub(super) &'a [S]);

impl<S: AsRef<str>> fmt::Display for OneOf<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            [] => Ok(()),
            [one] => write!(f, "`{}`", one.as_ref()),
            [a, b] => write!(f, "`{}` or `{}`", a.as_ref(), b.as_ref()),
            many => {
                f.write_str("one of ")?;
                for (i, name) in many.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}`", name.as_ref())?;
                }
                Ok(())
            }
        }
    }
}

/// A field's value, encoded into `out` as its records; `false` for `null`, which leaves the field at its default
/// (but is a `NULL_VALUE` for a `google.protobuf.Value` field, as the reference reads it).
pub(super) struct FieldSeed<'a> {
    field: &'a FieldDescriptor,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for FieldSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for FieldSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a value of field {}", self.field.name())
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        let field = self.field;
        if let Kind::Message(m) = field.kind()
            && !field.is_list()
            && !field.is_map()
            && well_known(&m) == Some(WellKnown::Value)
        {
            encode_len(self.out, field.number(), &[0x08, 0x00]);
            return Ok(true);
        }
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        self.visit_none()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        let FieldSeed {
            field,
            options,
            out,
        } = self;
        let kind = field.kind();
        if field.is_map() {
            let Kind::Message(entry) = &kind else {
                return Err(de::Error::custom("a map field without an entry type"));
            };
            d.deserialize_map(MapVisitor {
                number: field.number(),
                key: entry.map_entry_key_field().kind(),
                value: entry.map_entry_value_field().kind(),
                options,
                out,
            })?;
        } else if field.is_list() {
            d.deserialize_seq(ListVisitor {
                number: field.number(),
                kind: &kind,
                packed: field.is_packed(),
                options,
                out,
            })?;
        } else if kind == Kind::String {
            d.deserialize_str(StrRecord {
                number: field.number(),
                skip_empty: !field.supports_presence(),
                out,
            })?;
        } else {
            let value = SingleSeed {
                kind: &kind,
                options,
            }
            .deserialize(d)?;
            let skip_default = !field.supports_presence();
            encode_value(out, field.number(), &kind, &value, skip_default);
        }
        Ok(true)
    }
}

/// A singular string field's record, encoded from the input text as it is read (the common field, spared a
/// `String`); as `String`'s own reader, it takes a JSON string only.
pub(super) struct StrRecord<'a> {
    number: u32,
    skip_empty: bool,
    out: &'a mut Vec<u8>,
}

impl Visitor<'_> for StrRecord<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if !(self.skip_empty && v.is_empty()) {
            encode_len(self.out, self.number, v.as_bytes());
        }
        Ok(())
    }
}

/// One parsed value of a singular field, a list element or a map key or value.
pub(super) type Parsed = super::Scalar<String, Vec<u8>>;

impl Parsed {
    /// Whether prost leaves this value out of an implicit-presence field or a map entry.
    pub(super) fn is_default(&self) -> bool {
        match self {
            Parsed::Bool(v) => !v,
            Parsed::I32(v) | Parsed::Enum(v) => *v == 0,
            Parsed::I64(v) => *v == 0,
            Parsed::U32(v) => *v == 0,
            Parsed::U64(v) => *v == 0,
            Parsed::F32(v) => *v == 0.0,
            Parsed::F64(v) => *v == 0.0,
            Parsed::Str(v) => v.is_empty(),
            Parsed::Bytes(v) | Parsed::Message(v) => v.is_empty(),
        }
    }
}

/// One value of a kind: a singular field, a list element or a map value.
pub(super) struct SingleSeed<'a> {
    kind: &'a Kind,
    options: ParseOptions,
}

impl<'de> DeserializeSeed<'de> for SingleSeed<'_> {
    type Value = Parsed;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Parsed, D::Error> {
        Ok(match self.kind {
            Kind::Double => Parsed::F64(Number::<f64>::deserialize(d)?.0),
            Kind::Float => Parsed::F32(Number::<f32>::deserialize(d)?.0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                Parsed::I32(Number::<i32>::deserialize(d)?.0)
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                Parsed::I64(Number::<i64>::deserialize(d)?.0)
            }
            Kind::Uint32 | Kind::Fixed32 => Parsed::U32(Number::<u32>::deserialize(d)?.0),
            Kind::Uint64 | Kind::Fixed64 => Parsed::U64(Number::<u64>::deserialize(d)?.0),
            Kind::Bool => Parsed::Bool(bool::deserialize(d)?),
            Kind::String => Parsed::Str(String::deserialize(d)?),
            Kind::Bytes => {
                Parsed::Bytes(pbjson::private::BytesDeserialize::<Vec<u8>>::deserialize(d)?.0)
            }
            Kind::Enum(e) => Parsed::Enum(d.deserialize_any(EnumVisitor(e))?),
            Kind::Message(m) => Parsed::Message(
                MessageSeed {
                    desc: m,
                    options: self.options,
                }
                .deserialize(d)?,
            ),
        })
    }
}

/// An enum value as the generated parsers read it (`OpenEnum`): a known name, or any 32-bit number, also as a
/// string.
pub(super) struct EnumVisitor<'a>(&'a EnumDescriptor);

impl Visitor<'_> for EnumVisitor<'_> {
    type Value = i32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum value name or a 32-bit number")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
        i32::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
        if let Some(value) = self.0.get_value_by_name(v) {
            return Ok(value.number());
        }
        v.parse().map_err(|_| {
            let names: Vec<String> = self.0.values().map(|v| v.name().to_owned()).collect();
            E::custom(format_args!(
                "unknown enum value `{v}`, expected a number or {}",
                OneOf(&names)
            ))
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
        if self.0.full_name() == "google.protobuf.NullValue" {
            Ok(0)
        } else {
            Err(E::invalid_type(de::Unexpected::Unit, &self))
        }
    }
}

/// A repeated field: every element of its kind, packed when the descriptor says so; a failing element's index goes
/// into the path (`[1].size`).
pub(super) struct ListVisitor<'a> {
    number: u32,
    kind: &'a Kind,
    packed: bool,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut packed = Vec::new();
        let mut index = 0;
        loop {
            let seed = SingleSeed {
                kind: self.kind,
                options: self.options,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(item)) => {
                    if self.packed {
                        encode_payload(&mut packed, self.kind, &item);
                    } else {
                        encode_value(self.out, self.number, self.kind, &item, KEEP_DEFAULT);
                    }
                    index += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(de::Error::custom(nest(Step::Index(index), &e.to_string())));
                }
            }
        }
        if !packed.is_empty() {
            encode_len(self.out, self.number, &packed);
        }
        Ok(())
    }
}

/// A map key, ordered as the generated maps' key types order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum SortKey {
    Bool(bool),
    Signed(i64),
    Unsigned(u64),
    Text(String),
}

/// A map field: keys from their JSON strings, values of the value kind, entries sorted by key, the last of equal
/// keys winning (as `BTreeMap::insert` has it); a failing value's key goes into the path (`labels.env`).
/// Entries are written into `out` as they come and reordered only if the input's keys were not already in order.
pub(super) struct MapVisitor<'a> {
    number: u32,
    key: Kind,
    value: Kind,
    options: ParseOptions,
    out: &'a mut Vec<u8>,
}

impl<'de> Visitor<'de> for MapVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.out.len();
        let mut spans: Vec<(SortKey, usize, usize)> = Vec::new();
        let mut entry = Vec::new();
        while let Some(text) = map.next_key::<String>()? {
            entry.clear();
            let sort = map_key::<A::Error>(&self.key, &text, &mut entry)?;
            let seed = SingleSeed {
                kind: &self.value,
                options: self.options,
            };
            let value = map
                .next_value_seed(seed)
                .map_err(|e| de::Error::custom(nest(Step::Key(&text), &e.to_string())))?;
            encode_value(&mut entry, 2, &self.value, &value, SKIP_DEFAULT);
            let start = self.out.len();
            encode_len(self.out, self.number, &entry);
            let sort = sort.unwrap_or(SortKey::Text(text));
            spans.push((sort, start, self.out.len()));
        }
        if spans.windows(2).all(|pair| pair[0].0 < pair[1].0) {
            return Ok(());
        }
        spans.sort_by(|a, b| a.0.cmp(&b.0));
        let written = self.out.split_off(base);
        for (i, (key, start, end)) in spans.iter().enumerate() {
            if spans.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            self.out
                .extend_from_slice(&written[start - base..end - base]);
        }
        Ok(())
    }
}

/// A map key from its JSON string, read as the generated parsers read keys of its type and encoded into `entry` as
/// field 1 (left out when it is the default); its sort key, `None` for a string key (the caller moves the text in).
pub(super) fn map_key<E: de::Error>(
    kind: &Kind,
    text: &str,
    entry: &mut Vec<u8>,
) -> Result<Option<SortKey>, E> {
    let number = de::value::StrDeserializer::<E>::new(text);
    let (sort, key) = match kind {
        Kind::String => {
            if !text.is_empty() {
                encode_len(entry, 1, text.as_bytes());
            }
            return Ok(None);
        }
        Kind::Bool => match text {
            "true" => (SortKey::Bool(true), Parsed::Bool(true)),
            "false" => (SortKey::Bool(false), Parsed::Bool(false)),
            _ => {
                return Err(E::invalid_value(
                    de::Unexpected::Str(text),
                    &"`true` or `false`",
                ));
            }
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            let v = Number::<i32>::deserialize(number)?.0;
            (SortKey::Signed(i64::from(v)), Parsed::I32(v))
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            let v = Number::<i64>::deserialize(number)?.0;
            (SortKey::Signed(v), Parsed::I64(v))
        }
        Kind::Uint32 | Kind::Fixed32 => {
            let v = Number::<u32>::deserialize(number)?.0;
            (SortKey::Unsigned(u64::from(v)), Parsed::U32(v))
        }
        Kind::Uint64 | Kind::Fixed64 => {
            let v = Number::<u64>::deserialize(number)?.0;
            (SortKey::Unsigned(v), Parsed::U64(v))
        }
        other => {
            return Err(E::custom(format_args!("{other:?} cannot be a map key")));
        }
    };
    encode_value(entry, 1, kind, &key, SKIP_DEFAULT);
    Ok(Some(sort))
}

/// `{"@type": url, ...}`, read as `wkt::Any` reads it, with the payload type from the descriptor's own pool.
pub(super) struct AnySeed<'a>(MessageSeed<'a>);

impl<'de> DeserializeSeed<'de> for AnySeed<'_> {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        let MessageSeed { desc, options } = self.0;
        let mut object = serde_json::Map::deserialize(d)?;
        let Some(url) = wkt::json::any_type_url(&mut object)? else {
            return Ok(Vec::new());
        };
        let name = url.rsplit_once('/').map_or(url.as_str(), |(_, name)| name);
        let inner = desc
            .parent_pool()
            .get_message_by_name(name)
            .ok_or_else(|| de::Error::custom(format_args!("unknown `Any` type `{url}`")))?;
        if well_known(&inner) == Some(WellKnown::Empty) {
            wkt::json::drop_empty_value(&mut object);
        }
        let seed = MessageSeed {
            desc: &inner,
            options,
        };
        let payload = if is_any_value_form(&inner) {
            let value = wkt::json::any_value(object, &url, !options.ignore_unknown_fields)?;
            seed.deserialize(value)
                .map_err(|e| payload_error(inner.full_name(), Some("value"), &e))?
        } else {
            seed.deserialize(serde_json::Value::Object(object))
                .map_err(|e| payload_error(inner.full_name(), None, &e))?
        };
        let mut out = Vec::with_capacity(url.len() + payload.len() + 8);
        encode_len(&mut out, 1, url.as_bytes());
        if !payload.is_empty() {
            encode_len(&mut out, 2, &payload);
        }
        Ok(out)
    }
}
