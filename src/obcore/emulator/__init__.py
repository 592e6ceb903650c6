"""A local Binance spot emulator (REST + WebSocket on 127.0.0.1) for tests and the demo.

``Emulator`` replays recordings or generates scenarios, keeps the true book of each
symbol (the oracle our own book is compared against), serves the public and signed REST
API with Binance's weights, headers and error codes, and the market streams with
Binance's connection rules. ``emu.faults`` injects gaps, stalls, disconnects, rate limits,
clock skew and 5xx answers. Run it standalone with ``python -m obcore.emulator``.
"""

from __future__ import annotations

from obcore.emulator.server import Emulator

__all__ = ["Emulator"]
