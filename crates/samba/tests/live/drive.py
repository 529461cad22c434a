#!/usr/bin/env python3
"""Runs tests/live_smbd.rs against a live private smbd (the e2e harness's), with
clients holding the connections the test expects. Needs root (smbstatus does)
and the packages of scripts/install-deps.

    python3 crates/samba/tests/live/drive.py   # from the repository root
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from harness import SambaServer, SmbConnection, status_opens, status_tcons  # noqa: E402


def main() -> int:
    target = os.environ.get("CARGO_TARGET_DIR", "/work/target-samba")
    env = dict(os.environ, CARGO_TARGET_DIR=target)
    build = ["cargo", "test", "-p", "openwmi-samba", "--test", "live_smbd"]
    subprocess.run(build + ["--no-run"], cwd=REPO, env=env, check=True)
    with SambaServer() as smb:
        with SmbConnection(smb, "owtest1") as a, SmbConnection(smb, "owtest1") as b, \
                SmbConnection(smb, "owtest2") as c:
            t1 = a.tree_connect("public")
            a.tree_connect("public")
            a.open_file(t1, "one.txt")
            a.open_file(t1, "two.txt")
            t2 = b.tree_connect("public")
            b.open_file(t2, "three.txt")
            t3 = c.tree_connect("data")
            c.tree_connect("data")
            c.tree_connect("data")
            c.open_file(t3, "four.txt")
            smb.wait_for_status(lambda s: len(status_tcons(s)) == 6 and len(status_opens(s)) == 4,
                                "6 tcons and 4 opens")
            env["OPENWMI_SAMBA_LIVE_CONF"] = str(smb.conf_path)
            r = subprocess.run(build + ["--", "--ignored", "--nocapture"], cwd=REPO, env=env)
            return r.returncode


if __name__ == "__main__":
    sys.exit(main())
