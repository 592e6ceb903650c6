"""MCP tool registrations: thin async wrappers over the typed service functions."""

from __future__ import annotations

__all__: list[str] = []
