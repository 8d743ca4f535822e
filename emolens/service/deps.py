"""Annotated dependencies shared by the routes (full-stack-fastapi-template style)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from emolens.service.config import ServiceConfig
from emolens.service.errors import ServiceError
from emolens.store import Store

API_KEY_HEADER = "X-Hume-Api-Key"


def get_config(request: Request) -> ServiceConfig:
    return request.app.state.config


def get_store(request: Request) -> Store:
    return request.app.state.store


SettingsDep = Annotated[ServiceConfig, Depends(get_config)]
StoreDep = Annotated[Store, Depends(get_store)]


def check_api_key(expected: str, given: str | None) -> str | None:
    """None when ``given`` is acceptable, else the message of the 401 to answer with."""
    if not expected:
        return None
    if not given:
        return f"missing API key: send it in the {API_KEY_HEADER} header"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return f"invalid API key in {API_KEY_HEADER}"
    return None


def require_api_key(request: Request, config: SettingsDep) -> None:
    """401 unless the configured API key (if any) is sent as X-Hume-Api-Key."""
    problem = check_api_key(config.api_key, request.headers.get(API_KEY_HEADER))
    if problem:
        raise ServiceError(401, problem)


AuthDep = Depends(require_api_key)
