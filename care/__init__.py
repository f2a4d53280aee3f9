"""The child record and the county plan's rules (留守 / 困境), rosters and synthetic children."""

from __future__ import annotations
