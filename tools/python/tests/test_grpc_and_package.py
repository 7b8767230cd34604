"""The optional gRPC client, and the package as users get it: its version is the
server's, its generated protobuf code matches the proto, `pip install ./tools/python`
works offline in a virtual environment."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tiercache import Client, InvalidRequest, __version__
from tiercache.grpc import GrpcClient

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]


@pytest.fixture
def grpc_client(daemon, client):
    c = GrpcClient(daemon.grpc_target)
    yield c
    c.close()


def test_grpc_and_http_see_the_same_entries(grpc_client, client):
    grpc_client.set("g:1", {"a": 1}, ttl=60, tags=["g"])
    assert client.get("g:1") == {"a": 1}
    client.set("h:1", "text", ttl=30)
    entry = grpc_client.get_entry("h:1")
    assert (entry.value, entry.tier, entry.ttl) == ("text", "L1", 30)
    assert grpc_client.invalidate(tags=["g"])["invalidated"] == 1
    assert grpc_client.get("g:1") is None and client.get("g:1") is None
    assert grpc_client.delete("h:1") and not grpc_client.delete("h:1")
    job = grpc_client.schedule_invalidation(600, keys=["x"])
    assert any(j["id"] == job for j in grpc_client.list_jobs())
    assert grpc_client.cancel_job(job)
    assert grpc_client.status()["version"] == __version__
    with pytest.raises(InvalidRequest):
        grpc_client.invalidate(pattern="(")


def test_the_package_version_is_the_servers():
    cmake = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r"project\(tiercache VERSION ([0-9.]+)", cmake).group(1) == __version__


def test_the_generated_protobuf_code_matches_the_proto():
    protoc = shutil.which("protoc")
    assert protoc, "protoc (protobuf-compiler) is installed by tools/install-deps.sh"
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([protoc, f"--python_out={out}", "-I", str(ROOT / "proto/tiercache/v1"),
                        str(ROOT / "proto/tiercache/v1/cache.proto")], check=True)
        fresh = (Path(out) / "cache_pb2.py").read_text()
    assert fresh == (PACKAGE / "tiercache/_proto/cache_pb2.py").read_text(), (
        "regenerate tiercache/_proto/cache_pb2.py (see tiercache/_proto/__init__.py)")


def test_pip_installs_the_package_offline_into_a_virtualenv(daemon, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    build = tmp_path / "src"
    shutil.copytree(PACKAGE, build, ignore=shutil.ignore_patterns("tests", "__pycache__",
                                                                   "*.egg-info", "build"))
    subprocess.run([str(venv / "bin/pip"), "install", "-q", "--no-index",
                    "--no-build-isolation", str(build)], check=True,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    probe = ("import tiercache, tiercache.django, tiercache.grpc, sys;"
             "c = tiercache.Client(sys.argv[1]); c.set('installed', 'yes');"
             "print(tiercache.__file__, tiercache.__version__, c.get('installed'))")
    out = subprocess.run([str(venv / "bin/python"), "-c", probe, daemon.url], check=True,
                         capture_output=True, text=True, cwd=tmp_path).stdout.split()
    assert out[0].startswith(str(venv)) and out[1:] == [__version__, "yes"]
    assert (Path(out[0]).parent / "py.typed").exists()
