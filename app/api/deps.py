"""Dependencies the routers declare: the app's services and the API-key check.

All are `async def`, so FastAPI runs them on the event loop rather than sending each to a worker thread."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Header, Request

from app.api.presenter import Presenter
from app.core.errors import Unauthorized
from app.core.settings import Settings
from app.services.pipeline.admission import Admission
from app.services.pipeline.waiting import OperationWaiter
from app.state.store import StateStore


async def get_admission(request: Request) -> Admission:
    return cast(Admission, request.app.state.admission)


async def get_store(request: Request) -> StateStore:
    return cast(StateStore, request.app.state.store)


async def get_presenter(request: Request) -> Presenter:
    return cast(Presenter, request.app.state.presenter)


async def get_waiter(request: Request) -> OperationWaiter:
    return cast(OperationWaiter, request.app.state.waiter)


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def require_api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = request.app.state.settings.server.API_KEY
    if expected is None:
        return
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        raise Unauthorized("unauthorized", "a valid 'Authorization: Bearer <API_KEY>' header is required")


AdmissionDep = Annotated[Admission, Depends(get_admission)]
StoreDep = Annotated[StateStore, Depends(get_store)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
WaiterDep = Annotated[OperationWaiter, Depends(get_waiter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
