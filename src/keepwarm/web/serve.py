"""The app as `keepwarm serve` (or any ASGI server) starts it: settings from the environment.

    uvicorn --factory keepwarm.web.serve:app_from_environment

`KEEPWARM_SETUP_CODE` carries the one-time first-run code from `keepwarm serve` to the app;
it is read once and removed from the environment.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from keepwarm.config import load_settings
from keepwarm.web.app import create_app

SETUP_CODE_VARIABLE = "KEEPWARM_SETUP_CODE"


def app_from_environment() -> FastAPI:
    code = os.environ.pop(SETUP_CODE_VARIABLE, None) or None
    return create_app(load_settings(os.environ), setup_code=code, daily_job=True)
