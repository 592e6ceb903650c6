"""The committed gRPC code is the .proto's (scripts/gen_proto.sh, docs/GRPC.md).

Two checks: the descriptor compiled into the committed ``provider_pb2.py`` equals the one
protoc compiles from ``proto/provider/v1/provider.proto`` now (so an edited .proto without
a regeneration fails, whatever grpcio-tools version is installed); and running the script
into a temporary directory gives the committed files byte for byte when the installed
grpcio-tools is the version they were generated with (recorded in the generated stub), or
else at least the same service stub apart from that version line.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

from obmcp._proto.provider.v1 import provider_pb2, provider_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "src" / "obmcp" / "_proto" / "provider" / "v1"
NAMES = ("provider_pb2.py", "provider_pb2.pyi", "provider_pb2_grpc.py")


def _without_json_names(messages) -> None:
    """protoc's descriptor set carries each field's json_name; the generated module does not."""
    for message in messages:
        for item in message.field:
            item.ClearField("json_name")
        _without_json_names(message.nested_type)


def test_committed_descriptor_is_the_protos(tmp_path: Path):
    out = tmp_path / "provider.pb"
    status = protoc.main(["protoc", "-Iobmcp/_proto=" + str(ROOT / "proto"), f"--descriptor_set_out={out}",
                          "obmcp/_proto/provider/v1/provider.proto"])  # fmt: skip
    assert status == 0
    compiled = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    assert [f.name for f in compiled] == ["obmcp/_proto/provider/v1/provider.proto"]
    _without_json_names(compiled[0].message_type)
    committed = descriptor_pb2.FileDescriptorProto.FromString(provider_pb2.DESCRIPTOR.serialized_pb)
    assert committed == compiled[0]
    assert [m.name for m in provider_pb2.DESCRIPTOR.services_by_name["Provider"].methods] == [
        "ListCapabilities", "Invoke", "ReadResource", "GetPrompt"]


def test_gen_script_reproduces_the_committed_files(tmp_path: Path):
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    run = subprocess.run(["sh", str(ROOT / "scripts" / "gen_proto.sh")], env=env, capture_output=True, text=True,
                         timeout=120, stdin=subprocess.PIPE)  # fmt: skip
    assert run.returncode == 0, run.stderr
    fresh = tmp_path / "obmcp" / "_proto" / "provider" / "v1"
    tools_version = importlib.metadata.version("grpcio-tools")
    for name in NAMES:
        new, old = (fresh / name).read_text(), (GENERATED / name).read_text()
        if tools_version == provider_pb2_grpc.GRPC_GENERATED_VERSION:
            assert new == old, f"{name} differs from a fresh scripts/gen_proto.sh: regenerate and commit"
        elif name == "provider_pb2_grpc.py":  # another grpcio-tools: only its version line may differ
            version = re.compile(r"GRPC_GENERATED_VERSION = '[^']*'")
            assert version.sub("", new) == version.sub("", old)
