//! The typed JSON writers and the type registry, generated from the descriptors.
//!
//! For every package: `<package>.json.rs` with a `yc_proto::json::WriteJson` impl per message (fields in
//! field-number order, defaults omitted, keys by style) and an `EnumJson` impl per enum.
//! For the crate: `registry.rs`, the table of every message type sorted by full name.
//! It also rewrites pbjson's parsers: enums open (any number accepted), numbers read as the reference reads them,
//! and each field read wrapped so that its errors name the field path.
//! This module only produces text; `codegen` decides where it goes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, bail};
use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor};

/// `google.protobuf` types with a hand-written Rust type (and JSON) in `yc_proto::wkt`.
const WELL_KNOWN: &[&str] = &["Any", "Duration", "Empty", "FieldMask", "Timestamp"];

/// `<package>.json.rs` for each of `packages`, and `registry.rs`, by file name.
pub(crate) fn generate(
    pool: &DescriptorPool,
    packages: &[String],
) -> Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for package in packages {
        let mut out = String::new();
        for message in pool.all_messages() {
            if message.package_name() == package && !message.is_map_entry() {
                write_message(&message, &mut out)?;
            }
        }
        for enumeration in pool.all_enums() {
            if enumeration.package_name() == package {
                write_enum(&enumeration, &mut out)?;
            }
        }
        if !out.is_empty() {
            files.insert(format!("{package}.json.rs"), out);
        }
    }
    files.insert("registry.rs".into(), registry(pool, packages)?);
    Ok(files)
}

/// Adjusts pbjson's parsers to the reference: enum fields, in every shape, accept numbers the schema does not know,
/// as proto3's open enums require (`E` read as `OpenEnum<E>`, see [`open_enums`]), numbers are read
/// by `yc_proto`'s own `Number` (integral floats for integers, errors that name the expected type), and
/// every field's error names where it happened (see [`field_paths`]).
///
/// Each rewrite checks what it matched against the descriptors (see [`open_enums`]) and fails codegen, naming the
/// field, when pbjson's output has a shape it does not know, rather than leaving a site silently unchanged.
pub(crate) fn adjust_parsers(text: &str, package: &str, pool: &DescriptorPool) -> Result<String> {
    let text = open_enums(text, package, pool)?;
    let numbers = text.matches("::pbjson::private::NumberDeserialize").count();
    let text = text.replace(
        "::pbjson::private::NumberDeserialize",
        "crate::json::Number",
    );
    if numbers != numeric_fields(package, pool) {
        bail!(
            "pbjson reads {numbers} numbers through NumberDeserialize, but `{package}` has {} numeric fields \
             (maps and lists included): update the `Number` rewrite",
            numeric_fields(package, pool)
        );
    }
    field_paths(&text, pool)
}

/// Fields of `package`'s messages whose values pbjson reads through `NumberDeserialize`: integers and floats,
/// singular, repeated or map values (map keys are strings in JSON and read otherwise).
fn numeric_fields(package: &str, pool: &DescriptorPool) -> usize {
    let numeric = |kind: &Kind| {
        matches!(
            kind,
            Kind::Int32
                | Kind::Int64
                | Kind::Uint32
                | Kind::Uint64
                | Kind::Sint32
                | Kind::Sint64
                | Kind::Fixed32
                | Kind::Fixed64
                | Kind::Sfixed32
                | Kind::Sfixed64
                | Kind::Float
                | Kind::Double
        )
    };
    package_fields(package, pool)
        .filter(|field| match field.kind() {
            Kind::Message(entry) if field.is_map() => {
                numeric(&entry.map_entry_value_field().kind())
                    || numeric(&entry.map_entry_key_field().kind())
            }
            kind => numeric(&kind),
        })
        .count()
}

/// Every field of every message (map entries excluded) of `package`.
fn package_fields<'a>(
    package: &'a str,
    pool: &'a DescriptorPool,
) -> impl Iterator<Item = FieldDescriptor> + 'a {
    pool.all_messages()
        .filter(move |m| m.package_name() == package && !m.is_map_entry())
        .flat_map(|m| m.fields().collect::<Vec<_>>())
}

/// Wraps each field read of pbjson's `visit_map` (`map_.next_value...()?`) so that its error gets the field's
/// proto name in front of its path, reads lists through `crate::json::List` (the failing index) and
/// string-keyed maps through `crate::json::MapField` (the failing key). On success the wrapping costs a branch
/// pbjson's `?` already takes.
///
/// pbjson writes, per message, `formatter.write_str("struct <full name>")`, then per field a
/// `duplicate_field("<json name>")` check just before the field's `map_.next_value` read; both name the field
/// for the rewrite. A read without a field before it (a message without fields) is left as it is.
fn field_paths(text: &str, pool: &DescriptorPool) -> Result<String> {
    const STRUCT: &str = "formatter.write_str(\"struct ";
    const DUPLICATE: &str = "serde::de::Error::duplicate_field(\"";
    const READ: &str = "map_.next_value";
    const TRY: &str = "()?";
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut message: Option<MessageDescriptor> = None;
    let mut field: Option<FieldDescriptor> = None;
    for line in text.lines() {
        if let Some(start) = line.find(STRUCT) {
            let name = line[start + STRUCT.len()..]
                .split('"')
                .next()
                .unwrap_or_default();
            message = pool.get_message_by_name(name);
            if message.is_none() {
                bail!("pbjson wrote a parser for `{name}`, which the descriptors do not have");
            }
            field = None;
        }
        if let Some(start) = line.find(DUPLICATE) {
            let json_name = line[start + DUPLICATE.len()..]
                .split('"')
                .next()
                .unwrap_or_default();
            let Some(m) = &message else {
                bail!("pbjson checks field `{json_name}` outside a message parser");
            };
            field = m.get_field_by_json_name(json_name);
            if field.is_none() {
                bail!(
                    "`{}` has no field with JSON name `{json_name}`",
                    m.full_name()
                );
            }
        }
        let read = line.find(READ).and_then(|start| {
            let end = start + line[start..].find(TRY)?;
            Some((start, end))
        });
        match (read, field.take()) {
            (Some((start, end)), Some(f)) => {
                let turbofish = &line[start + READ.len()..end];
                let (turbofish, unwrap) = if f.is_list() && turbofish.is_empty() {
                    ("::<crate::json::List<_>>", ".0")
                } else if f.is_map() && turbofish == "::<std::collections::BTreeMap<_, _>>" {
                    ("::<crate::json::MapField<_, _>>", ".0")
                } else {
                    (turbofish, "")
                };
                let _ = write!(
                    out,
                    "{}{READ}{turbofish}().map_err(|e| crate::json::at_field({:?}, e))?{unwrap}{}",
                    &line[..start],
                    f.name(),
                    &line[end + TRY.len()..]
                );
            }
            (None, f) => {
                field = f;
                out.push_str(line);
            }
            (Some(_), None) => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// How pbjson reads an enum field, by the field's shape; each has its own text, rewritten by [`open_enums`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EnumShape {
    /// `Some(map_.next_value::<E>()? as i32)`
    Plain,
    /// proto3 `optional`: `map_.next_value::<::std::option::Option<E>>()?.map(|x| x as i32)`
    Optional,
    /// A oneof member: `map_.next_value::<::std::option::Option<E>>()?.map(|x| Oneof::Member(x as i32))`
    Oneof,
    /// `Some(map_.next_value::<Vec<E>>()?.into_iter().map(|x| x as i32).collect())`
    Repeated,
    /// `map_.next_value::<std::collections::BTreeMap<K, E>>()?`, then a line `.into_iter().map(|(k,v)| (k, v as i32))...`
    MapValue,
}

/// The shape of an enum-valued field of `package`, `None` for a field that holds no enum.
fn enum_shape(field: &FieldDescriptor) -> Option<EnumShape> {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        return matches!(entry.map_entry_value_field().kind(), Kind::Enum(_))
            .then_some(EnumShape::MapValue);
    }
    if !matches!(field.kind(), Kind::Enum(_)) {
        return None;
    }
    Some(if field.is_list() {
        EnumShape::Repeated
    } else if field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
        EnumShape::Oneof
    } else if field.supports_presence() {
        EnumShape::Optional
    } else {
        EnumShape::Plain
    })
}

/// Opens pbjson's enum reads to numbers the schema does not know, as proto3's open enums require, by reading
/// `crate::json::OpenEnum<E>` where pbjson reads `E`, in every shape pbjson writes (see [`EnumShape`]).
/// A repeated enum is read through `crate::json::List` and a string-keyed enum map through `crate::json::MapField`,
/// so their errors name the failing index or key, as for other lists and maps.
///
/// Each shape's rewrites are counted against the package's enum fields of that shape; a count that differs means
/// pbjson wrote a shape this does not know, and codegen fails naming the shape rather than leave a read closed.
fn open_enums(text: &str, package: &str, pool: &DescriptorPool) -> Result<String> {
    let mut expected: BTreeMap<EnumShape, usize> = BTreeMap::new();
    for field in package_fields(package, pool) {
        if let Some(shape) = enum_shape(&field) {
            *expected.entry(shape).or_default() += 1;
        }
    }
    let mut found: BTreeMap<EnumShape, usize> = BTreeMap::new();
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        match open_enum_line(line, out.last_mut()) {
            Some((shape, opened)) => {
                *found.entry(shape).or_default() += 1;
                out.push(opened);
            }
            None => out.push(line.to_owned()),
        }
    }
    if found != expected {
        bail!(
            "opened enum reads by shape {found:?}, but `{package}` has enum fields by shape {expected:?}: \
             pbjson's layout changed; update `open_enums`"
        );
    }
    let mut joined = out.join("\n");
    joined.push('\n');
    Ok(joined)
}

/// One line of pbjson's output with its enum read opened, and the shape it had; `previous` is the line before,
/// which a map's enum value rewrites (pbjson puts the map's type and its conversion on two lines).
fn open_enum_line(line: &str, previous: Option<&mut String>) -> Option<(EnumShape, String)> {
    const READ: &str = "map_.next_value::<";
    const OPTION: &str = "map_.next_value::<::std::option::Option<";
    const VEC: &str = "map_.next_value::<Vec<";
    const MAP: &str = "map_.next_value::<std::collections::BTreeMap<";
    let open = |ty: &str| format!("crate::json::OpenEnum<{ty}>");
    // The line up to `start`, then `read`: each shape's read of the enum, rewritten.
    let rewrite = |shape, start: usize, read: String| (shape, format!("{}{read}", &line[..start]));
    if let (Some(start), Some(end)) = (
        line.find(VEC),
        line.find(">>()?.into_iter().map(|x| x as i32).collect()"),
    ) {
        let ty = &line[start + VEC.len()..end];
        let rest = &line[end + ">>()?.into_iter().map(|x| x as i32).collect()".len()..];
        return Some(rewrite(
            EnumShape::Repeated,
            start,
            format!(
                "map_.next_value::<crate::json::List<{}>>()?.0.into_iter().map(|x| x.0).collect(){rest}",
                open(ty)
            ),
        ));
    }
    if let Some(start) = line.find(OPTION) {
        let after = &line[start + OPTION.len()..];
        let end = after.find(">>()?.map(|x| ")?;
        let ty = &after[..end];
        let tail = &after[end + ">>()?.map(|x| ".len()..];
        if let Some(rest) = tail.strip_prefix("x as i32)") {
            return Some(rewrite(
                EnumShape::Optional,
                start,
                format!("{OPTION}{}>>()?.map(|x| x.0){rest}", open(ty)),
            ));
        }
        let close = tail.find("(x as i32))")?;
        let member = &tail[..close];
        let rest = &tail[close + "(x as i32))".len()..];
        return Some(rewrite(
            EnumShape::Oneof,
            start,
            format!("{OPTION}{}>>()?.map(|x| {member}(x.0)){rest}", open(ty)),
        ));
    }
    if let Some(start) = line.find(".into_iter().map(|(k,v)| (") {
        let conversion = &line[start..];
        if !conversion.contains(", v as i32))") {
            return None;
        }
        let previous = previous?;
        let map_start = previous.find(MAP)?;
        let types = &previous[map_start + MAP.len()..];
        let end = types.rfind(">>()?")?;
        let (key, value) = types[..end].split_once(", ")?;
        let value = open(value);
        let reader = if key == "_" {
            // String keys: read through `MapField`, so an error names the key; its `.0` is the `BTreeMap`.
            format!("map_.next_value::<crate::json::MapField<_, {value}>>()?.0")
        } else {
            format!("{MAP}{key}, {value}>>()?")
        };
        *previous = format!(
            "{}{reader}{}",
            &previous[..map_start],
            &types[end + ">>()?".len()..]
        );
        return Some(rewrite(
            EnumShape::MapValue,
            start,
            conversion.replace(", v as i32))", ", v.0))"),
        ));
    }
    let start = line.find(READ)?;
    let end = line.find(">()? as i32")?;
    (start < end).then(|| {
        let ty = &line[start + READ.len()..end];
        let rest = &line[end + ">()? as i32".len()..];
        rewrite(
            EnumShape::Plain,
            start,
            format!("map_.next_value::<{}>()?.0{rest}", open(ty)),
        )
    })
}

fn registry(pool: &DescriptorPool, packages: &[String]) -> Result<String> {
    let mut rows = Vec::new();
    for message in pool.all_messages() {
        let package = message.package_name();
        let wanted = if package == "google.protobuf" {
            WELL_KNOWN.contains(&message.name())
        } else {
            packages.iter().any(|p| p == package) && !message.is_map_entry()
        };
        if wanted {
            rows.push((
                message.full_name().to_owned(),
                rust_path(message.full_name(), package),
            ));
        }
    }
    rows.sort();
    let mut out = String::new();
    out.push_str("/// Every message type, sorted by full name (map entries and descriptor.proto excluded).\n");
    out.push_str("static TYPES: &[MessageType] = &[\n");
    for (name, path) in rows {
        writeln!(out, "    MessageType::of::<{path}>({name:?}),")?;
    }
    out.push_str("];\n");
    Ok(out)
}

fn write_message(message: &MessageDescriptor, out: &mut String) -> Result<()> {
    let path = rust_path(message.full_name(), message.package_name());
    let mut fields: Vec<FieldDescriptor> = message.fields().collect();
    fields.sort_by_key(FieldDescriptor::number);
    let mut body = String::new();
    for field in &fields {
        write_field(message, field, &mut body)?;
    }
    if fields.is_empty() {
        body.push_str("        let _ = (w, first);\n");
    }
    writeln!(
        out,
        "impl crate::json::WriteJson for {path} {{\n    \
         #[allow(deprecated)]\n    \
         fn write_any_members(&self, w: &mut crate::json::Writer, first: &mut bool) {{\n\
         {body}    }}\n}}"
    )?;
    // serde's view of the message is the REST style, as pbjson's `Serialize` would give; one writer behind both.
    writeln!(
        out,
        "impl ::serde::Serialize for {path} {{\n    \
         fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::core::result::Result<S::Ok, S::Error> {{\n        \
         crate::json::serialize(self, crate::json::Style::Camel, serializer)\n    }}\n}}"
    )?;
    Ok(())
}

fn write_field(
    message: &MessageDescriptor,
    field: &FieldDescriptor,
    out: &mut String,
) -> Result<()> {
    for name in [field.name(), field.json_name()] {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!(
                "field `{}` has JSON key `{name}`, which the writer would have to escape",
                field.full_name()
            );
        }
    }
    let key = format!(
        "w.field(first, {:?}, {:?});",
        field.name(),
        field.json_name()
    );
    let member = to_snake(field.name());
    if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
        let oneof_enum = format!("{}::{}", module_path(message), to_upper_camel(oneof.name()));
        writeln!(
            out,
            "        if let ::core::option::Option::Some({oneof_enum}::{}(v)) = &self.{} {{\n            \
             {key}\n            {};\n        }}",
            to_upper_camel(field.name()),
            to_snake(oneof.name()),
            value_by_ref(&field.kind(), "v")
        )?;
        return Ok(());
    }
    // A map or a list: written when it has elements, each value through the writer's `map` or `list`.
    let container = if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            bail!("map field `{}` without an entry type", field.full_name());
        };
        Some(("map", entry.map_entry_value_field().kind()))
    } else {
        field.is_list().then(|| ("list", field.kind()))
    };
    if let Some((write, kind)) = container {
        let value = value_by_ref(&kind, "v");
        writeln!(
            out,
            "        if !self.{member}.is_empty() {{\n            {key}\n            \
             w.{write}(&self.{member}, |w, v| {value});\n        }}"
        )?;
    } else if field.supports_presence() {
        // Message fields and proto3 `optional` scalars: `Option<T>`, written whenever set.
        writeln!(
            out,
            "        if let ::core::option::Option::Some(v) = &self.{member} {{\n            \
             {key}\n            {};\n        }}",
            value_by_ref(&field.kind(), "v")
        )?;
    } else {
        let (condition, value) = implicit_scalar(&field.kind(), &format!("self.{member}"));
        writeln!(
            out,
            "        if {condition} {{\n            {key}\n            {value};\n        }}"
        )?;
    }
    Ok(())
}

/// An expression writing the value behind the reference `v`.
fn value_by_ref(kind: &Kind, v: &str) -> String {
    value(kind, &format!("*{v}"), v)
}

/// An expression writing a value, given as a place (`copy`, for `Copy` scalars) and as a reference (`by_ref`).
fn value(kind: &Kind, copy: &str, by_ref: &str) -> String {
    match kind {
        Kind::String => format!("w.string({by_ref})"),
        Kind::Bytes => format!("w.bytes({by_ref})"),
        Kind::Bool => format!("w.bool({copy})"),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 | Kind::Uint32 | Kind::Fixed32 => {
            format!("w.int({copy})")
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 | Kind::Uint64 | Kind::Fixed64 => {
            format!("w.quoted_int({copy})")
        }
        Kind::Float => format!("w.f32({copy})"),
        Kind::Double => format!("w.f64({copy})"),
        Kind::Enum(e) => format!("w.enumeration::<{}>({copy})", enum_path(e)),
        Kind::Message(_) => format!("w.message({by_ref})"),
    }
}

/// `(condition that the value is not the default, expression writing it)` for an implicit-presence scalar.
fn implicit_scalar(kind: &Kind, place: &str) -> (String, String) {
    let write = value(kind, place, &format!("&{place}"));
    let condition = match kind {
        Kind::String | Kind::Bytes => format!("!{place}.is_empty()"),
        Kind::Bool => place.to_owned(),
        Kind::Float | Kind::Double => format!("{place} != 0.0"),
        _ => format!("{place} != 0"),
    };
    (condition, write)
}

fn write_enum(enumeration: &EnumDescriptor, out: &mut String) -> Result<()> {
    let mut seen = Vec::new();
    let mut arms = String::new();
    for value in enumeration.values() {
        // With `allow_alias`, the first name of a number is the one written.
        if seen.contains(&value.number()) {
            continue;
        }
        seen.push(value.number());
        if !value
            .name()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("enum value `{}` would need escaping", value.full_name());
        }
        writeln!(
            arms,
            "            {} => ::core::option::Option::Some({:?}),",
            value.number(),
            value.name()
        )?;
    }
    writeln!(
        out,
        "impl crate::json::EnumJson for {} {{\n    \
         fn name(number: i32) -> ::core::option::Option<&'static str> {{\n        \
         match number {{\n{arms}            _ => ::core::option::Option::None,\n        }}\n    }}\n}}",
        enum_path(enumeration)
    )?;
    Ok(())
}

/// The module prost-build puts a message's nested types in: `...::v1::image` for `Image`.
fn module_path(message: &MessageDescriptor) -> String {
    let path = rust_path(message.full_name(), message.package_name());
    let parent = path.rsplit_once("::").map_or("", |(parent, _)| parent);
    format!("{parent}::{}", to_snake(message.name()))
}

fn enum_path(enumeration: &EnumDescriptor) -> String {
    rust_path(enumeration.full_name(), enumeration.package_name())
}

/// The Rust path of a generated (or well-known) type, as prost-build names it:
/// `yandex.cloud.compute.v1.Image.Status` -> `crate::generated::yandex::cloud::compute::v1::image::Status`.
fn rust_path(full_name: &str, package: &str) -> String {
    let relative = full_name
        .strip_prefix(package)
        .and_then(|r| r.strip_prefix('.'))
        .unwrap_or(full_name);
    let mut path = if package == "google.protobuf" {
        "crate::wkt".to_owned()
    } else {
        format!("crate::generated::{}", package.replace('.', "::"))
    };
    let parts: Vec<&str> = relative.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push_str("::");
        if i + 1 == parts.len() {
            path.push_str(&to_upper_camel(part));
        } else {
            path.push_str(&to_snake(part));
        }
    }
    path
}

/// prost-build's field and module names: snake case, keywords raw (`r#type`) or suffixed (`self_`).
fn to_snake(name: &str) -> String {
    let mut ident = name.to_snake_case();
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => ident.insert_str(0, "r#"),
        "self" | "super" | "extern" | "crate" => ident.push('_'),
        _ => {}
    }
    ident
}

/// prost-build's type and variant names: upper camel case, `Self` suffixed.
fn to_upper_camel(name: &str) -> String {
    let mut ident = name.to_upper_camel_case();
    if ident == "Self" {
        ident.push('_');
    }
    ident
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_paths_follow_prost_build() {
        assert_eq!(
            rust_path(
                "yandex.cloud.compute.v1.Image.Status",
                "yandex.cloud.compute.v1"
            ),
            "crate::generated::yandex::cloud::compute::v1::image::Status"
        );
        assert_eq!(
            rust_path("yandex.cloud.compute.v1.KMSKey", "yandex.cloud.compute.v1"),
            "crate::generated::yandex::cloud::compute::v1::KmsKey"
        );
        assert_eq!(
            rust_path("google.protobuf.Timestamp", "google.protobuf"),
            "crate::wkt::Timestamp"
        );
        assert_eq!(to_snake("type"), "r#type");
        assert_eq!(to_snake("self"), "self_");
    }

    #[test]
    fn field_reads_name_the_field() {
        let pool = DescriptorPool::decode(
            crate::codegen::compile_protos(&crate::project_root().join("proto"))
                .unwrap()
                .as_slice(),
        )
        .unwrap();
        let text = "                formatter.write_str(\"struct yandex.cloud.compute.v1.Image\")\n\
                    return Err(serde::de::Error::duplicate_field(\"productIds\"));\n\
                    product_ids__ = Some(map_.next_value()?);\n\
                    return Err(serde::de::Error::duplicate_field(\"labels\"));\n\
                    labels__ = Some(\n\
                        map_.next_value::<std::collections::BTreeMap<_, _>>()?\n\
                    );\n\
                    return Err(serde::de::Error::duplicate_field(\"folderId\"));\n\
                    folder_id__ = Some(map_.next_value()?);\n\
                    let _ = map_.next_value::<serde::de::IgnoredAny>()?;\n";
        let expected = "                formatter.write_str(\"struct yandex.cloud.compute.v1.Image\")\n\
                    return Err(serde::de::Error::duplicate_field(\"productIds\"));\n\
                    product_ids__ = Some(map_.next_value::<crate::json::List<_>>().map_err(|e| crate::json::at_field(\"product_ids\", e))?.0);\n\
                    return Err(serde::de::Error::duplicate_field(\"labels\"));\n\
                    labels__ = Some(\n\
                        map_.next_value::<crate::json::MapField<_, _>>().map_err(|e| crate::json::at_field(\"labels\", e))?.0\n\
                    );\n\
                    return Err(serde::de::Error::duplicate_field(\"folderId\"));\n\
                    folder_id__ = Some(map_.next_value().map_err(|e| crate::json::at_field(\"folder_id\", e))?);\n\
                    let _ = map_.next_value::<serde::de::IgnoredAny>()?;\n";
        assert_eq!(field_paths(text, &pool).unwrap(), expected);
        let unknown = "formatter.write_str(\"struct no.such.Type\")\n";
        assert!(field_paths(unknown, &pool).is_err());
    }

    #[test]
    fn enum_parsers_are_opened_and_counted() {
        let pool = DescriptorPool::decode(yc_proto::DESCRIPTOR_SET).unwrap();
        let site = "            status__ = Some(map_.next_value::<image::Status>()? as i32);\n";
        let opened = "            status__ = Some(map_.next_value::<crate::json::OpenEnum<image::Status>>()?.0);\n";
        let plain = package_fields("yandex.cloud.compute.v1", &pool)
            .filter(|f| matches!(f.kind(), Kind::Enum(_)))
            .count();
        assert!(plain > 0);
        let text = format!("{}other\n", site.repeat(plain));
        assert_eq!(
            open_enums(&text, "yandex.cloud.compute.v1", &pool).unwrap(),
            format!("{}other\n", opened.repeat(plain))
        );
        // One site fewer or more than the package has fields: pbjson's layout is not what the rewrite knows.
        let short = site.repeat(plain - 1);
        let error = open_enums(&short, "yandex.cloud.compute.v1", &pool).unwrap_err();
        assert!(error.to_string().contains("update `open_enums`"), "{error}");
        assert!(open_enums(site, "google.rpc", &pool).is_err());
    }

    /// Every shape pbjson reads an enum in (proto/yc/test/enum_shapes.proto has one field of each), opened, and a
    /// shape missing from the text is an error naming the counts.
    #[test]
    fn enum_parsers_are_opened_in_every_shape() {
        let pool = DescriptorPool::decode(yc_proto::DESCRIPTOR_SET).unwrap();
        let pbjson = "\
            plain__ = Some(map_.next_value::<Shade>()? as i32);
            optional_shade__ = map_.next_value::<::std::option::Option<Shade>>()?.map(|x| x as i32);
            repeated_shades__ = Some(map_.next_value::<Vec<Shade>>()?.into_iter().map(|x| x as i32).collect());
            shade_by_name__ = Some(
                map_.next_value::<std::collections::BTreeMap<_, Shade>>()?
                    .into_iter().map(|(k,v)| (k, v as i32)).collect()
            );
            shade_by_number__ = Some(
                map_.next_value::<std::collections::BTreeMap<::pbjson::private::NumberDeserialize<i32>, Shade>>()?
                    .into_iter().map(|(k,v)| (k.0, v as i32)).collect()
            );
            pick__ = map_.next_value::<::std::option::Option<Shade>>()?.map(|x| enum_shapes::Pick::PickedShade(x as i32));
            pick__ = map_.next_value::<::std::option::Option<_>>()?.map(enum_shapes::Pick::PickedName);
            shades__ = Some(map_.next_value::<Vec<Shade>>()?.into_iter().map(|x| x as i32).collect());
";
        let opened = "\
            plain__ = Some(map_.next_value::<crate::json::OpenEnum<Shade>>()?.0);
            optional_shade__ = map_.next_value::<::std::option::Option<crate::json::OpenEnum<Shade>>>()?.map(|x| x.0);
            repeated_shades__ = Some(map_.next_value::<crate::json::List<crate::json::OpenEnum<Shade>>>()?.0.into_iter().map(|x| x.0).collect());
            shade_by_name__ = Some(
                map_.next_value::<crate::json::MapField<_, crate::json::OpenEnum<Shade>>>()?.0
                    .into_iter().map(|(k,v)| (k, v.0)).collect()
            );
            shade_by_number__ = Some(
                map_.next_value::<std::collections::BTreeMap<::pbjson::private::NumberDeserialize<i32>, crate::json::OpenEnum<Shade>>>()?
                    .into_iter().map(|(k,v)| (k.0, v.0)).collect()
            );
            pick__ = map_.next_value::<::std::option::Option<crate::json::OpenEnum<Shade>>>()?.map(|x| enum_shapes::Pick::PickedShade(x.0));
            pick__ = map_.next_value::<::std::option::Option<_>>()?.map(enum_shapes::Pick::PickedName);
            shades__ = Some(map_.next_value::<crate::json::List<crate::json::OpenEnum<Shade>>>()?.0.into_iter().map(|x| x.0).collect());
";
        assert_eq!(open_enums(pbjson, "yc.test", &pool).unwrap(), opened);
        let without_oneof: String = pbjson
            .lines()
            .filter(|line| !line.contains("PickedShade"))
            .map(|line| format!("{line}\n"))
            .collect();
        let error = open_enums(&without_oneof, "yc.test", &pool)
            .unwrap_err()
            .to_string();
        assert!(error.contains("Oneof: 1"), "{error}");
        assert!(error.contains("update `open_enums`"), "{error}");
    }
}
