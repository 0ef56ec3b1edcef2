"""The app as `keepwarm serve` (or any ASGI server) starts it: settings from the environment.

    uvicorn --factory --no-access-log keepwarm.web.serve:app_from_environment

`KEEPWARM_SETUP_CODE` carries the one-time first-run code from `keepwarm serve` to the app;
it is read once and removed from the environment. Logging is configured here, from the
settings (KEEPWARM_LOG_LEVEL, KEEPWARM_LOG_FORMAT): the app logs each request itself, so the
server's own access log is left off.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from keepwarm.config import load_settings
from keepwarm.logs import configure_logging
from keepwarm.web.app import create_app

SETUP_CODE_VARIABLE = "KEEPWARM_SETUP_CODE"


def app_from_environment() -> FastAPI:
    code = os.environ.pop(SETUP_CODE_VARIABLE, None) or None
    settings = load_settings(os.environ)
    configure_logging(settings)
    return create_app(settings, setup_code=code, daily_job=True)
