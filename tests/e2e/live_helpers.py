"""Helpers of the live-data tests (Samba, sshfs): run openwmi against a private server and
read its JSON answer, and write fake smbstatus programs for the failure modes."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path
from typing import Optional

import harness

WBEM_E_FAILED = "WBEM_E_FAILED (0x80041001)"


def openwmi(*args, env: Optional[dict] = None, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """openwmi with `args`, not checked."""
    return harness.run_openwmi(*args, check=False, env=env, timeout=timeout)


def query(conf: Path, wql: str, *options: str) -> list[dict]:
    """The rows of `openwmi --smb-conf CONF query -o json WQL` (the command must succeed)."""
    r = harness.run_openwmi("--smb-conf", conf, *options, "query", "-o", "json", wql)
    return json.loads(r.stdout)


def get(conf: Path, path: str, *options: str) -> dict:
    r = harness.run_openwmi("--smb-conf", conf, *options, "get", "-o", "json", path)
    rows = json.loads(r.stdout)
    assert isinstance(rows, list) and len(rows) == 1, r.stdout
    return rows[0]


def failure(r: subprocess.CompletedProcess) -> str:
    """The error line of a failed openwmi run (exit 1, nothing on stdout but the empty frame)."""
    assert r.returncode == 1, f"exit {r.returncode}\n--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}"
    lines = [l for l in r.stderr.splitlines() if l.startswith("error: ")]
    assert lines, r.stderr
    return lines[-1]


def keys(rows: list[dict], *names: str) -> list[tuple]:
    return sorted(tuple(row[n] for n in names) for row in rows)


def conn_path(computer: str, share: str, user: str) -> str:
    return (f'Win32_ServerConnection.ComputerName="{computer}",ShareName="{share}",'
            f'UserName="{user}"')


def path_tail(full: str) -> str:
    """`Class.keys` of a full WMI path `\\\\HOST\\root\\cimv2:Class.keys` (HOST is the local name)."""
    assert full.startswith("\\\\"), full
    host_ns, _, rest = full.partition(":")
    assert host_ns.lower().endswith("\\root\\cimv2"), full
    return rest


def script(directory: Path, name: str, body: str) -> Path:
    """An executable /bin/sh script."""
    p = directory / name
    p.write_text("#!/bin/sh\n" + body + "\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


def counting_smbstatus(directory: Path) -> tuple[Path, Path]:
    """A wrapper that appends one line per run to a counter file, then execs the real
    smbstatus. Returns (wrapper, counter file)."""
    counter = directory / "smbstatus-runs"
    real = shutil.which("smbstatus")
    assert real, "smbstatus not installed"
    wrapper = script(directory, "smbstatus", f'echo "$$ $*" >> "{counter}"\nexec "{real}" "$@"')
    return wrapper, counter


def runs(counter: Path) -> int:
    try:
        return len(counter.read_text().splitlines())
    except FileNotFoundError:
        return 0


def wait_rows(conf: Path, wql: str, predicate, what: str, timeout: float = 10.0) -> list[dict]:
    """Polls the openwmi query until `predicate(rows)` holds (smbd updates its records
    asynchronously after a disconnect)."""
    last: list[dict] = []
    deadline = time.monotonic() + timeout
    while True:
        last = query(conf, wql)
        if predicate(last):
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last rows: {json.dumps(last)[:3000]}")
        time.sleep(0.2)


def is_root() -> bool:
    return os.geteuid() == 0


class SshfsMountWithOptions(harness.SshfsMount):
    """An sshfs mount with extra `-o` options (e.g. `ro`), unmounted like the harness's own."""

    def __init__(self, ssh, remote_path: Path, mount_point: Path, options: str):
        super().__init__(ssh, remote_path, mount_point)
        self.options = options

    def mount(self, timeout: float = 20.0) -> "SshfsMountWithOptions":
        self.mount_point.mkdir(parents=True, exist_ok=True)
        opts = ",".join([self.options, f"IdentityFile={self.ssh.client_key}", "IdentitiesOnly=yes",
                         "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                         "BatchMode=yes", "LogLevel=ERROR"])
        r = subprocess.run(["sshfs", "-p", str(self.ssh.port), "-o", opts, self.source,
                            str(self.mount_point)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise harness.HarnessError(f"sshfs failed ({r.returncode}): {r.stderr.strip()}")
        self.mounted = True
        harness.wait_until(lambda: harness.find_mount(self.mount_point), timeout,
                           f"{self.mount_point} in mountinfo")
        return self
