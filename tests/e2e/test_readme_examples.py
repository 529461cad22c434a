"""Issue 22 acceptance: the README's `openwmi` examples work as printed.

Every `openwmi ...` line of README.md's `sh` blocks is either run here, as printed, against a
real private smbd (with `--smb-conf` added so the examples read the test Samba, and `public`
being one of its shares), or named in `NOT_RUN_HERE` with the reason. A new example that is
neither fails the test, so the README cannot grow an example nobody ran.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import harness
from live_helpers import is_root

README = Path(__file__).resolve().parents[2] / "README.md"

# The file the README's MOF examples name: a class with the standard qualifiers, declaring none.
MY_CLASSES = """
class My_Class
{
    [Key, Description("A thing.")] string Name;
    [Units("bytes")] uint64 Size;
};
instance of My_Class { Name = "one"; Size = 1; };
"""

# Examples that need another machine or bind outside loopback: what they exercise is run by the
# server suites (test_server.py: serve, passwd, -r over HTTPS; the CLI tests: --hosts).
NOT_RUN_HERE = {
    "openwmi query -r": "needs the host server1",
    "openwmi query --hosts": "needs the hosts of hosts.txt",
    "openwmi serve": "listens on 0.0.0.0 (test_server.py starts servers on loopback)",
    "openwmi call": "changes Samba: test_smb_management.py makes these calls on a real smbd",
    "openwmi check -r": "needs the host fileserver (test_check.py checks -r on loopback)",
    "openwmi watch -r": "needs the host server (test_events_wsman.py watches over WS-Man)",
    "openwmi watch --hosts": "needs the hosts of servers.txt (test_events_wsman.py)",
}

# Examples that read Samba's sessions, which smbstatus shows to root only.
NEEDS_ROOT = ("Win32_ServerConnection", "Win32_ConnectionShare", "MSFT_SmbSession",
              "MSFT_SmbOpenFile")


def readme_examples() -> list[str]:
    """The `openwmi` command lines of the README's sh blocks, comments removed."""
    lines, in_sh = [], False
    for line in README.read_text().splitlines():
        if line.startswith("```"):
            in_sh = line.strip() == "```sh"
            continue
        if in_sh and line.startswith("openwmi "):
            lines.append(line)
    return lines


def test_readme_examples_work_as_printed(samba, tmp_path):
    (tmp_path / "my-classes.mof").write_text(MY_CLASSES)
    users = tmp_path / "users"
    examples = readme_examples()
    assert examples, "README.md has no openwmi examples"
    ran = 0
    for line in examples:
        if any(line.startswith(prefix) for prefix in NOT_RUN_HERE):
            continue
        words = shlex.split(line, comments=True)
        if not is_root() and any(cls in line for cls in NEEDS_ROOT):
            continue
        if words[1] == "passwd":
            # As printed but for the file, which goes to a temporary directory.
            words = [str(users) if w == "/etc/openwmi/users" else w for w in words]
            r = harness.run_openwmi(*words[1:], input="Example-pw-1\nExample-pw-1\n", check=False)
            assert r.returncode == 0, f"{line}\n{r.stdout}\n{r.stderr}"
            assert users.read_text().startswith("alice:$argon2"), line
            ran += 1
            continue
        cmd = [str(harness.openwmi_bin()), "--smb-conf", str(samba.conf_path), *words[1:]]
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENWMI_")}
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path,
                           env=env, stdin=subprocess.DEVNULL)
        assert r.returncode == 0, f"{line}\nexit {r.returncode}\n{r.stdout}\n{r.stderr}"
        ran += 1
        if "my-classes.mof" in line and "query" in words:
            assert "one" in r.stdout, f"{line}\n{r.stdout}"
        if words[1] == "mof":
            assert re.search(r"\d+ classes?, \d+ qualifier declarations?, \d+ instances?", r.stdout), r.stdout
    assert ran >= 6, f"only {ran} README examples ran"


def test_every_readme_example_is_run_or_says_why_not():
    known = ("query", "get", "class", "classes", "mof", "passwd", "serve", "--mof", "watch", "check")
    for line in readme_examples():
        words = shlex.split(line, comments=True)
        assert words[1] in known or any(line.startswith(p) for p in NOT_RUN_HERE), (
            f"README example {line!r} is neither run by test_readme_examples_work_as_printed "
            "nor listed in NOT_RUN_HERE")
