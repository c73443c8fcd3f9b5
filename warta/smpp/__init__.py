"""SMPP 3.4, sans-IO: PDU codec (``pdu``, ``codec``), receipts, and the session state machine.

Bytes in, events out: nothing here opens a socket, reads a clock or imports Django.
See docs/smpp.md.
"""
