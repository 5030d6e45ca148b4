"""The single exception type raised by the JT/T 808 decoder and encoder.

Callers (the TCP server, ``seawatch decode``) report problems per frame and carry on, so they need one
exception to catch and a short machine-readable code to put in the problem report.
"""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal[
    "empty",  # nothing to decode
    "hex",  # a hex text line that is not hex
    "delimiter",  # a 0x7e flag byte inside a frame
    "escape",  # 0x7d not followed by 0x01 or 0x02
    "too_short",  # fewer bytes than the smallest header plus checksum
    "checksum",  # XOR checksum mismatch, only raised with strict_checksum=True
    "body",  # the body is shorter than its layout needs
    "subpackage",  # impossible subpackage numbering
    "encode",  # a value that does not fit its wire field
]


class Jt808Error(ValueError):
    """A frame or body that cannot be decoded (or a value that cannot be encoded).

    ``code`` is one of :data:`ErrorCode`; ``detail`` is a short human explanation.
    """

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: ErrorCode = code
        self.detail = detail
