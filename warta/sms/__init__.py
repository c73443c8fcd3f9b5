"""The SMS text engine: GSM 03.38 / UCS-2, segments and UDH, Indonesian numbers.

Pure: no Django, no I/O, no clock, no randomness. Everything a caller needs is re-exported here;
the submodules are :mod:`~warta.sms.gsm` (codecs), :mod:`~warta.sms.segments` (counting,
splitting, UDH), :mod:`~warta.sms.analyse` (what forces UCS-2 and what to type instead) and
:mod:`~warta.sms.numbers` (E.164, kind, operator, masking).
"""

from __future__ import annotations

from warta.sms.analyse import (
    REPLACEMENTS,
    Analysis,
    ForcingChar,
    analyse,
    replace_suggested,
    suggest_replacement,
)
from warta.sms.gsm import (
    Gsm7EncodeError,
    decode_gsm7,
    decode_gsm7_packed,
    decode_ucs2,
    encode_gsm7,
    encode_gsm7_packed,
    encode_ucs2,
    is_gsm7,
    pack_septets,
    unpack_septets,
)
from warta.sms.numbers import (
    REASON_MESSAGES,
    InvalidReason,
    NumberInfo,
    NumberKind,
    Operator,
    mask,
    normalise_operator,
    parse_number,
    to_national,
)
from warta.sms.segments import (
    Concat,
    Encoding,
    InformationElement,
    Measure,
    MessageTooLong,
    Segment,
    SegmentPlan,
    UdhError,
    UserDataHeader,
    choose_encoding,
    concat_udh,
    measure,
    parse_udh,
    plan,
    split_text,
)

__all__ = [
    "REASON_MESSAGES",
    "REPLACEMENTS",
    "Analysis",
    "Concat",
    "Encoding",
    "ForcingChar",
    "Gsm7EncodeError",
    "InformationElement",
    "InvalidReason",
    "Measure",
    "MessageTooLong",
    "NumberInfo",
    "NumberKind",
    "Operator",
    "Segment",
    "SegmentPlan",
    "UdhError",
    "UserDataHeader",
    "analyse",
    "choose_encoding",
    "concat_udh",
    "decode_gsm7",
    "decode_gsm7_packed",
    "decode_ucs2",
    "encode_gsm7",
    "encode_gsm7_packed",
    "encode_ucs2",
    "is_gsm7",
    "mask",
    "measure",
    "normalise_operator",
    "pack_septets",
    "parse_number",
    "parse_udh",
    "plan",
    "replace_suggested",
    "split_text",
    "suggest_replacement",
    "to_national",
    "unpack_septets",
]
