"""SMPP 3.4 numbers: command ids, command_status codes, TON/NPI, esm_class, data_coding, TLV tags.

Theory of operation
-------------------
Everything here is a plain ``int`` (``IntEnum`` members compare and hash as ints), so the codec
can use these values as dict keys in its hot path and callers can pass raw ints from the wire.

``STATUS_INFO`` is the one table that says, in English and in Indonesian, what a
``command_status`` means; the UI shows it to tell a user why a message failed.
``is_retryable`` is the one place that decides whether a failed ``submit_sm`` is tried again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


#: Bit set in every response command_id.
RESPONSE_BIT = 0x80000000
#: The fixed PDU header: command_length, command_id, command_status, sequence_number.
HEADER_LENGTH = 16
#: Largest valid sequence_number; the session wraps back to 1 after it.
MAX_SEQUENCE_NUMBER = 0x7FFFFFFF


class CommandStatus(IntEnum):
    ESME_ROK = 0x00000000
    ESME_RINVMSGLEN = 0x00000001
    ESME_RINVCMDLEN = 0x00000002
    ESME_RINVCMDID = 0x00000003
    ESME_RINVBNDSTS = 0x00000004
    ESME_RALYBND = 0x00000005
    ESME_RINVPRTFLG = 0x00000006
    ESME_RINVREGDLVFLG = 0x00000007
    ESME_RSYSERR = 0x00000008
    ESME_RINVSRCADR = 0x0000000A
    ESME_RINVDSTADR = 0x0000000B
    ESME_RINVMSGID = 0x0000000C
    ESME_RBINDFAIL = 0x0000000D
    ESME_RINVPASWD = 0x0000000E
    ESME_RINVSYSID = 0x0000000F
    ESME_RCANCELFAIL = 0x00000011
    ESME_RREPLACEFAIL = 0x00000013
    ESME_RMSGQFUL = 0x00000014
    ESME_RINVSERTYP = 0x00000015
    ESME_RINVNUMDESTS = 0x00000033
    ESME_RINVDLNAME = 0x00000034
    ESME_RINVDESTFLAG = 0x00000040
    ESME_RINVSUBREP = 0x00000042
    ESME_RINVESMCLASS = 0x00000043
    ESME_RCNTSUBDL = 0x00000044
    ESME_RSUBMITFAIL = 0x00000045
    ESME_RINVSRCTON = 0x00000048
    ESME_RINVSRCNPI = 0x00000049
    ESME_RINVDSTTON = 0x00000050
    ESME_RINVDSTNPI = 0x00000051
    ESME_RINVSYSTYP = 0x00000053
    ESME_RINVREPFLAG = 0x00000054
    ESME_RINVNUMMSGS = 0x00000055
    ESME_RTHROTTLED = 0x00000058
    ESME_RINVSCHED = 0x00000061
    ESME_RINVEXPIRY = 0x00000062
    ESME_RINVDFTMSGID = 0x00000063
    ESME_RX_T_APPN = 0x00000064
    ESME_RX_P_APPN = 0x00000065
    ESME_RX_R_APPN = 0x00000066
    ESME_RQUERYFAIL = 0x00000067
    ESME_RINVOPTPARSTREAM = 0x000000C0
    ESME_ROPTPARNOTALLWD = 0x000000C1
    ESME_RINVPARLEN = 0x000000C2
    ESME_RMISSINGOPTPARAM = 0x000000C3
    ESME_RINVOPTPARAMVAL = 0x000000C4
    ESME_RDELIVERYFAILURE = 0x000000FE
    ESME_RUNKNOWNERR = 0x000000FF


@dataclass(frozen=True, slots=True)
class StatusInfo:
    """What a command_status means, for logs (``name``) and for people (``en``, ``id``)."""

    code: int
    name: str
    en: str
    id: str
    retryable: bool


_S = CommandStatus
# code: (English, Indonesian). Kept short: they are shown next to a failed message.
_MEANINGS: dict[int, tuple[str, str]] = {
    _S.ESME_ROK: ("No error", "Tidak ada kesalahan"),
    _S.ESME_RINVMSGLEN: ("Message length is invalid", "Panjang pesan tidak valid"),
    _S.ESME_RINVCMDLEN: ("Command length is invalid", "Panjang perintah (PDU) tidak valid"),
    _S.ESME_RINVCMDID: ("Invalid command id", "ID perintah tidak dikenal"),
    _S.ESME_RINVBNDSTS: (
        "Incorrect bind status for the command",
        "Status bind tidak sesuai untuk perintah ini",
    ),
    _S.ESME_RALYBND: ("ESME already bound", "Koneksi sudah dalam keadaan bind"),
    _S.ESME_RINVPRTFLG: ("Invalid priority flag", "Nilai prioritas tidak valid"),
    _S.ESME_RINVREGDLVFLG: (
        "Invalid registered delivery flag",
        "Permintaan laporan terkirim tidak valid",
    ),
    _S.ESME_RSYSERR: ("System error at the SMSC", "Kesalahan sistem di SMSC operator"),
    _S.ESME_RINVSRCADR: ("Invalid source address", "Alamat pengirim (sender ID) tidak valid"),
    _S.ESME_RINVDSTADR: ("Invalid destination address", "Nomor tujuan tidak valid"),
    _S.ESME_RINVMSGID: ("Message id is invalid", "ID pesan tidak valid"),
    _S.ESME_RBINDFAIL: ("Bind failed", "Bind ke SMSC gagal"),
    _S.ESME_RINVPASWD: ("Invalid password", "Kata sandi SMPP salah"),
    _S.ESME_RINVSYSID: ("Invalid system id", "System ID SMPP salah"),
    _S.ESME_RCANCELFAIL: ("Cancel failed", "Pembatalan pesan gagal"),
    _S.ESME_RREPLACEFAIL: ("Replace failed", "Penggantian pesan gagal"),
    _S.ESME_RMSGQFUL: ("Message queue full", "Antrean pesan di SMSC penuh"),
    _S.ESME_RINVSERTYP: ("Invalid service type", "Jenis layanan (service_type) tidak valid"),
    _S.ESME_RINVNUMDESTS: ("Invalid number of destinations", "Jumlah tujuan tidak valid"),
    _S.ESME_RINVDLNAME: ("Invalid distribution list name", "Nama daftar distribusi tidak valid"),
    _S.ESME_RINVDESTFLAG: ("Invalid destination flag", "Penanda tujuan tidak valid"),
    _S.ESME_RINVSUBREP: (
        "Invalid 'submit with replace' request",
        "Permintaan kirim-dengan-ganti tidak valid",
    ),
    _S.ESME_RINVESMCLASS: ("Invalid esm_class", "Nilai esm_class tidak valid"),
    _S.ESME_RCNTSUBDL: (
        "Cannot submit to distribution list",
        "Tidak dapat mengirim ke daftar distribusi",
    ),
    _S.ESME_RSUBMITFAIL: ("Submit failed", "Pengiriman pesan ke SMSC gagal"),
    _S.ESME_RINVSRCTON: ("Invalid source address TON", "Jenis nomor (TON) pengirim tidak valid"),
    _S.ESME_RINVSRCNPI: (
        "Invalid source address NPI",
        "Rencana penomoran (NPI) pengirim tidak valid",
    ),
    _S.ESME_RINVDSTTON: ("Invalid destination address TON", "Jenis nomor (TON) tujuan tidak valid"),
    _S.ESME_RINVDSTNPI: (
        "Invalid destination address NPI",
        "Rencana penomoran (NPI) tujuan tidak valid",
    ),
    _S.ESME_RINVSYSTYP: ("Invalid system type", "System type tidak valid"),
    _S.ESME_RINVREPFLAG: (
        "Invalid replace_if_present flag",
        "Penanda replace_if_present tidak valid",
    ),
    _S.ESME_RINVNUMMSGS: ("Invalid number of messages", "Jumlah pesan tidak valid"),
    _S.ESME_RTHROTTLED: (
        "Throttled: sending faster than allowed",
        "Dibatasi: pengiriman melebihi batas kecepatan",
    ),
    _S.ESME_RINVSCHED: ("Invalid scheduled delivery time", "Waktu kirim terjadwal tidak valid"),
    _S.ESME_RINVEXPIRY: ("Invalid validity period", "Masa berlaku pesan tidak valid"),
    _S.ESME_RINVDFTMSGID: ("Predefined message invalid or not found", "Pesan baku tidak ditemukan"),
    _S.ESME_RX_T_APPN: (
        "Receiver temporary application error",
        "Kesalahan sementara pada aplikasi penerima",
    ),
    _S.ESME_RX_P_APPN: (
        "Receiver permanent application error",
        "Kesalahan tetap pada aplikasi penerima",
    ),
    _S.ESME_RX_R_APPN: ("Receiver rejected the message", "Pesan ditolak oleh aplikasi penerima"),
    _S.ESME_RQUERYFAIL: ("Query failed", "Permintaan status pesan gagal"),
    _S.ESME_RINVOPTPARSTREAM: (
        "Error in the optional part of the PDU",
        "Bagian parameter opsional (TLV) rusak",
    ),
    _S.ESME_ROPTPARNOTALLWD: (
        "Optional parameter not allowed",
        "Parameter opsional tidak diizinkan",
    ),
    _S.ESME_RINVPARLEN: ("Invalid parameter length", "Panjang parameter tidak valid"),
    _S.ESME_RMISSINGOPTPARAM: (
        "Expected optional parameter missing",
        "Parameter opsional yang wajib tidak ada",
    ),
    _S.ESME_RINVOPTPARAMVAL: (
        "Invalid optional parameter value",
        "Nilai parameter opsional tidak valid",
    ),
    _S.ESME_RDELIVERYFAILURE: ("Delivery failure", "Pesan gagal diantar"),
    _S.ESME_RUNKNOWNERR: ("Unknown error", "Kesalahan tidak diketahui"),
}

#: Statuses after which the same submit_sm may succeed later, unchanged.
#:
#: * ESME_RTHROTTLED (0x58): we went faster than the operator's TPS; slow down and retry.
#: * ESME_RMSGQFUL (0x14): the SMSC (or the queue for that handset) is full for now.
#: * ESME_RSYSERR (0x08): an SMSC-internal failure; operators use it for outages and overload.
#: * ESME_RX_T_APPN (0x64): "temporary" is in the name of this one.
#:
#: Every other status describes the message itself (bad address, bad TON/NPI, too long, bad
#: sender ID, bad data) or the bind (wrong password), so sending the same bytes again would fail
#: the same way: those are permanent. Vendor-specific codes (0x400-0x4FF) are unknown to us and
#: treated as permanent; a connection can list extra transient codes (``extra_transient``).
RETRYABLE_STATUSES: frozenset[int] = frozenset(
    {_S.ESME_RTHROTTLED, _S.ESME_RMSGQFUL, _S.ESME_RSYSERR, _S.ESME_RX_T_APPN}
)


def is_retryable(status: int, extra_transient: frozenset[int] | set[int] = frozenset()) -> bool:
    """True when a request that failed with ``status`` may succeed if sent again unchanged."""
    return status in RETRYABLE_STATUSES or status in extra_transient


STATUS_INFO: dict[int, StatusInfo] = {
    code: StatusInfo(int(code), CommandStatus(code).name, en, id_, code in RETRYABLE_STATUSES)
    for code, (en, id_) in _MEANINGS.items()
}


def describe_status(status: int) -> StatusInfo:
    """The ``StatusInfo`` of any 32-bit ``status``, including vendor and reserved codes."""
    info = STATUS_INFO.get(status)
    if info is not None:
        return info
    if 0x400 <= status <= 0x4FF:
        return StatusInfo(
            status,
            f"VENDOR_0x{status:08X}",
            f"SMSC vendor-specific error 0x{status:X}",
            f"Kesalahan khusus SMSC operator 0x{status:X}",
            False,
        )
    return StatusInfo(
        status,
        f"RESERVED_0x{status:08X}",
        f"Reserved/undefined error 0x{status:X}",
        f"Kode kesalahan tidak dikenal 0x{status:X}",
        False,
    )


class Ton(IntEnum):
    """Type of Number (addr_ton)."""

    UNKNOWN = 0
    INTERNATIONAL = 1
    NATIONAL = 2
    NETWORK_SPECIFIC = 3
    SUBSCRIBER_NUMBER = 4
    ALPHANUMERIC = 5
    ABBREVIATED = 6


class Npi(IntEnum):
    """Numbering Plan Indicator (addr_npi)."""

    UNKNOWN = 0
    ISDN = 1  # E.163 / E.164: telephone numbers
    DATA = 3  # X.121
    TELEX = 4  # F.69
    LAND_MOBILE = 6  # E.212
    NATIONAL = 8
    PRIVATE = 9
    ERMES = 10
    INTERNET = 14  # IP
    WAP_CLIENT_ID = 18


class EsmClass:
    """esm_class bits (one octet: GSM features | message type | messaging mode)."""

    MODE_MASK = 0x03
    MODE_DEFAULT = 0x00
    MODE_DATAGRAM = 0x01
    MODE_FORWARD = 0x02
    MODE_STORE_AND_FORWARD = 0x03

    TYPE_MASK = 0x3C
    TYPE_DEFAULT = 0x00
    TYPE_DELIVERY_RECEIPT = 0x04  # SMSC delivery receipt (deliver_sm)
    TYPE_DELIVERY_ACK = 0x08  # SME delivery acknowledgement
    TYPE_MANUAL_ACK = 0x10  # SME manual/user acknowledgement
    TYPE_CONVERSATION_ABORT = 0x18
    TYPE_INTERMEDIATE_NOTIFICATION = 0x20

    GSM_MASK = 0xC0
    UDHI = 0x40  # short_message starts with a User Data Header
    REPLY_PATH = 0x80


class RegisteredDelivery:
    """registered_delivery bits."""

    RECEIPT_MASK = 0x03
    NO_RECEIPT = 0x00
    RECEIPT_ALWAYS = 0x01  # on final success or failure
    RECEIPT_ON_FAILURE = 0x02
    SME_ACK_MASK = 0x0C
    INTERMEDIATE_NOTIFICATION = 0x10


class DataCoding(IntEnum):
    SMSC_DEFAULT = 0x00  # GSM 03.38 default alphabet on most SMSCs
    IA5 = 0x01  # IA5 / ASCII
    BINARY = 0x02  # 8-bit binary
    LATIN1 = 0x03  # ISO-8859-1
    BINARY_8BIT = 0x04
    JIS = 0x05
    CYRILLIC = 0x06  # ISO-8859-5
    LATIN_HEBREW = 0x07  # ISO-8859-8
    UCS2 = 0x08  # UCS-2 (ISO/IEC 10646), big endian
    PICTOGRAM = 0x09
    ISO_2022_JP = 0x0A
    EXTENDED_KANJI = 0x0D
    KS_C_5601 = 0x0E


class Tag(IntEnum):
    """Optional parameter (TLV) tags of SMPP 3.4."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


class MessageState(IntEnum):
    """Values of the message_state TLV (and of query_sm_resp)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


#: The interface version we announce in binds: 0x34 = SMPP 3.4.
INTERFACE_VERSION_34 = 0x34
