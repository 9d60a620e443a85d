//! Parsing `google.protobuf.Struct`, `Value` and `ListValue`, which have a JSON form of their own.

use super::*;

// `Struct`, `Value` and `ListValue` have one layout everywhere: `Struct.fields` (1) maps strings to `Value`s;
// `Value` is a oneof of `null_value` (1), `number_value` (2), `string_value` (3), `bool_value` (4),
// `struct_value` (5) and `list_value` (6); `ListValue.values` (1) is a repeated `Value`.

/// `Struct`: a JSON object of `Value`s.
pub(super) struct StructVisitor;

impl<'de> Visitor<'de> for StructVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<u8>, A::Error> {
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map
                .next_value_seed(StructValueSeed)
                .map_err(|e| de::Error::custom(nest(Step::Key(&key), &e.to_string())))?;
            entries.push((key, value));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (i, (key, value)) in entries.iter().enumerate() {
            if entries.get(i + 1).is_some_and(|next| next.0 == *key) {
                continue;
            }
            let mut entry = Vec::new();
            if !key.is_empty() {
                encode_len(&mut entry, 1, key.as_bytes());
            }
            if !value.is_empty() {
                encode_len(&mut entry, 2, value);
            }
            encode_len(&mut out, 1, &entry);
        }
        Ok(out)
    }
}

pub(super) struct StructValueSeed;

impl<'de> DeserializeSeed<'de> for StructValueSeed {
    type Value = Vec<u8>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<u8>, D::Error> {
        d.deserialize_any(StructValueVisitor)
    }
}

/// `Value`: any JSON value, into the member of its `kind` oneof that holds that JSON type.
pub(super) struct StructValueVisitor;

impl<'de> Visitor<'de> for StructValueVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<u8>, E> {
        Ok(vec![0x08, 0x00])
    }

    fn visit_none<E: de::Error>(self) -> Result<Vec<u8>, E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(9);
        encode_value(&mut out, 2, &Kind::Double, &Parsed::F64(v), KEEP_DEFAULT);
        Ok(out)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<u8>, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<u8>, E> {
        self.visit_f64(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        let mut out = Vec::with_capacity(v.len() + 6);
        encode_len(&mut out, 3, v.as_bytes());
        Ok(out)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<u8>, E> {
        Ok(vec![0x20, u8::from(v)])
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<u8>, A::Error> {
        let inner = StructVisitor.visit_map(map)?;
        let mut out = Vec::with_capacity(inner.len() + 6);
        encode_len(&mut out, 5, &inner);
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<u8>, A::Error> {
        let inner = ListValueVisitor.visit_seq(seq)?;
        let mut out = Vec::with_capacity(inner.len() + 6);
        encode_len(&mut out, 6, &inner);
        Ok(out)
    }
}

/// `ListValue`: a JSON array of `Value`s.
pub(super) struct ListValueVisitor;

impl<'de> Visitor<'de> for ListValueVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        let mut index = 0;
        loop {
            match seq.next_element_seed(StructValueSeed) {
                Ok(Some(item)) => encode_len(&mut out, 1, &item),
                Ok(None) => return Ok(out),
                Err(e) => {
                    return Err(de::Error::custom(nest(Step::Index(index), &e.to_string())));
                }
            }
            index += 1;
        }
    }
}
