"""Kannel 1.4.5 into the Net::SMPP SMSC: the other half of #13 item 2's side-by-side comparison.

Run::

    .venv/bin/python bench/kannel.py                                  # 100,000 messages, window 512, 2 binds
    .venv/bin/python bench/kannel.py -n 120000 --window 64 --binds 2
    .venv/bin/python bench/kannel.py --window 512 --binds 2 --receipt-delay 0.5 --max-seconds 300

Needs Debian's ``kannel`` (``bearerbox``, ``mtbatch``) and ``libnet-smpp-perl``; no Warta code runs.

It starts ``bench/net_smpp_smsc.pl`` (the same SMSC ``bench/engine.py --smsc netsmpp`` sends to;
a DELIVRD receipt ``--receipt-delay`` after each submit), writes a ``kannel.conf`` with one
``group = smsc`` (``smsc = smpp``, transceiver mode, ``max-pending-submits`` = ``--window``) per
``--binds``, all with the same ``smsc-id`` (Kannel opens one bind per group and balances among
them), internal DLR storage, and starts ``bearerbox`` alone: ``mtbatch`` connects to it as a box
and hands it ``-n`` messages (one content file, a receivers file of ``62812…`` numbers; mtbatch
takes digits only) with ``dlr-mask`` 3 (delivered | failed), so every submit_sm asks for a
receipt and bearerbox matches each receipt in its DLR storage. The run is over when bearerbox's
admin page (``/status.txt`` on 127.0.0.1) counts ``-n`` messages sent (submit_sm_resp OK) and
``-n`` receipts received; then the SMSC and bearerbox are stopped (the SMSC's per-connection
children write their statistics on SIGTERM).

Prints the SMSC's own figure, as ``bench/engine.py --smsc netsmpp`` does: accepted submit_sm,
first → last accepted submit, accepted submits/s; the window and binds; how long after the first
accepted submit Kannel had processed the last receipt (polled every 0.1 s); per-bind sent counts.
Everything runs on 127.0.0.1 in a temporary directory that is removed afterwards.

Compare runs of the same length (``-n`` here and in ``bench/engine.py``, whose default is also
100,000). A short run measures a burst, not a rate: 20,000 messages leave Kannel in ~1.5 s, mostly
before the receipts (0.5 s after each submit) load the SMSC and bearerbox; on 2026-12-06's machine
Kannel at window 64 gave 9,413–14,430 accepted submits/s with 20,000 and 7,635–8,884 with
120,000 (`docs/benchmarks.md`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import engine as warta_bench  # noqa: E402  (bench/engine.py: start_netsmpp, stop_group, read_stats, free_port)

TEXT = "Uji kecepatan Warta"  # the text bench/engine.py queues
PASSWORD = "bench"


def kannel_conf(tmp: Path, admin_port: int, box_port: int, smsc_port: int, window: int, binds: int) -> str:
    core = f"""group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = {PASSWORD}
status-password = {PASSWORD}
smsbox-port = {box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
admin-allow-ip = 127.0.0.1
dlr-storage = internal
log-file = "{tmp / 'bearerbox.log'}"
log-level = 3

# bearerbox insists on an smsbox group when smsbox-port is set; no smsbox runs (mtbatch is the box).
group = smsbox
bearerbox-host = 127.0.0.1
"""
    smsc = f"""
group = smsc
smsc = smpp
smsc-id = bench
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = warta
smsc-password = secret
system-type = bench
max-pending-submits = {window}
"""
    return core + smsc * binds


def status(admin_port: int) -> str:
    url = f"http://127.0.0.1:{admin_port}/status.txt?password={PASSWORD}"
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode("utf-8", "replace")


def counters(text: str) -> dict[str, int]:
    """sent: submit_sm answered OK; dlr: receipts matched in the DLR storage; online: binds up."""
    sms = re.search(r"^SMS: received \d+ \(\d+ queued\), sent (\d+) \((\d+) queued\)", text, re.M)
    dlr = re.search(r"^DLR: received (\d+)", text, re.M)
    failed = sum(int(x) for x in re.findall(r"failed (\d+), queued", text))
    return {"sent": int(sms.group(1)) if sms else 0, "dlr": int(dlr.group(1)) if dlr else 0,
            "failed": failed, "online": len(re.findall(r"\(online \d+s", text))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--window", type=int, default=512, help="max-pending-submits per bind")
    ap.add_argument("--binds", type=int, default=2, help="smsc groups (binds) with the same smsc-id")
    ap.add_argument("--receipt-delay", type=float, default=0.5)
    ap.add_argument("--max-seconds", type=float, default=900.0, help="give up waiting after this long")
    args = ap.parse_args()

    missing = [b for b in ("bearerbox", "mtbatch") if not shutil.which(b, path="/usr/sbin:/usr/bin:/sbin:/bin")]
    if missing:
        sys.exit(f"{' and '.join(missing)} not found: apt-get install kannel")
    bearerbox = shutil.which("bearerbox", path="/usr/sbin:/usr/bin:/sbin:/bin")
    mtbatch = shutil.which("mtbatch", path="/usr/sbin:/usr/bin:/sbin:/bin")
    assert bearerbox and mtbatch

    tmp = Path(tempfile.mkdtemp(prefix="warta-bench-kannel-"))
    procs: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
    smsc: subprocess.Popen[str] | None = None
    try:
        stats = tmp / "smsc-stats.jsonl"
        smsc, smsc_port = warta_bench.start_netsmpp(args.receipt_delay, 0, stats)
        admin_port, box_port = warta_bench.free_port(), warta_bench.free_port()
        conf = tmp / "kannel.conf"
        conf.write_text(kannel_conf(tmp, admin_port, box_port, smsc_port, args.window, args.binds))
        (tmp / "content.txt").write_text(TEXT + "\n")
        (tmp / "receivers.txt").write_text("".join(f"62812{i:08d}\n" for i in range(10_000_000, 10_000_000 + args.n)))

        with open(tmp / "bearerbox.stderr", "wb") as err:
            bb = subprocess.Popen([bearerbox, "-v", "3", str(conf)], stdout=subprocess.DEVNULL, stderr=err,
                                  cwd=tmp, start_new_session=True)
        procs.append(bb)
        deadline = time.monotonic() + 20
        while True:  # until every bind is up
            time.sleep(0.2)
            if bb.poll() is not None:
                sys.exit("bearerbox exited:\n" + (tmp / "bearerbox.stderr").read_text()[-2000:])
            try:
                c = counters(status(admin_port))
            except OSError:
                c = {"online": 0}
            if c["online"] >= args.binds:
                break
            if time.monotonic() > deadline:
                sys.exit(f"bearerbox: {c['online']} of {args.binds} binds online after 20 s")

        with open(tmp / "mtbatch.log", "wb") as log:
            mt = subprocess.Popen([mtbatch, "-v", "1", "-b", "127.0.0.1", "-p", str(box_port), "-f", "HumasDKI",
                                   "-D", "3", "-u", "http://127.0.0.1/dlr", "-r", "bench",
                                   str(tmp / "content.txt"), str(tmp / "receivers.txt")],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
        procs.append(mt)
        t0 = time.monotonic()
        sent_all = receipts_all = None  # wall-clock times the counters reached n
        while True:
            time.sleep(0.1)
            c = counters(status(admin_port))
            now = time.time()
            if sent_all is None and c["sent"] >= args.n:
                sent_all = now
            if receipts_all is None and c["dlr"] >= args.n:
                receipts_all = now
            if sent_all and receipts_all:
                break
            if bb.poll() is not None:
                sys.exit("bearerbox exited early:\n" + (tmp / "bearerbox.stderr").read_text()[-2000:])
            if mt.poll() not in (None, 0):
                sys.exit(f"mtbatch failed ({mt.returncode}):\n" + (tmp / "mtbatch.log").read_text()[-2000:])
            if time.monotonic() - t0 > args.max_seconds:
                sys.exit(f"gave up after {args.max_seconds:.0f} s: {c}")
        final = status(admin_port)
        mt.wait(30)
        warta_bench.stop_group(smsc)  # SIGTERM: its children write their statistics
        smsc = None
    finally:
        if smsc is not None:  # first, so that its children write their statistics before bearerbox goes
            warta_bench.stop_group(smsc)
        for p in reversed(procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)
        rows = warta_bench.read_stats(tmp / "smsc-stats.jsonl")
        mtlog = (tmp / "mtbatch.log").read_text(errors="replace") if (tmp / "mtbatch.log").exists() else ""
        shutil.rmtree(tmp, ignore_errors=True)

    c = counters(final)
    first = min(r["first"] for r in rows if r["first"])
    last = max(r["last"] for r in rows if r["last"])
    accepted = sum(r["accepted"] for r in rows)
    per_bind = [int(x) for x in re.findall(r"sent: sms (\d+)", final)]
    done = re.search(r"mtbatch has processed (\d+) messages with (\d+) errors", mtlog)
    print(f"Kannel 1.4.5 (bearerbox + mtbatch): window={args.window} (max-pending-submits per bind) "
          f"binds={args.binds} receipt_delay={args.receipt_delay}s")
    if done:
        print(f"mtbatch: {int(done.group(1)):,} messages handed to bearerbox, {done.group(2)} errors")
    print(f"bearerbox: {c['sent']:,} sent, {c['failed']} failed, {c['dlr']:,} receipts matched in its DLR "
          f"storage; sent per bind: {', '.join(f'{x:,}' for x in per_bind)}")
    assert sent_all and receipts_all
    print(f"first accepted submit → all {args.n:,} receipts processed by Kannel: {receipts_all - first:.1f} s "
          f"→ {args.n / (receipts_all - first):,.0f} messages/s (receipts included; polled every 0.1 s)")
    print(f"Net::SMPP SMSC: {accepted:,} submit_sm accepted, first→last {last - first:.1f} s → "
          f"{accepted / max(last - first, 1e-9):,.0f} accepted submits/s")


if __name__ == "__main__":
    main()
