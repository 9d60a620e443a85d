"""The README's pytest example, as a user writes it: `yc-vcr replay` as a sidecar for the whole session, every test
rewinding the sequences first, so each one sees an operation go from pending to done from the start.

Run by crates/yc-vcr/tests/it/python_sdk.rs with `yc-vcr` on PATH and YC_VCR_CASSETTES naming the cassettes.
"""

import os
import subprocess
import urllib.request

import pytest
import yandexcloud
from yandex.cloud.compute.v1.image_service_pb2 import GetImageRequest
from yandex.cloud.compute.v1.image_service_pb2_grpc import ImageServiceStub
from yandex.cloud.operation.operation_service_pb2 import GetOperationRequest
from yandex.cloud.operation.operation_service_pb2_grpc import OperationServiceStub


@pytest.fixture(scope="session")
def yc_vcr():
    proc = subprocess.Popen(
        ["yc-vcr", "replay", "--cassette", os.environ["YC_VCR_CASSETTES"], "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    address = proc.stdout.readline().split("http://")[1].strip()  # listening on http://ADDR
    ca = proc.stdout.readline().rsplit(" ", 1)[1].strip()  # tls: https://ADDR, CA certificate PATH
    yield address, ca
    proc.terminate()
    proc.wait()


@pytest.fixture
def sdk(yc_vcr):
    address, ca = yc_vcr
    urllib.request.urlopen(urllib.request.Request(f"http://{address}/_yc-vcr/reset", method="POST"))
    return yandexcloud.SDK(iam_token="t1.any", endpoint=address, root_certificates=open(ca, "rb").read())


def poll(sdk):
    operations = sdk.client(OperationServiceStub)
    return [operations.Get(GetOperationRequest(operation_id="fd8nq2c9t4v6x8z1b3d5")).done for _ in range(3)]


def test_an_image_is_served(sdk):
    image = sdk.client(ImageServiceStub).Get(GetImageRequest(image_id="fd8j4ab7nq2vd1sg3k9p"))
    assert image.name == "ubuntu-22-04-lts-v20240311"


def test_the_operation_finishes(sdk):
    assert poll(sdk) == [False, False, True]


def test_the_operation_finishes_again_in_the_next_test(sdk):
    assert poll(sdk) == [False, False, True]
