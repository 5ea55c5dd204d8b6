"""Atrium: a self-hosted, server-rendered CRM."""

from __future__ import annotations

import os

__version__ = "0.1.0"

# Piccolo finds its configuration through this module path (used by the Piccolo CLI too).
os.environ.setdefault("PICCOLO_CONF", "app.piccolo_conf")
