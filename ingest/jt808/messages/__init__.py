"""One declarative class per supported message id; importing this package registers them all."""

from ingest.jt808.messages.basic import (
    Heartbeat,
    PlatformGeneralResponse,
    TerminalGeneralResponse,
    TerminalLogout,
)
from ingest.jt808.messages.location import BatchLocationUpload, LocationQueryResponse, LocationReport
from ingest.jt808.messages.registration import RegisterResponse, TerminalAuth, TerminalRegister

__all__ = [
    "BatchLocationUpload",
    "Heartbeat",
    "LocationQueryResponse",
    "LocationReport",
    "PlatformGeneralResponse",
    "RegisterResponse",
    "TerminalAuth",
    "TerminalGeneralResponse",
    "TerminalLogout",
    "TerminalRegister",
]
