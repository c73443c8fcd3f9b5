"""Helpers for the interoperability tests: find the independent implementation or say why not.

A missing package is a failure on CI (``CI=true``: .ci/apt-packages installs them, so absence
means the pipeline is broken) and a skip with a printed reason on a developer's machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

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
