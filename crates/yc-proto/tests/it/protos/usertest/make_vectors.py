"""Reference JSON for `widget.proto`, a type only the dynamic codec knows, written by protobuf's Python runtime.

Usage (the descriptor set is what the test compiles with protox, written out on request):

    YC_PROTO_WRITE_USERTEST_FDS=/tmp/widget.fds cargo test -p yc-proto --test it user_types
    python make_vectors.py /tmp/widget.fds > vectors.json

Each vector is an input the reference parser reads, its binary form, and the JSON the reference writes in both
styles; "_sorted" forms have map entries sorted by key value (numbers as numbers), the order our writers use.
"""

import base64
import json
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

INPUTS = {
    "scalars_wrappers_struct_maps": {
        "name": "w1", "count": "42", "attrs": {"b": 1, "a": [1, "x", None, True, {"z": {}}]}, "loose": "s",
        "colors": ["RED", 7, "GREEN"], "color": 9, "by_id": {"10": "ten", "-2": "minus two", "3": "three"},
        "label": "", "list": [], "flag": False, "ratio": 0.1, "big": "18446744073709551615", "blob": "AAEC",
        "at": "2024-03-11T10:02:03.456Z", "ttl": "-1.5s", "mask": "a.bC,d", "color_by_name": {"x": 5, "y": "RED"},
        "maybe": 0, "picked": 77, "nothing": None, "f": 0.1, "rawBytes": "/w==",
    },
    "any_of_user_and_well_known_types": {
        "payload": {
            "@type": "type.googleapis.com/yc.usertest.Widget", "name": "inner",
            "payload": {"@type": "type.googleapis.com/google.protobuf.Int64Value", "value": "-5"},
        },
        "extras": [
            {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"k": [1.5, "v"]}},
            {"@type": "type.googleapis.com/google.protobuf.Empty"},
            {"@type": "type.googleapis.com/google.protobuf.Value", "value": None},
            {"@type": "type.googleapis.com/google.protobuf.Timestamp", "value": "1970-01-01T00:00:00Z"},
            {"@type": "type.googleapis.com/google.protobuf.FieldMask", "value": "fooBar"},
            {"@type": "type.googleapis.com/google.protobuf.BoolValue", "value": True},
        ],
        "other": "", "loose": {"n": None}, "none": {},
    },
    "defaults_with_presence_and_special_floats": {
        "loose": None, "picked": "COLOR_UNSPECIFIED", "count": 0, "ratio": "NaN", "f": "-Infinity",
    },
}


def sort_json(value):
    """A `Struct`'s JSON with its keys sorted, all the way down."""
    if isinstance(value, dict):
        return {k: sort_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [sort_json(v) for v in value]
    return value


def sort_maps(value, desc, snake):
    if not isinstance(value, dict):
        return value
    if desc.full_name == "google.protobuf.Any":
        return value
    if desc.full_name in ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"):
        return sort_json(value)
    out = dict(value)
    for field in desc.fields:
        key = field.name if snake else field.json_name
        if key not in out or field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            key_field = field.message_type.fields_by_name["key"]
            numeric = key_field.cpp_type in (1, 2, 3, 4)  # int32, int64, uint32, uint64
            out[key] = dict(sorted(out[key].items(), key=lambda kv: int(kv[0]) if numeric else kv[0]))
        elif not field.is_repeated:
            out[key] = sort_maps(out[key], field.message_type, snake)
    return out


def main():
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(sys.argv[1], "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    desc = pool.FindMessageTypeByName("yc.usertest.Widget")
    cls = message_factory.GetMessageClass(desc)
    vectors = []
    for name, value in INPUTS.items():
        message = cls()
        json_format.ParseDict(value, message, descriptor_pool=pool)
        entry = {"name": name, "input": json.dumps(value, ensure_ascii=False),
                 "binary": base64.b64encode(message.SerializeToString(deterministic=True)).decode("ascii")}
        for style, snake in (("snake", True), ("camel", False)):
            as_dict = json_format.MessageToDict(message, preserving_proto_field_name=snake, descriptor_pool=pool)
            entry[style] = json.dumps(as_dict, separators=(",", ":"), ensure_ascii=False)
            entry[style + "_sorted"] = json.dumps(sort_maps(as_dict, desc, snake), separators=(",", ":"),
                                                  ensure_ascii=False)
        vectors.append(entry)
    json.dump(vectors, sys.stdout, indent=1, ensure_ascii=False)
    print()


main()
