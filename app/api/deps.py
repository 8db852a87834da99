"""Dependencies the routers declare: the app's services, the API-key check and the caller's identity.

All are `async def`, so FastAPI runs them on the event loop rather than sending each to a worker thread."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api import session
from app.api.presenter import Presenter
from app.core.errors import Conflict, Unauthorized
from app.core.ids import Identifier
from app.core.settings import Settings
from app.services.pipeline.admission import Admission
from app.services.pipeline.runner import Runner
from app.services.pipeline.waiting import OperationWaiter
from app.state.store import StateStore

#: The OpenAPI security scheme; the check itself is ours (a stable error body, constant-time compare).
bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <API_KEY>` when API_KEY is set")


async def get_admission(request: Request) -> Admission:
    return cast(Admission, request.app.state.admission)


async def get_store(request: Request) -> StateStore:
    return cast(StateStore, request.app.state.store)


async def get_presenter(request: Request) -> Presenter:
    return cast(Presenter, request.app.state.presenter)


async def get_runner(request: Request) -> Runner:
    return cast(Runner, request.app.state.runner)


async def get_waiter(request: Request) -> OperationWaiter:
    return cast(OperationWaiter, request.app.state.waiter)


async def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def require_api_key(request: Request,
                          credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None) -> None:
    """With API_KEY set, `Authorization: Bearer <key>` (scheme in any case, RFC 7235) is required."""
    expected = request.app.state.settings.server.API_KEY
    if expected is None:
        return
    token = credentials.credentials if credentials and credentials.scheme.lower() == "bearer" else ""
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()) and not session.cookie_ok(request):
        raise Unauthorized("unauthorized", "a valid 'Authorization: Bearer <API_KEY>' header is required")


async def caller(user_id: Annotated[Identifier | None, Query(description="When given, must own the resource")] = None,
                 x_user_id: Annotated[Identifier | None, Header(alias="X-User-Id")] = None) -> str | None:
    """Who asks: the `X-User-Id` header or the `user_id` query (both given: they must agree)."""
    if user_id and x_user_id and user_id != x_user_id:
        raise Conflict("user_id_mismatch", "the X-User-Id header and the user_id query name different users")
    return x_user_id or user_id


AdmissionDep = Annotated[Admission, Depends(get_admission)]
StoreDep = Annotated[StateStore, Depends(get_store)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
CallerDep = Annotated[str | None, Depends(caller)]
WaiterDep = Annotated[OperationWaiter, Depends(get_waiter)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
