"""A parsed frame: header, body and the integrity checks, before the body is interpreted."""

from __future__ import annotations

from dataclasses import dataclass

from ingest.jt808.errors import Jt808Error
from ingest.jt808.framing import open_frame
from ingest.jt808.header import Header, parse_header


@dataclass(frozen=True)
class Frame:
    header: Header
    body: bytes
    checksum_ok: bool = True

    @property
    def length_ok(self) -> bool:
        """Whether the body is as long as the header declares (a few vendors get this wrong)."""
        return len(self.body) == self.header.body_length


def parse_frame(frame: bytes, *, strict_checksum: bool = False) -> Frame:
    """Unescape, check and split a wire frame (with its 0x7e delimiters).

    A checksum mismatch is recorded in ``checksum_ok`` rather than raised, because real terminals
    (and the reference projects' test data) send frames whose content is fine but whose checksum is
    not; ``strict_checksum=True`` turns it into a ``checksum`` error.
    """
    content, checksum_ok = open_frame(frame)
    if strict_checksum and not checksum_ok:
        raise Jt808Error("checksum", "XOR checksum does not match")
    header = parse_header(content)
    return Frame(header, content[header.size :], checksum_ok)
