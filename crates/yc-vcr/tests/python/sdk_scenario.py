"""Calls the bundled scenarios with the official Yandex Cloud Python SDK's gRPC stubs (grpcio).

Usage: python sdk_scenario.py HOST:PORT
Prints one JSON object per call, so that runs against different servers can be compared line by line.
"""

import json
import sys

import grpc
from google.protobuf import json_format
from yandex.cloud.compute.v1 import image_service_pb2 as compute
from yandex.cloud.compute.v1 import image_service_pb2_grpc as compute_grpc
from yandex.cloud.containerregistry.v1 import image_service_pb2 as registry
from yandex.cloud.containerregistry.v1 import image_service_pb2_grpc as registry_grpc
from yandex.cloud.operation import operation_service_pb2 as operation
from yandex.cloud.operation import operation_service_pb2_grpc as operation_grpc

# Shaped like an IAM token, so that recording must redact it; it grants nothing.
TOKEN = "t1.9euelZqKnJiSkMiWnpWPyZKalJ7Li-3rnpWajpuTlIuWzJyenpKSmJKQnM7l8_dPYXZ4-e9vMWJxVv3t8_cPKXZ4-e9vMWJxVv3N5_XrnpWax5CVkZiazc6ZnZ7Knp2OxpKR7_zF656Vmsexxw.cVwk0tDRh0NzvxNXcTZ6SCl5hHM9LIR7z_PTWBg3rHKhYbwNA0Ngk9Cz2Efk7A7SZLF4BzdqMZVq9m4pj_jbDA"
METADATA = [("authorization", f"Bearer {TOKEN}")]


def call(name, stub_method, request):
    try:
        response = stub_method(request, metadata=METADATA)
        out = {"call": name, "ok": json_format.MessageToDict(response, preserving_proto_field_name=True)}
    except grpc.RpcError as error:
        out = {"call": name, "code": error.code().name, "message": error.details().splitlines()[0]}
    print(json.dumps(out, sort_keys=True), flush=True)


def main():
    channel = grpc.insecure_channel(sys.argv[1])
    images = compute_grpc.ImageServiceStub(channel)
    registry_images = registry_grpc.ImageServiceStub(channel)
    operations = operation_grpc.OperationServiceStub(channel)

    call("compute Get", images.Get, compute.GetImageRequest(image_id="fd8j4ab7nq2vd1sg3k9p"))
    call("compute Get missing", images.Get, compute.GetImageRequest(image_id="fd8zq4x6c8v0b2n4m6k8"))
    call("registry Get", registry_images.Get, registry.GetImageRequest(image_id="crp3a5b7c9d1e3f5g7h9"))
    create = compute.CreateImageRequest(
        folder_id="b1g8a1e2k4m6n8p0q2r4",
        name="app-image-v42",
        description="Application image, build 42",
        labels={"env": "ci"},
        family="app-image",
        min_disk_size=10737418240,
        disk_id="fhm1o2p3q4r5s6t7u8v9",
    )
    create.os.type = create.os.LINUX
    call("compute Create", images.Create, create)
    # Polls once more than was recorded: the final state repeats.
    for attempt in range(4):
        call(f"operation Get #{attempt}", operations.Get, operation.GetOperationRequest(operation_id="fd8nq2c9t4v6x8z1b3d5"))


if __name__ == "__main__":
    main()
