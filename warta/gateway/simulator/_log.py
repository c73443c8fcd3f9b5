"""The simulator's PDU log: one JSON object per received PDU, written in batches.

Theory of operation
-------------------
At 10,000 submits/s a write per PDU would cost more than the PDU itself, so records are
collected in a list and written (and, for the file, ``json.dumps``-ed) by ``flush``, which the
simulator calls every ``flush_interval`` and on shutdown. Records are plain dicts built from the
decoded PDU; a password never enters one (``redact`` replaces it before the dict exists).

A record::

    {"t": 1735700000.123, "conn": 3, "bind": "trx:warta", "command": "submit_sm", "seq": 17,
     "status": 0, "source_addr": "GubDKI", "source_addr_ton": 5, "source_addr_npi": 0,
     "destination_addr": "6281234567890", "dest_addr_ton": 1, "dest_addr_npi": 1,
     "esm_class": 0, "data_coding": 0, "registered_delivery": 1,
     "short_message": "48616c6f", "message_id": "1a2b3c", "response_status": 0}
"""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any, TextIO

from warta.smpp.constants import Tag
from warta.smpp.pdu import DeliverSm, Pdu, SubmitSm

Record = dict[str, Any]

REDACTED = "***"


def pdu_fields(pdu: Pdu) -> Record:
    """The key fields of ``pdu`` for the log (short message as hex, password redacted)."""
    if type(pdu) is SubmitSm or type(pdu) is DeliverSm:
        rec: Record = {
            "source_addr": pdu.source_addr,
            "source_addr_ton": pdu.source_addr_ton,
            "source_addr_npi": pdu.source_addr_npi,
            "destination_addr": pdu.destination_addr,
            "dest_addr_ton": pdu.dest_addr_ton,
            "dest_addr_npi": pdu.dest_addr_npi,
            "esm_class": pdu.esm_class,
            "data_coding": pdu.data_coding,
            "registered_delivery": pdu.registered_delivery,
            "short_message": pdu.short_message.hex(),
        }
        if pdu.tlvs:
            payload = pdu.tlv(Tag.MESSAGE_PAYLOAD)
            if payload is not None:
                rec["message_payload"] = payload.hex()
            rec["tlvs"] = {
                f"0x{tag:04x}": value.hex() for tag, value in pdu.tlvs if tag != Tag.MESSAGE_PAYLOAD
            }
        return rec
    system_id = getattr(pdu, "system_id", None)
    if system_id is not None:
        rec = {"system_id": system_id}
        if hasattr(pdu, "password"):
            rec["password"] = REDACTED
            rec["system_type"] = getattr(pdu, "system_type", "")
        return rec
    message_id = getattr(pdu, "message_id", None)
    if message_id:
        return {"message_id": message_id}
    return {}


class PduLog:
    """Received-PDU records: the last ``keep`` in memory (for tests), all of them in ``path``."""

    def __init__(self, path: str | Path | None = None, *, keep: int = 100_000) -> None:
        self.path = Path(path) if path else None
        self.records: deque[Record] = deque(maxlen=keep or None) if keep else deque(maxlen=0)
        self._keep = keep
        self._batch: list[Record] = []
        self._file: TextIO | None = None
        self.written = 0
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("a", encoding="utf-8")

    @property
    def enabled(self) -> bool:
        return self._keep > 0 or self._file is not None

    def append(self, record: Record) -> None:
        if self._keep:
            self.records.append(record)
        if self._file is not None:
            self._batch.append(record)

    def flush(self) -> None:
        if self._file is None or not self._batch:
            return
        batch, self._batch = self._batch, []
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        self._file.write("\n".join([dumps(r) for r in batch]) + "\n")
        self._file.flush()
        self.written += len(batch)

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def find(self, **match: Any) -> list[Record]:
        """In-memory records whose fields equal ``match`` (e.g. ``command="submit_sm"``)."""
        return [r for r in self.records if all(r.get(k) == v for k, v in match.items())]
