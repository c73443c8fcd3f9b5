"""Helpers for the interoperability tests: find the independent implementation or say why not.

A missing package is a failure on CI (``CI=true``: .ci/apt-packages installs them, so absence
means the pipeline is broken) and a skip with a printed reason on a developer's machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest


def missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"{reason} (CI=true: the interop dependencies must be installed)", pytrace=False
        )
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def require_binary(name: str, package: str) -> str:
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        missing(f"{name} not found: apt-get install {package}")
    assert path is not None
    return path


def require_perl_module(module: str, package: str) -> None:
    perl = require_binary("perl", "perl")
    if subprocess.run([perl, f"-M{module}", "-e1"], capture_output=True).returncode != 0:
        missing(f"Perl module {module} not found: apt-get install {package}")


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for programs that cannot be told to pick one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def kannel_conf(tmp: Path, *, sim_port: int, admin: int, box: int, sendsms: int, user: str, password: str,
                max_messages: int, service: str) -> Path:
    """A kannel.conf for bearerbox + smsbox on 127.0.0.1 with Warta's simulator as the SMPP SMSC.

    ``service`` is the body of the catch-all ``sms-service`` group (a fixed reply, or a get-url).
    """
    conf = tmp / "kannel.conf"
    conf.write_text(f"""
group = core
admin-port = {admin}
admin-interface = 127.0.0.1
admin-password = adminpw
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{tmp}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = warta-sim
host = 127.0.0.1
port = {sim_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = kpass
system-type = ""
msg-id-type = 0x00
enquire-link-interval = 30
reconnect-delay = 1
wait-ack = 30

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{tmp}/smsbox.log"
log-level = 0

group = sendsms-user
username = {user}
password = {password}
max-messages = {max_messages}
concatenation = true

group = sms-service
keyword = default
{service.strip()}
""")
    return conf
