"""The studio's pages: the list of recent operations and stories, a story's page, and sign-in.

Pages are rendered on the server (Jinja2); `static/studio.js` makes them live (event streams, the
actions through the public API). With API_KEY set every page needs a studio session: the key entered
once on /studio/login, or a signed link (`?token=`, made by `POST /api/v1/studio/links`).
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.api import session
from app.api.deps import PresenterDep, StoreDep
from app.api.studio import views
from app.core.ids import Identifier
from app.core.settings import Settings

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/studio", include_in_schema=False)

#: Pages may load media from the object store's origin (OSS), everything else from the app itself.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src * data:; media-src *; script-src 'self'; "
                               "style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    context = {"signed_in": session.api_key_of(request) is not None, **context}
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=HEADERS)


def _gate(request: Request) -> Response | None:
    """None when the request may see studio pages; else where it should go (sign-in, or the clean URL)."""
    key = session.api_key_of(request)
    if key is None:
        return None
    token = request.query_params.get("token")
    if token is not None:
        if not session.verify(key, token):
            return _page(request, "login.html", {"next": request.url.path, "problem": "This link has expired or is "
                                                 "not valid. Sign in with the API key."}, status_code=401)
        clean = request.url.remove_query_params("token")
        response = RedirectResponse(clean.path + (f"?{clean.query}" if clean.query else ""), status_code=303)
        session.set_cookie(response, request, token, _settings(request).studio.STUDIO_SESSION_TTL_S)
        return response
    if session.bearer_ok(request) or session.cookie_ok(request):
        return None
    return RedirectResponse(f"/studio/login?next={quote(request.url.path)}", status_code=303)


def _fragment_gate(request: Request) -> Response | None:
    if session.bearer_ok(request) or session.cookie_ok(request):
        return None
    return HTMLResponse("sign in again", status_code=401, headers=HEADERS)


@router.get("", response_class=HTMLResponse)
async def studio_home(request: Request, store: StoreDep, presenter: PresenterDep) -> Response:
    """Recent operations (running, queued and failed first) and recent stories."""
    if (redirect := _gate(request)) is not None:
        return redirect
    overview = await views.overview(store, presenter, _settings(request).studio.STUDIO_RECENT)
    return _page(request, "index.html", {"overview": overview})


@router.get("/fragments/operations", response_class=HTMLResponse)
async def operations_fragment(request: Request, store: StoreDep, presenter: PresenterDep) -> Response:
    """The operations table of /studio, for its periodic refresh."""
    if (denied := _fragment_gate(request)) is not None:
        return denied
    overview = await views.overview(store, presenter, _settings(request).studio.STUDIO_RECENT)
    return _page(request, "_operations.html", {"overview": overview})


async def _story_context(story_id: str, store: StoreDep, presenter: PresenterDep,
                         settings: Settings) -> dict[str, Any] | None:
    story = await store.get_story(story_id)
    if story is None:
        return None
    ops = [op for op in await store.list_operations() if op.story_id == story_id]
    return views.story_page(story, ops, presenter, settings)


@router.get("/stories/{story_id}", response_class=HTMLResponse)
async def story_page(story_id: Identifier, request: Request, store: StoreDep, presenter: PresenterDep) -> Response:
    """One story: its cast, a card per shot, the film, and the actions (regenerate, render, cancel)."""
    if (redirect := _gate(request)) is not None:
        return redirect
    context = await _story_context(story_id, store, presenter, _settings(request))
    if context is None:
        return _page(request, "missing.html", {"story_id": story_id}, status_code=404)
    return _page(request, "story.html", context)


@router.get("/stories/{story_id}/panel", response_class=HTMLResponse)
async def story_panel(story_id: Identifier, request: Request, store: StoreDep, presenter: PresenterDep) -> Response:
    """The changing part of a story's page (film, cast, shots, operations), for a refresh without a reload."""
    if (denied := _fragment_gate(request)) is not None:
        return denied
    context = await _story_context(story_id, store, presenter, _settings(request))
    if context is None:
        return HTMLResponse("story not found", status_code=404, headers=HEADERS)
    return _page(request, "_story_panel.html", context)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: Annotated[str, Query(max_length=300)] = "/studio") -> Response:
    return _page(request, "login.html", {"next": _safe_next(next), "problem": None})


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the API key once; a signed session cookie stands for it afterwards."""
    form = parse_qs((await request.body()).decode(errors="replace"))
    given, target = form.get("api_key", [""])[0], _safe_next(form.get("next", ["/studio"])[0])
    key = session.api_key_of(request)
    if key is None:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(given.strip().encode(), key.encode()):
        return _page(request, "login.html", {"next": target, "problem": "That is not the API key."}, status_code=401)
    ttl_s = _settings(request).studio.STUDIO_SESSION_TTL_S
    response = RedirectResponse(target, status_code=303)
    session.set_cookie(response, request, session.issue(key, ttl_s), ttl_s)
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/studio/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


def _safe_next(target: str) -> str:
    """Only studio paths of this site (no scheme, no host, no `//`)."""
    return target if target.startswith("/studio") and "//" not in target and "\\" not in target else "/studio"
