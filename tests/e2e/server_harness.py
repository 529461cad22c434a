"""`openwmi serve` for the end-to-end suite: a test CA (openssl CLI), a users file made with
`openwmi passwd`, a `--config` TOML with small limits, and a server process on a free loopback
port (HTTP or HTTPS) that is waited for and stopped with its process group.

Also: raw CIM-XML requests over http.client (to see status, headers and the exact body), the
DSP0203 DTD from the pywbem 1.9.1 sdist, and Test_Share MOF generation (shared with
scripts/bench-server).
"""

from __future__ import annotations

import base64
import http.client
import os
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from xml.sax.saxutils import escape as xml_escape

import harness

USER = "tester"
PASSWORD = "Secret-pw-1"
OTHER_USER = "other"
OTHER_PASSWORD = "Other-pw-2"
ADMIN_GROUP = "openwmi-admins"

DTD_NAME = "DSP0203_2.4.0.dtd"
PYWBEM_SDIST = "pywbem==1.9.1"


# --------------------------------------------------------------------------------------
# Test CA


@dataclass
class TestCA:
    """A CA certificate and a server certificate it signed for 127.0.0.1 / localhost."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def make_test_ca(directory: Path) -> TestCA:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "server.ext"
    ext.write_text(
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, digitalSignature, keyEncipherment\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
    )

    def openssl(*args: str) -> None:
        r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise harness.HarnessError(f"openssl {' '.join(args)} failed: {r.stderr}")

    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(ca_key), "-out", str(ca_cert), "-days", "2", "-subj", "/CN=openwmi test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return TestCA(ca_cert, cert, key)


# --------------------------------------------------------------------------------------
# The server


# Small limits so that the slow-client tests stay short.
DEFAULT_LIMITS = {
    "header_read_timeout_secs": 2.0,
    "body_read_timeout_secs": 2.0,
    "idle_timeout_secs": 5.0,
    "request_timeout_secs": 30.0,
    "max_body_bytes": 4 * 1024 * 1024,
    # Wrong-password tests must not lock the loopback address out for the rest of the run.
    "max_auth_failures": 1000,
}


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class OpenwmiServer:
    """`openwmi serve` on 127.0.0.1:<free port>. `tls` None means `--http`."""

    binary: Path
    base: Path
    tls: Optional[TestCA] = None
    users: dict = field(default_factory=lambda: {USER: PASSWORD, OTHER_USER: OTHER_PASSWORD})
    # USER may read the Samba session classes (the default [permissions] grant that right to
    # the group openwmi-admins); OTHER_USER may not.
    groups: dict = field(default_factory=lambda: {USER: ADMIN_GROUP})
    limits: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    mof: list = field(default_factory=list)  # "namespace=FILE"
    smb_conf: Optional[Path] = None
    extra_args: list = field(default_factory=list)
    config_text: str = ""  # appended to serve.toml (after [limits]), e.g. a [permissions] table

    port: int = 0
    proc: Optional[subprocess.Popen] = None
    started_at: float = 0.0
    listening_after: float = 0.0  # seconds from spawn to the port accepting

    @property
    def scheme(self) -> str:
        return "http" if self.tls is None else "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.base / "serve.log"

    @property
    def users_file(self) -> Path:
        return self.base / "users"

    def command(self) -> list[str]:
        cmd = [str(self.binary), "serve", "--listen", f"127.0.0.1:{self.port}",
               "--users-file", str(self.users_file), "--config", str(self.base / "serve.toml"),
               "--state-dir", str(self.base / "state")]
        if self.tls is None:
            cmd.append("--http")
        else:
            cmd += ["--tls-cert", str(self.tls.server_cert), "--tls-key", str(self.tls.server_key)]
        for m in self.mof:
            cmd += ["--mof", str(m)]
        if self.smb_conf is not None:
            cmd += ["--smb-conf", str(self.smb_conf)]
        return cmd + [str(a) for a in self.extra_args]

    def start(self, timeout: float = 30.0) -> "OpenwmiServer":
        self.base.mkdir(parents=True, exist_ok=True)
        for user, password in self.users.items():
            groups = ["--groups", self.groups[user]] if user in self.groups else []
            r = subprocess.run([str(self.binary), "passwd", "--users-file", str(self.users_file), *groups, user],
                               input=password + "\n", capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise harness.HarnessError(f"openwmi passwd {user} failed: {r.stderr}")
        lines = ["[limits]"] + [f"{k} = {_toml_value(v)}" for k, v in self.limits.items()]
        (self.base / "serve.toml").write_text("\n".join(lines) + "\n" + self.config_text)
        last: Optional[Exception] = None
        for _attempt in range(3):
            self.port = harness.free_port()
            log = open(self.log_path, "ab")
            self.started_at = time.monotonic()
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            try:
                harness.wait_until(lambda: self.proc.poll() is not None or harness.port_accepts(self.port),
                                   timeout, f"openwmi serve on 127.0.0.1:{self.port}", interval=0.005)
            except harness.HarnessError as e:
                last = e
                self.stop()
                continue
            if self.proc.poll() is None:
                self.listening_after = time.monotonic() - self.started_at
                return self
            last = harness.HarnessError(f"openwmi serve exited {self.proc.returncode}:\n{self.log()}")
        raise harness.HarnessError(f"could not start openwmi serve: {last}")

    def log(self) -> str:
        return harness._tail(self.log_path)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise harness.HarnessError("no VmRSS")

    def stop(self) -> None:
        if self.proc is not None:
            harness._stop_group(self.proc)
            self.proc = None

    def __enter__(self) -> "OpenwmiServer":
        # Started already (with its own timeout): keep that process. Starting again
        # used to leave the first server running after the test.
        if self.alive():
            return self
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- clients

    def ssl_context(self) -> Optional[ssl.SSLContext]:
        if self.tls is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls.ca_cert))

    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        if self.tls is None:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                           context=self.ssl_context())

    def raw_socket(self, timeout: float = 30.0) -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        ctx = self.ssl_context()
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        return s

    def pywbem(self, user: str = USER, password: Optional[str] = None, namespace: str = "root/cimv2",
               timeout: int = 60):
        import pywbem

        pw = self.users.get(user, "") if password is None else password
        kwargs = {}
        if self.tls is not None:
            kwargs["ca_certs"] = str(self.tls.ca_cert)
        return pywbem.WBEMConnection(self.url, (user, pw), default_namespace=namespace,
                                     timeout=timeout, **kwargs)


def basic_auth(user: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def cim_headers(method: str, obj: str = "root/cimv2", auth: Optional[str] = None) -> dict:
    h = {"Content-Type": 'application/xml; charset="utf-8"', "CIMOperation": "MethodCall",
         "CIMMethod": method, "CIMObject": obj}
    h["Authorization"] = basic_auth() if auth is None else auth
    return h


@dataclass
class RawResponse:
    status: int
    headers: dict  # lower-case names
    body: bytes
    chunked: bool

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def post(server: OpenwmiServer, body: str | bytes, headers: dict, timeout: float = 30.0) -> RawResponse:
    conn = server.connection(timeout)
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request("POST", "/cimom", body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        return RawResponse(r.status, hdrs, payload, r.chunked or
                           "chunked" in hdrs.get("transfer-encoding", "").lower())
    finally:
        conn.close()


def _localnamespacepath(namespace: str) -> str:
    return "<LOCALNAMESPACEPATH>" + "".join(
        f'<NAMESPACE NAME="{part}"/>' for part in namespace.split("/")) + "</LOCALNAMESPACEPATH>"


def imethodcall(method: str, namespace: str = "root/cimv2", params: str = "", msg_id: str = "1001") -> str:
    """A CIM-XML IMETHODCALL request; `params` is the IPARAMVALUE elements."""
    return ('<?xml version="1.0" encoding="utf-8" ?>\n'
            '<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="' + msg_id + '" PROTOCOLVERSION="1.0">'
            f'<SIMPLEREQ><IMETHODCALL NAME="{method}">{_localnamespacepath(namespace)}{params}'
            '</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>')


def class_name_param(name: str, param: str = "ClassName") -> str:
    return f'<IPARAMVALUE NAME="{param}"><CLASSNAME NAME="{name}"/></IPARAMVALUE>'


def value_param(name: str, value: str) -> str:
    return f'<IPARAMVALUE NAME="{name}"><VALUE>{xml_escape(value)}</VALUE></IPARAMVALUE>'


def instance_name_param(class_name: str, keys: dict, param: str = "InstanceName") -> str:
    bindings = "".join(f'<KEYBINDING NAME="{k}"><KEYVALUE VALUETYPE="string">{xml_escape(v)}</KEYVALUE></KEYBINDING>'
                       for k, v in keys.items())
    return f'<IPARAMVALUE NAME="{param}"><INSTANCENAME CLASSNAME="{class_name}">{bindings}</INSTANCENAME></IPARAMVALUE>'


# --------------------------------------------------------------------------------------
# DSP0203 DTD


def dtd_path() -> Path:
    """DSP0203 2.4.0 from the pywbem 1.9.1 sdist (downloaded once with pip into a cache
    directory). Raises HarnessError when it cannot be had: validation is not optional."""
    cache = Path(os.environ.get("OPENWMI_DTD_CACHE", Path(tempfile.gettempdir()) / "openwmi-e2e-dtd"))
    dtd = cache / DTD_NAME
    if dtd.is_file():
        return dtd
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob("pywbem-1.9.1.tar.gz"))
    if not tarballs:
        r = subprocess.run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                            PYWBEM_SDIST, "-d", str(cache)], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            raise harness.HarnessError(f"pip download {PYWBEM_SDIST} failed: {r.stderr[-2000:]}")
        tarballs = sorted(cache.glob("pywbem-1.9.1.tar.gz"))
    if not tarballs:
        raise harness.HarnessError(f"pip download left no pywbem-1.9.1.tar.gz in {cache}")
    member = f"pywbem-1.9.1/tests/dtd/{DTD_NAME}"
    with tarfile.open(tarballs[0]) as t:
        f = t.extractfile(member)
        if f is None:
            raise harness.HarnessError(f"{member} missing from {tarballs[0]}")
        tmp = dtd.with_suffix(".tmp")
        tmp.write_bytes(f.read())
        tmp.replace(dtd)
    return dtd


def xmllint_dtd(dtd: Path, document: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["xmllint", "--noout", "--dtdvalid", str(dtd), str(document)],
                          capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------------------
# Test_Share MOF


TEST_SHARE_CLASS = """\
// A share for the openwmi server tests and benchmark.
Qualifier Key : boolean = false, Scope(property, reference), Flavor(DisableOverride, ToSubclass);

class Test_Share {
    [Key] string Name;
    string Path;
    uint32 MaximumAllowed;
    uint32 Type;
    string Caption;
};
"""


def test_share_mof(count: int, per_class: Optional[int] = None) -> str:
    """`count` Test_Share instances share000000... With `per_class`, they are spread over
    subclasses Test_Share_000, Test_Share_001, ... of at most `per_class` instances each (an
    enumeration of Test_Share still returns all of them)."""
    parts = [TEST_SHARE_CLASS]
    n_classes = 0 if per_class is None else (count + per_class - 1) // per_class
    parts += [f"class Test_Share_{k:03d} : Test_Share {{ }};\n" for k in range(n_classes)]
    for i in range(count):
        cls = "Test_Share" if per_class is None else f"Test_Share_{i // per_class:03d}"
        parts.append(
            f'instance of {cls} {{ Name = "share{i:06d}"; Path = "/srv/share{i:06d}"; '
            f'MaximumAllowed = {i % 10}; Type = {i % 4}; Caption = "Test share number {i}"; }};\n')
    return "\n".join(parts)


def interrupt(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
