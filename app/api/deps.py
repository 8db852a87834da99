"""Dependencies the routers declare: the app's services and the API-key check."""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import Depends, Header, Request

from app.api import session
from app.api.presenter import Presenter
from app.core.errors import Unauthorized
from app.services.pipeline.admission import Admission
from app.state.store import StateStore


def get_admission(request: Request) -> Admission:
    return cast(Admission, request.app.state.admission)


def get_store(request: Request) -> StateStore:
    return cast(StateStore, request.app.state.store)


def get_presenter(request: Request) -> Presenter:
    return cast(Presenter, request.app.state.presenter)


def require_api_key(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = request.app.state.settings.server.API_KEY
    if expected is None:
        return
    token = (authorization or "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()) and not session.cookie_ok(request):
        raise Unauthorized("unauthorized", "a valid 'Authorization: Bearer <API_KEY>' header is required")


AdmissionDep = Annotated[Admission, Depends(get_admission)]
StoreDep = Annotated[StateStore, Depends(get_store)]
PresenterDep = Annotated[Presenter, Depends(get_presenter)]
