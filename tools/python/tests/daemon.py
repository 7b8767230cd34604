"""A throwaway tiercached for the tests: free loopback ports, a temporary config, stopped
by pid. The binary is $TIERCACHED, else build/server/tiercached under the source root."""

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path


ROOT = Path(__file__).resolve().parents[3]
TIERCACHED = Path(os.environ.get("TIERCACHED", ROOT / "build" / "server" / "tiercached"))


def free_ports(count):
    """Ports the kernel gave out and took back; a daemon that finds one taken is restarted."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def deploy_section(name, path=ROOT / "deploy" / "tiercache-tiers.yaml"):
    """A top-level section of a deploy example, as its text (PyYAML reads YAML 1.1, where
    the rules' `on:` would become true; the daemon reads it as written)."""
    lines = Path(path).read_text().splitlines()
    start = lines.index(name + ":")
    end = start + 1
    while end < len(lines) and (not lines[end] or lines[end][0] in " #"):
        end += 1
    return "\n".join(lines[start:end]) + "\n"


class Daemon:
    """tiercached on its own ports with L1 alone (timeouts unscaled: ttl_factor 1.0) and
    the deploy example's model rules, unless `config` (YAML text) says otherwise."""

    def __init__(self, config=None):
        self.config = config if config is not None else (
            "l1:\n  ttl_factor: 1.0\n" + deploy_section("invalidation"))
        self.dir = tempfile.mkdtemp(prefix="tiercache-pytest-")
        self.process = None
        self.http_port = self.grpc_port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self):
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout=15.0):
        if not TIERCACHED.exists():
            raise RuntimeError(f"{TIERCACHED} is missing: build it first (cmake --build build)")
        config_path = Path(self.dir) / "tiercache.yaml"
        config_path.write_text(self.config)
        for _attempt in range(5):
            if self.http_port is None:
                self.http_port, self.grpc_port = free_ports(2)
            log = open(Path(self.dir) / "tiercached.log", "ab")
            self.process = subprocess.Popen(
                [str(TIERCACHED), "--config", str(config_path),
                 "--http-listen", f"127.0.0.1:{self.http_port}",
                 "--grpc-listen", f"127.0.0.1:{self.grpc_port}", "--resp-listen", ""],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_ready(timeout) and self._owns_port(self.http_port):
                return self
            # A port taken between picking and binding: new ports, new process.
            self.stop()
            self.http_port = None
        raise RuntimeError("tiercached did not start; log: " + self.log())

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def _owns_port(self, port):
        """Whether this process listens on `port`, not another test's daemon that took it
        between picking and binding (its listening socket's inode is one of our fds)."""
        inodes = set()
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
        fd_dir = f"/proc/{self.process.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return True
        return False

    def stop(self):
        """SIGTERM and wait; the ports stay this daemon's for a later start()."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self):
        try:
            return (Path(self.dir) / "tiercached.log").read_text(errors="replace")
        except OSError:
            return ""
