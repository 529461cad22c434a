"""Real components for the end-to-end suite: a private Samba server, SMB clients that hold
connections open, a private sshd with an sshfs mount, and a runner for the openwmi binary.

Everything a server needs lives under its own temporary directory and listens on a free
loopback port, so several runs (or parallel tests) never share state. Every server is a
context manager and stops its whole process group on exit, also when a test fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

REPO_ROOT = Path(__file__).resolve().parents[2]

# Unix users the Samba fixtures add to the private passdb. The password is only ever
# stored in the throw-away passdb of a test server.
DEFAULT_SMB_USERS = {"owtest1": "Ow-test1-pw", "owtest2": "Ow-test2-pw"}


class HarnessError(RuntimeError):
    """A real component could not be started, reached or stopped."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_root(reason: str) -> None:
    """Stops a test that needs root (smbstatus, smbd, packages) when not root: a failure
    under CI, where a test that needs a real component must never silently skip; a skip on a
    developer's machine."""
    if os.geteuid() == 0:
        return
    import pytest  # only the test suite calls this; the bench scripts import harness too

    if in_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def missing_programs(programs: Iterable[str]) -> list[str]:
    return [p for p in programs if shutil.which(p) is None]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the kernel picks it, so parallel runs differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.05):
    """Polls `predicate` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return "<no log>"


def _stop_group(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """Ends `proc` and every process of its own process group (started with start_new_session)."""
    if proc.poll() is None or _group_alive(proc.pid):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                proc.poll()
                if not _group_alive(proc.pid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process of group `pgid` remains. kill(-pgid, 0) is not
    enough: orphans are re-parented to PID 1, which on some machines never reaps them."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        rest = text[text.rfind(")") + 2:].split()
        if len(rest) > 2 and rest[2] == str(pgid) and rest[0] not in ("Z", "X"):
            return True
    return False


def ensure_unix_user(name: str) -> None:
    """Creates a Unix user without home or login shell unless it exists (Samba maps to it)."""
    if subprocess.run(["id", "-u", name], capture_output=True).returncode == 0:
        return
    for _ in range(20):
        r = subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            text=True,
        )
        # 9: already exists (a parallel run won the race); 10: /etc/passwd locked, retry.
        if r.returncode in (0, 9):
            return
        if r.returncode != 10:
            raise HarnessError(f"useradd {name} failed ({r.returncode}): {r.stderr.strip()}")
        time.sleep(0.2)
    raise HarnessError(f"useradd {name}: /etc/passwd stayed locked")


def _make_base_dir(prefix: str) -> Path:
    # Short paths under /tmp: Samba's unix sockets live under these dirs, and sun_path is
    # limited to 108 bytes. 0755 so that smbd, acting as the connected user, can walk in.
    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    return base


# --------------------------------------------------------------------------------------
# Samba


@dataclass
class Share:
    name: str
    path: Path
    comment: str = ""
    extra: dict = field(default_factory=dict)


class SambaServer:
    """A private smbd on 127.0.0.1:<free port> with its own smb.conf, passdb and state.

    Shares: `public` (guest ok), `private` (valid users = the test users) and `data` (with a
    comment, `max connections = 5`, a path containing a space). IPC$ exists as always.
    """

    SMBD = "smbd"

    def __init__(self, users: Optional[dict[str, str]] = None, keep_dir: bool = False):
        self.users = dict(DEFAULT_SMB_USERS if users is None else users)
        self.keep_dir = keep_dir
        self.base = _make_base_dir("ow-smb-")
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.log_path = self.base / "smbd.out"
        shares_dir = self.base / "shares"
        self.shares = [
            Share("public", shares_dir / "public", extra={"guest ok": "yes"}),
            Share("private", shares_dir / "private", extra={"valid users": " ".join(self.users)}),
            Share("data", shares_dir / "data dir", comment="Team data (test share)",
                  extra={"max connections": "5"}),
        ]

    # -- configuration

    @property
    def conf_path(self) -> Path:
        return self.base / "smb.conf"

    def share(self, name: str) -> Share:
        for s in self.shares:
            if s.name == name:
                return s
        raise KeyError(name)

    def unc(self, share: str) -> str:
        return rf"\\127.0.0.1\{share}"

    def _write_conf(self) -> None:
        b = self.base
        lines = [
            "[global]",
            "  server role = standalone server",
            "  workgroup = OWTEST",
            "  netbios name = OWTESTSRV",
            f"  smb ports = {self.port}",
            "  interfaces = lo",
            "  bind interfaces only = yes",
            "  disable netbios = yes",
            f"  private dir = {b}/private",
            f"  lock directory = {b}/lock",
            f"  state directory = {b}/state",
            f"  cache directory = {b}/cache",
            f"  pid directory = {b}/pid",
            f"  ncalrpc dir = {b}/ncalrpc",
            f"  log file = {b}/log/log.%m",
            "  log level = 1",
            f"  passdb backend = tdbsam:{b}/private/passdb.tdb",
            "  load printers = no",
            "  printing = bsd",
            "  printcap name = /dev/null",
            "  disable spoolss = yes",
            "  map to guest = bad user",
            "  usershare max shares = 0",
        ]
        for s in self.shares:
            lines += ["", f"[{s.name}]", f"  path = {s.path}", "  read only = no"]
            if s.comment:
                lines.append(f"  comment = {s.comment}")
            lines += [f"  {k} = {v}" for k, v in s.extra.items()]
        self.conf_path.write_text("\n".join(lines) + "\n")

    # -- life cycle

    def start(self, timeout: float = 30.0) -> "SambaServer":
        for sub in ("private", "lock", "state", "cache", "pid", "ncalrpc", "log"):
            (self.base / sub).mkdir(exist_ok=True)
        (self.base / "private").chmod(0o700)
        for s in self.shares:
            s.path.mkdir(parents=True, exist_ok=True)
            s.path.chmod(0o777)
        for name in self.users:
            ensure_unix_user(name)

        last_error: Optional[Exception] = None
        for _attempt in range(3):  # a port taken between free_port() and bind: pick again
            self.port = free_port()
            self._write_conf()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.SMBD, "--foreground", "--no-process-group", "--debug-stdout",
                 "--debuglevel=1", f"--configfile={self.conf_path}"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            log.close()
            try:
                wait_until(lambda: self.proc.poll() is not None or port_accepts(self.port),
                           timeout, f"smbd to listen on 127.0.0.1:{self.port}")
            except HarnessError as e:
                last_error = e
                _stop_group(self.proc)
                continue
            if self.proc.poll() is None:
                break
            last_error = HarnessError(f"smbd exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
        else:
            raise HarnessError(f"could not start smbd: {last_error}")

        for name, password in self.users.items():
            self.add_user(name, password)
        return self

    def add_user(self, name: str, password: str) -> None:
        ensure_unix_user(name)
        r = subprocess.run(
            ["smbpasswd", "-c", str(self.conf_path), "-a", "-s", name],
            input=f"{password}\n{password}\n", capture_output=True, text=True, timeout=30,
        )
        if r.returncode != 0:
            raise HarnessError(f"smbpasswd -a {name} failed: {r.stdout}{r.stderr}")
        self.users[name] = password

    def stop_smbd(self) -> None:
        """Ends smbd and all its children; configuration and state stay."""
        if self.proc is not None:
            _stop_group(self.proc)
            self.proc = None

    def stop(self) -> None:
        self.stop_smbd()
        if not self.keep_dir:
            shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "SambaServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- observation

    def smbstatus(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run(["smbstatus", "-s", str(self.conf_path), *args],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise HarnessError(f"smbstatus {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def smbstatus_text(self) -> str:
        return self.smbstatus("--json").stdout

    def smbstatus_json(self) -> dict:
        return json.loads(self.smbstatus_text())

    def testparm_text(self) -> str:
        r = subprocess.run(["testparm", "-s", str(self.conf_path)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise HarnessError(f"testparm failed: {r.stderr}")
        return r.stdout

    def wait_for_status(self, predicate: Callable[[dict], bool], what: str,
                        timeout: float = 10.0) -> dict:
        """Polls smbstatus --json until `predicate(status)` holds; returns that status."""
        last: dict = {}

        def probe():
            nonlocal last
            last = self.smbstatus_json()
            return predicate(last)

        try:
            wait_until(probe, timeout, what, interval=0.1)
        except HarnessError as e:
            raise HarnessError(f"{e}; last smbstatus: {json.dumps(last)[:3000]}") from None
        return last


# Summaries of `smbstatus --json` that tests compare (the raw document is keyed by ids).

def status_sessions(status: dict) -> list[dict]:
    return list(status.get("sessions", {}).values())


def status_tcons(status: dict) -> list[dict]:
    return list(status.get("tcons", {}).values())


def status_opens(status: dict) -> list[tuple[str, dict]]:
    """(full path, open) for every open of every file."""
    return [(path, op) for path, f in status.get("open_files", {}).items()
            for op in f.get("opens", {}).values()]


def status_user_services(status: dict) -> list[tuple[str, str]]:
    """Sorted (username, service) for every tree connect."""
    sessions = status.get("sessions", {})
    return sorted((sessions.get(t["session_id"], {}).get("username", "?"), t["service"])
                  for t in status_tcons(status))


class SmbConnection:
    """One SMB2/3 connection + authenticated session, via the smbprotocol package, for precise
    control: several tree connects on one session, files held open, explicit disconnects.

    smbd 4.17 refuses a tree connect from an authenticated session that neither signs nor
    encrypts, while a guest session (unknown user, `map to guest = bad user`) cannot sign: so
    connect guests with `signing=False`."""

    def __init__(self, server: SambaServer, user: str, password: Optional[str] = None,
                 encrypt: bool = False, signing: bool = True):
        from smbprotocol.connection import Connection
        from smbprotocol.session import Session

        self.server = server
        self.user = user
        self.trees: list = []
        self.opens: list = []
        self.signing = signing
        self.connection = Connection(uuid.uuid4(), "127.0.0.1", server.port,
                                     require_signing=signing)
        self.connection.connect(timeout=15)
        pw = server.users.get(user, "") if password is None else password
        self.session = Session(self.connection, user, pw, require_encryption=encrypt,
                               auth_protocol="ntlm")
        self.session.connect()
        self.connected = True

    def tree_connect(self, share: str):
        from smbprotocol.tree import TreeConnect

        tree = TreeConnect(self.session, self.server.unc(share))
        # Secure-negotiate validation needs a signing key, which a guest session lacks.
        tree.connect(require_secure_negotiate=self.signing)
        self.trees.append(tree)
        return tree

    def open_pipe(self, tree, name: str = "srvsvc"):
        """Opens a named pipe on an IPC$ tree and keeps it open."""
        return self._create(tree, name, create=False)

    def open_file(self, tree, name: str, create: bool = True):
        """Opens (creating if asked) `name` for read/write and keeps it open."""
        return self._create(tree, name, create)

    def _create(self, tree, name: str, create: bool):
        from smbprotocol.open import (CreateDisposition, CreateOptions, FileAttributes,
                                      FilePipePrinterAccessMask, ImpersonationLevel, Open,
                                      ShareAccess)

        handle = Open(tree, name)
        handle.create(
            ImpersonationLevel.Impersonation,
            FilePipePrinterAccessMask.GENERIC_READ | FilePipePrinterAccessMask.GENERIC_WRITE,
            FileAttributes.FILE_ATTRIBUTE_NORMAL,
            ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE,
            CreateDisposition.FILE_OPEN_IF if create else CreateDisposition.FILE_OPEN,
            CreateOptions.FILE_NON_DIRECTORY_FILE,
        )
        self.opens.append(handle)
        return handle

    def close_file(self, handle) -> None:
        handle.close()
        self.opens.remove(handle)

    def tree_disconnect(self, tree) -> None:
        tree.disconnect()
        self.trees.remove(tree)

    def close(self) -> None:
        """Drops the TCP connection (smbd then ends the session and its tree connects)."""
        if not self.connected:
            return
        self.connected = False
        try:
            self.connection.disconnect(close=True)
        except Exception:  # the server may already be gone at teardown
            pass

    def __enter__(self) -> "SmbConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SmbClientProcess:
    """The `smbclient` program connected to one share, driven through a pipe. Its `open FILE`
    command keeps the file open until `close FNUM` or quit."""

    def __init__(self, server: SambaServer, share: str, user: str, password: Optional[str] = None):
        pw = server.users[user] if password is None else password
        self.server = server
        # stdbuf: smbclient's stdout is block-buffered on a pipe; line buffering lets us
        # wait for each answer.
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "smbclient", f"//127.0.0.1/{share}", "-p", str(server.port),
             "-U", f"{user}%{pw}", "--option=client min protocol=SMB2"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1, start_new_session=True,
        )
        self.transcript: list[str] = []
        self._lines: "queue.Queue[Optional[str]]" = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout
        for out in self.proc.stdout:
            self._lines.put(out.rstrip("\n"))
        self._lines.put(None)

    def command(self, line: str, expect: str, timeout: float = 15.0) -> str:
        """Sends one command and reads output until a line containing `expect`."""
        assert self.proc.stdin
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            try:
                out = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if out is None:
                break
            self.transcript.append(out)
            if expect in out:
                return out
        raise HarnessError(f"smbclient: no {expect!r} after {line!r}:\n" + "\n".join(self.transcript))

    def open(self, name: str) -> int:
        """Opens `name` read/write; returns smbclient's fnum."""
        out = self.command(f"open {name}", "fnum")
        return int(out.rsplit("fnum", 1)[1].strip())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        _stop_group(self.proc)

    def __enter__(self) -> "SmbClientProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------------------
# sshd + sshfs


class SshServer:
    """A private sshd on 127.0.0.1:<free port>: own host key, own authorized_keys holding a
    generated client key, root login by key only, sftp served in-process."""

    SSHD = "/usr/sbin/sshd"

    def __init__(self, user: str = "root"):
        self.user = user
        self.base = _make_base_dir("ow-ssh-")
        self.base.chmod(0o700)
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.host_key = self.base / "ssh_host_ed25519_key"
        self.client_key = self.base / "client_ed25519"
        self.config = self.base / "sshd_config"
        self.log_path = self.base / "sshd.log"

    def start(self, timeout: float = 20.0) -> "SshServer":
        for key, comment in ((self.host_key, "openwmi-test-host"), (self.client_key, "openwmi-test-client")):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                            "-f", str(key)], check=True, capture_output=True)
        auth = self.base / "authorized_keys"
        auth.write_text((self.base / "client_ed25519.pub").read_text())
        auth.chmod(0o600)
        # sshd refuses to start without its privilege separation directory.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        last_error: Optional[Exception] = None
        for _attempt in range(3):
            self.port = free_port()
            self.config.write_text("\n".join([
                f"Port {self.port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {self.host_key}",
                f"PidFile {self.base}/sshd.pid",
                f"AuthorizedKeysFile {auth}",
                "StrictModes no",
                "UsePAM no",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "Subsystem sftp internal-sftp",
                "LogLevel INFO",
                "",
            ]))
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen([self.SSHD, "-D", "-e", "-f", str(self.config)],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            try:
                wait_until(lambda: self.proc.poll() is not None or port_accepts(self.port),
                           timeout, f"sshd to listen on 127.0.0.1:{self.port}")
            except HarnessError as e:
                last_error = e
                _stop_group(self.proc)
                continue
            if self.proc.poll() is None:
                return self
            last_error = HarnessError(f"sshd exited with {self.proc.returncode}:\n{_tail(self.log_path)}")
        raise HarnessError(f"could not start sshd: {last_error}")

    def ssh_options(self) -> list[str]:
        return ["-o", f"IdentityFile={self.client_key}", "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]

    def stop(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)
            self.proc = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> "SshServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


def unescape_mountinfo(field_text: str) -> str:
    """Undoes the octal escapes (\\040 space, \\011 tab, \\012 newline, \\134 backslash)."""
    out, i = [], 0
    while i < len(field_text):
        c = field_text[i]
        digits = field_text[i + 1:i + 4]
        if c == "\\" and len(digits) == 3 and all(d in "01234567" for d in digits):
            out.append(chr(int(field_text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass
class MountInfo:
    line: str
    mount_point: str  # unescaped
    fstype: str
    source: str  # unescaped
    options: str


def mountinfo_entries(path: str = "/proc/self/mountinfo") -> list[MountInfo]:
    entries = []
    for line in Path(path).read_text().splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        entries.append(MountInfo(line=line, mount_point=unescape_mountinfo(fields[4]),
                                 fstype=fields[sep + 1], source=unescape_mountinfo(fields[sep + 2]),
                                 options=fields[sep + 3] if len(fields) > sep + 3 else ""))
    return entries


def find_mount(mount_point: Path | str) -> Optional[MountInfo]:
    want = str(mount_point)
    found = [m for m in mountinfo_entries() if m.mount_point == want]
    return found[-1] if found else None


class SshfsMount:
    """`remote_path` on the private sshd, mounted with sshfs at `mount_point` (may hold spaces)."""

    def __init__(self, ssh: SshServer, remote_path: Path, mount_point: Path):
        self.ssh = ssh
        self.remote_path = Path(remote_path)
        self.mount_point = Path(mount_point)
        self.source = f"{ssh.user}@127.0.0.1:{self.remote_path}"
        self.mounted = False

    def mount(self, timeout: float = 20.0) -> "SshfsMount":
        self.mount_point.mkdir(parents=True, exist_ok=True)
        opts = ",".join([f"IdentityFile={self.ssh.client_key}", "IdentitiesOnly=yes",
                         "StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null",
                         "BatchMode=yes", "LogLevel=ERROR"])
        # sshfs daemonizes once the mount is made and exits 0; failures exit non-zero.
        r = subprocess.run(["sshfs", "-p", str(self.ssh.port), "-o", opts, self.source,
                            str(self.mount_point)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise HarnessError(f"sshfs failed ({r.returncode}): {r.stderr.strip()}\n"
                               f"sshd log:\n{_tail(self.ssh.log_path)}")
        self.mounted = True
        wait_until(lambda: find_mount(self.mount_point), timeout, f"{self.mount_point} in mountinfo")
        return self

    def unmount(self) -> None:
        if not self.mounted:
            return
        for cmd in (["fusermount3", "-u", str(self.mount_point)],
                    ["umount", str(self.mount_point)],
                    ["umount", "-l", str(self.mount_point)]):
            if shutil.which(cmd[0]) is None:
                continue
            subprocess.run(cmd, capture_output=True, timeout=20)
            if find_mount(self.mount_point) is None:
                break
        self.mounted = find_mount(self.mount_point) is not None
        if self.mounted:
            raise HarnessError(f"could not unmount {self.mount_point}")

    def __enter__(self) -> "SshfsMount":
        try:
            return self.mount()
        except BaseException:
            self.unmount()
            raise

    def __exit__(self, *exc) -> None:
        self.unmount()


# --------------------------------------------------------------------------------------
# The product


def openwmi_bin() -> Path:
    """The binary under test: $OPENWMI_BIN, else target/release/openwmi of this repo."""
    env = os.environ.get("OPENWMI_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
    return target / "release" / "openwmi"


def run_openwmi(*args: str | os.PathLike, check: bool = True, timeout: float = 60.0,
                input: Optional[str] = None, env: Optional[dict] = None) -> subprocess.CompletedProcess:
    """Runs the openwmi binary with `args`; text stdout/stderr captured. With `check`, a non-zero
    exit raises AssertionError showing both streams (so pytest prints them)."""
    cmd = [str(openwmi_bin()), *map(str, args)]
    full_env = None if env is None else {**os.environ, **env}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input,
                       env=full_env, stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {r.returncode}\n"
                             f"--- stdout\n{r.stdout}\n--- stderr\n{r.stderr}")
    return r
