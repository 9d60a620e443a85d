"""A test as a user of the official Yandex Cloud Python SDK writes it: the SDK is configured with an endpoint, a CA
and an OAuth token, and nothing else; it discovers its endpoints, exchanges the OAuth token for an IAM token, and
waits for an operation, all through the yc-vcr server it is pointed at.

Usage: python sdk_user.py HOST:PORT CA_PEM OAUTH_TOKEN
Prints one JSON object per call, so that runs against different servers can be compared line by line.
"""

import json
import sys

import grpc
import yandexcloud
from google.protobuf import json_format
from yandex.cloud.compute.v1.image_pb2 import Image
from yandex.cloud.compute.v1.image_service_pb2 import CreateImageMetadata, CreateImageRequest, GetImageRequest
from yandex.cloud.compute.v1.image_service_pb2_grpc import ImageServiceStub
from yandex.cloud.containerregistry.v1.image_service_pb2 import GetImageRequest as GetRegistryImageRequest
from yandex.cloud.containerregistry.v1.image_service_pb2_grpc import ImageServiceStub as RegistryImageServiceStub


def show(name, call):
    try:
        out = {"call": name, "ok": json_format.MessageToDict(call(), preserving_proto_field_name=True)}
    except grpc.RpcError as error:
        out = {"call": name, "code": error.code().name, "message": error.details().splitlines()[0]}
    print(json.dumps(out, sort_keys=True), flush=True)


def main():
    endpoint, ca, token = sys.argv[1:4]
    with open(ca, "rb") as pem:
        sdk = yandexcloud.SDK(token=token, endpoint=endpoint, root_certificates=pem.read())

    images = sdk.client(ImageServiceStub)
    show("compute Get", lambda: images.Get(GetImageRequest(image_id="fd8j4ab7nq2vd1sg3k9p")))
    show("compute Get missing", lambda: images.Get(GetImageRequest(image_id="fd8zq4x6c8v0b2n4m6k8")))

    registry = sdk.client(RegistryImageServiceStub)
    show("registry Get", lambda: registry.Get(GetRegistryImageRequest(image_id="crp3a5b7c9d1e3f5g7h9")))

    create = CreateImageRequest(
        folder_id="b1g8a1e2k4m6n8p0q2r4",
        name="app-image-v42",
        description="Application image, build 42",
        labels={"env": "ci"},
        family="app-image",
        min_disk_size=10737418240,
        disk_id="fhm1o2p3q4r5s6t7u8v9",
    )
    create.os.type = create.os.LINUX
    operation = images.Create(create)
    result = sdk.wait_operation_and_get_result(operation, response_type=Image, meta_type=CreateImageMetadata)
    show("compute Create, waited", lambda: result.response)
    show("compute Create, metadata", lambda: result.meta)


if __name__ == "__main__":
    main()
