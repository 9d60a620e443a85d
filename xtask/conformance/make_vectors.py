#!/usr/bin/env python3
"""Conformance vectors for yc-proto's JSON, written by protobuf's reference runtime.

Loads crates/yc-proto/src/generated/descriptor_set.bin into a descriptor pool (no protoc), builds the documented
message shapes plus a filled and an empty message of every yandex.*, google.rpc and yc.test (test-only) type, and writes one file per
vector into crates/yc-proto/tests/it/vectors/:

    {"name": ..., "type": <full message name>, "binary": <base64, deterministic encoding>,
     "snake": <JSON text, proto field names>, "camel": <JSON text, json names>,
     "snake_sorted": ..., "camel_sorted": ...}

"snake" and "camel" are exactly what json_format writes (compact separators, keys in its order: field numbers,
map entries in the runtime's hash order). The "_sorted" forms differ only in map entries sorted by key, which is
the order our btree maps give, for an exact-text comparison.

Run from anywhere: `python3 xtask/conformance/make_vectors.py` (needs `pip install protobuf`). CI does not run it;
the vectors are committed.
"""

import base64
import json
import pathlib
import sys

from google.protobuf import descriptor, descriptor_pb2, descriptor_pool, json_format, message_factory

ROOT = pathlib.Path(__file__).resolve().parents[2]
DESCRIPTOR_SET = ROOT / "crates/yc-proto/src/generated/descriptor_set.bin"
OUT = ROOT / "crates/yc-proto/tests/it/vectors"

FDS = descriptor_pb2.FileDescriptorSet()
FDS.ParseFromString(DESCRIPTOR_SET.read_bytes())
POOL = descriptor_pool.DescriptorPool()
for file in FDS.file:
    POOL.Add(file)

C = "yandex.cloud.compute.v1."
CR = "yandex.cloud.containerregistry.v1."
OP = "yandex.cloud.operation."
ANY_PREFIX = "type.googleapis.com/"


def new(type_name):
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(type_name))()


def parse(type_name, value):
    """A message of `type_name` from a JSON-shaped Python value, through the reference parser."""
    message = new(type_name)
    json_format.ParseDict(value, message, descriptor_pool=POOL)
    return message


def to_dict(message, snake):
    return json_format.MessageToDict(message, preserving_proto_field_name=snake, descriptor_pool=POOL)


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sort_maps(value, desc, snake):
    """`value` (a MessageToDict result for `desc`) with every map field's entries sorted by key."""
    if not isinstance(value, dict):
        return value
    if desc.full_name == "google.protobuf.Any":
        inner = POOL.FindMessageTypeByName(value["@type"][len(ANY_PREFIX):])
        if "value" in value and inner.full_name.startswith("google.protobuf."):
            return {"@type": value["@type"], "value": sort_maps(value["value"], inner, snake)}
        rest = sort_maps({k: v for k, v in value.items() if k != "@type"}, inner, snake)
        return {"@type": value["@type"], **rest}
    out = dict(value)
    for field in desc.fields:
        key = field.name if snake else field.json_name
        if key not in out or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            # By key value, as our btree maps order them: integer keys as numbers, not as strings.
            key_field = field.message_type.fields_by_name["key"]
            numeric = key_field.cpp_type in (
                descriptor.FieldDescriptor.CPPTYPE_INT32, descriptor.FieldDescriptor.CPPTYPE_INT64,
                descriptor.FieldDescriptor.CPPTYPE_UINT32, descriptor.FieldDescriptor.CPPTYPE_UINT64)
            entries = sorted(out[key].items(), key=lambda kv: int(kv[0]) if numeric else kv[0])
            if value_field.message_type is not None:
                entries = [(k, sort_maps(v, value_field.message_type, snake)) for k, v in entries]
            out[key] = dict(entries)
        elif field.is_repeated:
            out[key] = [sort_maps(v, field.message_type, snake) for v in out[key]]
        else:
            out[key] = sort_maps(out[key], field.message_type, snake)
    return out


def canonicalize(message):
    """Re-packs every Any inside `message` deterministically, so the bytes inside it sort map entries too."""
    if message.DESCRIPTOR.full_name == "google.protobuf.Any":
        inner = new(message.type_url[len(ANY_PREFIX):])
        message.Unpack(inner)
        canonicalize(inner)
        message.value = inner.SerializeToString(deterministic=True)
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            if field.message_type.fields_by_name["value"].message_type is not None:
                for item in value.values():
                    canonicalize(item)
        elif field.is_repeated:
            for item in value:
                canonicalize(item)
        else:
            canonicalize(value)


VECTORS = {}


def vector(name, type_name, value=None, message=None):
    """Records one vector; `value` is parsed by the reference parser unless a message is given."""
    if message is None:
        message = parse(type_name, value)
    canonicalize(message)
    assert name not in VECTORS, name
    binary = message.SerializeToString(deterministic=True)
    entry = {"name": name, "type": type_name, "binary": base64.b64encode(binary).decode("ascii")}
    for style, snake in (("snake", True), ("camel", False)):
        as_dict = to_dict(message, snake)
        text = compact(as_dict)
        # The reference must read its own output back to the same message, in both styles.
        again = new(type_name)
        json_format.Parse(text, again, descriptor_pool=POOL)
        canonicalize(again)
        assert again.SerializeToString(deterministic=True) == binary, (name, style)
        entry[style] = text
    for style, snake in (("snake", True), ("camel", False)):
        sorted_dict = sort_maps(json.loads(entry[style]), message.DESCRIPTOR, snake)
        entry[style + "_sorted"] = compact(sorted_dict)
    VECTORS[name] = entry


# --- The documented shapes ------------------------------------------------------------------------------------

IMAGE = {
    "id": "fd8abc1def2ghi3jkl4m",
    "folder_id": "b1gq90dgh25bebiu75o",
    "created_at": "2024-03-11T10:02:03.456Z",
    "name": "ubuntu-2204-lts-gpu",
    "description": "Ubuntu 22.04 LTS with NVIDIA drivers",
    "labels": {"env": "prod", "team": "ml", "a.b/c-d_e@f": "x"},
    "family": "ubuntu-2204-lts-gpu",
    "storage_size": "4194304000",
    "min_disk_size": "21474836480",
    "product_ids": ["f2ek1vhoppg2l2afslmq", "f2eocs2a5i5mhvs4g2t2"],
    "status": "READY",
    "os": {"type": "LINUX", "nvidia": {"driver": "535.104.05"}},
    "pooled": True,
    "hardware_generation": {"legacy_features": {"pci_topology": "PCI_TOPOLOGY_V2"}},
    "kms_key": {"key_id": "abjbeb2bgg4ljmdr6ms1", "version_id": "abj6g0t9u2rmc7ordqs5"},
    "size": "10737418240",
}
vector("compute_image_grpc_reference", C + "Image", IMAGE)

vector("containerregistry_image_rest_reference", CR + "Image", {
    "id": "crpd50616s9a2t7gr8mi",
    "name": "crp7ko1m5ppp1vtdt1fl/ubuntu",
    "digest": "sha256:77af4d6b9913e693e8d0b4b294fa62ade6054e6b2f1ffb617ac955dd63fb0182",
    "compressedSize": "27092228",
    "config": {
        "id": "crpeh9kutg8ahtr0c1s7",
        "digest": "sha256:bf3dc08bfed031182827888bb15977e316ad797ee2ccb63b4c7a57fdfe7eb31d",
        "size": "2296",
        "urls": ["https://cr.yandex/v2/crp7ko1m5ppp1vtdt1fl/ubuntu/blobs/sha256:bf3dc08b"],
    },
    "layers": [
        {"id": "crp9hlj04ni3rdgqk9d7", "digest": "sha256:a48641193673b8e7a6d5d47a5a3dfb68b8a9a3cfa9c1d4cbb2b4e3b0c8f3d2b1",
         "size": "27092228"},
        {"id": "crp2mtsd8ddp5ohc1emn", "digest": "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff",
         "size": "0"},
    ],
    "tags": ["latest", "22.04"],
    "createdAt": "2024-02-01T08:15:42Z",
})

vector("operation_create_image_done", OP + "Operation", {
    "id": "fd8q0ebmvjs1a2b3c4d5",
    "description": "Create image",
    "created_at": "2024-03-11T10:00:01.311Z",
    "created_by": "ajeq8t6r1a2b3c4d5e6f",
    "modified_at": "2024-03-11T10:02:03.456789Z",
    "done": True,
    "metadata": {"@type": ANY_PREFIX + C + "CreateImageMetadata", "image_id": IMAGE["id"]},
    "response": {"@type": ANY_PREFIX + C + "Image", **IMAGE},
})

vector("operation_error_with_details", OP + "Operation", {
    "id": "fd8err0000000000000",
    "description": "Create image",
    "created_at": "2024-03-11T10:00:01Z",
    "created_by": "ajeq8t6r1a2b3c4d5e6f",
    "modified_at": "2024-03-11T10:00:02.5Z",
    "done": True,
    "metadata": {"@type": ANY_PREFIX + C + "CreateImageMetadata", "image_id": "fd8abc1def2ghi3jkl4m"},
    "error": {
        "code": 3,
        "message": "Illegal argument min_disk_size",
        "details": [
            {"@type": ANY_PREFIX + "google.rpc.ErrorInfo", "reason": "INVALID_ARGUMENT",
             "domain": "compute.api.cloud.yandex.net",
             "metadata": {"field": "min_disk_size", "limit": "4398046511104"}},
            {"@type": ANY_PREFIX + "google.rpc.BadRequest", "field_violations": [
                {"field": "min_disk_size", "description": "value must be in range 4194304-4398046511104"},
                {"field": "name", "description": "must match [a-z]([-_a-z0-9]{0,61}[a-z0-9])?"},
            ]},
        ],
    },
})

vector("operation_pending", OP + "Operation", {
    "id": "fd8pending0000000000",
    "description": "Update image",
    "created_at": "2024-03-11T10:00:01.311Z",
    "created_by": "ajeq8t6r1a2b3c4d5e6f",
    "modified_at": "2024-03-11T10:00:01.311Z",
    "done": False,
    "metadata": {"@type": ANY_PREFIX + C + "UpdateImageMetadata", "image_id": "fd8abc1def2ghi3jkl4m"},
})

# Empty has no special JSON form, so inside Any it is `{"@type": ...}` alone (Java, C++ and Python agree).
vector("operation_delete_empty_response", OP + "Operation", {
    "id": "fd8delete00000000000",
    "description": "Delete image",
    "created_at": "2024-03-11T11:00:00Z",
    "created_by": "ajeq8t6r1a2b3c4d5e6f",
    "modified_at": "2024-03-11T11:00:04.123Z",
    "done": True,
    "metadata": {"@type": ANY_PREFIX + C + "DeleteImageMetadata", "image_id": "fd8abc1def2ghi3jkl4m"},
    "response": {"@type": ANY_PREFIX + "google.protobuf.Empty"},
})

vector("update_image_request_with_mask", C + "UpdateImageRequest", {
    "image_id": "fd8abc1def2ghi3jkl4m",
    "update_mask": "name,minDiskSize,labels",
    "name": "ubuntu-renamed",
    "min_disk_size": "42949672960",
    "labels": {"env": "staging", "owner": "team-ml"},
})

CREATE_BASE = {
    "folder_id": "b1gq90dgh25bebiu75o",
    "name": "my-image",
    "description": "built by packer",
    "labels": {"env": "dev"},
    "family": "my-family",
    "min_disk_size": "4194304",
    "product_ids": ["f2ek1vhoppg2l2afslmq"],
    "os": {"type": "WINDOWS"},
    "pooled": True,
    "hardware_generation": {"generation2_features": {}},
}
for source, value in (
    ("image_id", "fd8src0image00000000"),
    ("disk_id", "fhm0disk000000000000"),
    ("snapshot_id", "fd8snap0000000000000"),
    ("uri", "https://storage.yandexcloud.net/bucket/image.qcow2?X-Amz-Signature=0123abc&X-Amz-Expires=3600"),
):
    vector("create_image_request_" + source, C + "CreateImageRequest", {**CREATE_BASE, source: value})

vector("list_images_response", C + "ListImagesResponse", {
    "images": [
        IMAGE,
        {**IMAGE, "id": "fd8second00000000000", "status": "CREATING", "labels": {}, "os": {"type": "WINDOWS"},
         "hardware_generation": {"generation2_features": {}}, "kms_key": None, "pooled": False},
        {"id": "fd8third000000000000", "folder_id": "standard-images", "status": "DELETING"},
    ],
    "next_page_token": "fd8third000000000000",
})

vector("image_status_unknown_number", C + "Image", {"id": "fd8unknownstatus0000", "status": 99})
vector("legacy_features_pci_topology_unknown_number", C + "LegacyHardwareFeatures", {"pci_topology": 7})

for digits, stamp in (
    (0, "2024-03-11T10:02:03Z"),
    (3, "2024-03-11T10:02:03.120Z"),
    (6, "2024-03-11T10:02:03.000456Z"),
    (9, "2024-03-11T10:02:03.123456789Z"),
):
    vector(f"timestamp_{digits}_fraction_digits", C + "Image", {"id": "fd8timestamp", "created_at": stamp})
vector("timestamp_oldest", C + "Image", {"created_at": "0001-01-01T00:00:00Z"})
vector("timestamp_newest", C + "Image", {"created_at": "9999-12-31T23:59:59.999999999Z"})
vector("timestamp_epoch", C + "Image", {"created_at": "1970-01-01T00:00:00Z"})
vector("timestamp_before_epoch", C + "Image", {"created_at": "1969-12-31T23:59:59.5Z"})

for label, value in (("max", "9223372036854775807"), ("min", "-9223372036854775808"), ("minus_one", "-1")):
    vector(f"int64_{label}", C + "ListImagesRequest", {"folder_id": "b1g", "page_size": value})
    vector(f"blob_size_{label}", CR + "Blob", {"size": value})
vector("int32_extremes_status_code_min", "google.rpc.Status", {"code": -2147483648})
vector("int32_extremes_status_code_max", "google.rpc.Status", {"code": 2147483647})

vector("strings_unicode_and_escapes", C + "Image", {
    "name": "quote\" backslash\\ slash/ newline\n tab\t cr\r bell\u0007 nul\u0000 del\u007f",
    "description": "Привет, 世界, emoji 🚀, combining é, rtl שלום, line sep \u2028, bom \ufeff",
    "labels": {"ключ": "значение", "": "empty key", "k\"q": "v\\b"},
    "product_ids": ["", " ", "<script>&amp;</script>"],
})

vector("retry_info_duration", "google.rpc.RetryInfo", {"retry_delay": "1.500s"})
vector("retry_info_duration_negative", "google.rpc.RetryInfo", {"retry_delay": "-0.000000001s"})

vector("list_image_operations_response", C + "ListImageOperationsResponse", {
    "operations": [
        {"id": "op1", "done": False, "metadata": {"@type": ANY_PREFIX + C + "UpdateImageMetadata", "image_id": "i1"}},
        {"id": "op2", "done": True, "response": {"@type": ANY_PREFIX + "google.protobuf.Empty"}},
    ],
    "next_page_token": "op2",
})

vector("access_bindings_operation", OP + "Operation", {
    "id": "op3",
    "done": True,
    "metadata": {"@type": ANY_PREFIX + "yandex.cloud.access.SetAccessBindingsMetadata", "resource_id": "fd8img"},
    "response": {"@type": ANY_PREFIX + "yandex.cloud.access.AccessBindingsOperationResult", "effective_deltas": [
        {"action": "ADD", "access_binding": {"role_id": "viewer", "subject": {"id": "allAuthenticatedUsers",
                                                                            "type": "system"}}},
        {"action": "REMOVE", "access_binding": {"role_id": "editor", "subject": {"id": "aje1", "type": "userAccount"}}},
    ]},
})

# Well-known types at the top level: JSON that is not an object.
vector("wkt_timestamp", "google.protobuf.Timestamp", "2024-03-11T10:02:03.456Z")
vector("wkt_duration", "google.protobuf.Duration", "3600.000001s")
vector("wkt_field_mask", "google.protobuf.FieldMask", "name,minDiskSize,hardwareGeneration.legacyFeatures")
vector("wkt_empty", "google.protobuf.Empty", {})
vector("wkt_any_image", "google.protobuf.Any", {"@type": ANY_PREFIX + C + "Image", "id": "fd8any", "size": "1"})
vector("wkt_any_timestamp", "google.protobuf.Any",
       {"@type": ANY_PREFIX + "google.protobuf.Timestamp", "value": "2024-03-11T10:02:03Z"})

# --- Enum fields in every shape (test-only `yc.test`, proto/yc/test/enum_shapes.proto) ----------------------------
# pbjson reads plain, optional, oneof, repeated and map-valued enums in different code; each must take names and
# numbers the schema does not know.

T = "yc.test."
vector("enum_shapes_known_names", T + "EnumShapes", {
    "plain": "LIGHT", "optional_shade": "DARK", "repeated_shades": ["LIGHT", "DARK", "SHADE_UNSPECIFIED"],
    "shade_by_name": {"b": "DARK", "a": "LIGHT"}, "shade_by_number": {"10": "DARK", "-1": "LIGHT", "2": "DARK"},
    "picked_shade": "DARK", "nested": {"shades": ["DARK"]},
})
vector("enum_shapes_unknown_numbers", T + "EnumShapes", {
    "plain": 7, "optional_shade": 8, "repeated_shades": [1, 9, 2147483647], "shade_by_name": {"x": 11, "y": "DARK"},
    "shade_by_number": {"3": -12, "1": "LIGHT"}, "picked_shade": 13, "nested": {"shades": [-2147483648]},
})
vector("enum_shapes_present_defaults", T + "EnumShapes", {
    "optional_shade": "SHADE_UNSPECIFIED", "picked_shade": 0, "shade_by_name": {"z": 0},
})
vector("enum_shapes_oneof_other_member", T + "EnumShapes", {"picked_name": "", "optional_shade": 0})

# --- Every other yandex.* and google.rpc type: empty, and filled by a generic filler ---------------------------

def fill(message, depth=0):
    """Sets every field of `message` to a recognisable non-default value, nested messages to a small depth."""
    desc = message.DESCRIPTOR
    name = desc.full_name
    if name == "google.protobuf.Timestamp":
        message.FromJsonString("2023-11-14T22:13:20.5Z")
        return
    if name == "google.protobuf.Duration":
        message.FromJsonString("2.25s")
        return
    if name == "google.protobuf.FieldMask":
        message.paths.extend(["name", "min_disk_size"])
        return
    if name == "google.protobuf.Any":
        inner = new(C + "CreateImageMetadata")
        inner.image_id = "fd8filled"
        message.Pack(inner)
        return
    seen_oneofs = set()
    for field in desc.fields:
        if field.containing_oneof is not None:
            if field.containing_oneof.name in seen_oneofs:
                continue
            seen_oneofs.add(field.containing_oneof.name)
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        repeated = field.is_repeated
        if is_map:
            value_field = field.message_type.fields_by_name["value"]
            container = getattr(message, field.name)
            key_field = field.message_type.fields_by_name["key"]
            for i in range(2):
                if key_field.type == descriptor.FieldDescriptor.TYPE_STRING:
                    key = f"{field.name}-key-{i}"
                else:
                    key = scalar(key_field, i)
                if value_field.message_type is not None:
                    if depth < 2:
                        fill(container[key], depth + 1)
                else:
                    container[key] = scalar(value_field, i)
        elif field.message_type is not None:
            if depth >= 2:
                continue
            if repeated:
                for _ in range(2):
                    fill(getattr(message, field.name).add(), depth + 1)
            else:
                fill(getattr(message, field.name), depth + 1)
                getattr(message, field.name).SetInParent()
        elif repeated:
            getattr(message, field.name).extend([scalar(field, 0), scalar(field, 1)])
        else:
            setattr(message, field.name, scalar(field, 0))


def scalar(field, i):
    t = field.type
    FD = descriptor.FieldDescriptor
    if t == FD.TYPE_STRING:
        return f"{field.name}-{i}"
    if t == FD.TYPE_BYTES:
        return bytes([0, 255, i])
    if t == FD.TYPE_BOOL:
        return True
    if t == FD.TYPE_ENUM:
        values = field.enum_type.values
        return values[min(1 + i, len(values) - 1)].number
    if t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64):
        return -(2 ** 40) - i
    if t in (FD.TYPE_UINT64, FD.TYPE_FIXED64):
        return 2 ** 63 + i
    if t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32):
        return -7 - i
    if t in (FD.TYPE_UINT32, FD.TYPE_FIXED32):
        return 4000000000 + i
    if t in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return 1.5 + i
    raise ValueError(f"unhandled field type {t} of {field.full_name}")


def all_messages():
    def walk(prefix, messages):
        for m in messages:
            full = f"{prefix}.{m.name}"
            if not m.options.map_entry:
                yield full
            yield from walk(full, m.nested_type)

    for file in FDS.file:
        yield from walk(file.package, file.message_type)


for type_name in sorted(all_messages()):
    if not type_name.startswith(("yandex.", "google.rpc.", "yc.test.")):
        continue
    slug = type_name.replace(".", "_")
    vector(f"empty_{slug}", type_name, message=new(type_name))
    filled = new(type_name)
    fill(filled)
    vector(f"filled_{slug}", type_name, message=filled)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for name, entry in sorted(VECTORS.items()):
        (OUT / f"{name}.json").write_text(json.dumps(entry, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(VECTORS)} vectors to {OUT.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
