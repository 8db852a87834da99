"""The public API: three POSTs that answer 202 at once, and status reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from app.api.deps import AdmissionDep, PresenterDep, StoreDep, require_api_key
from app.core.errors import Conflict, NotFound
from app.core.ids import Identifier
from app.models.requests import CreateStoryboardRequest, OperationRequest, RegenerateShotRequest, RenderVideoRequest

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)])

ACCEPTED: dict[int | str, dict[str, Any]] = {202: {"description": "Accepted: the operation, queued"},
            200: {"description": "The same operation_id and body were sent before"}}
UserId = Annotated[Identifier | None, Query(description="When given, must own the story")]
UserHeader = Annotated[Identifier | None, Header(alias="X-User-Id")]


async def _accept(request: OperationRequest, admission: AdmissionDep, presenter: PresenterDep,
                  store: StoreDep) -> JSONResponse:
    op, created = await admission.admit(request)
    story = await store.get_story(op.story_id)
    return JSONResponse(presenter.operation(op, story), status_code=202 if created else 200)


@router.post("/storyboard/create", status_code=202, responses=ACCEPTED)
async def create_storyboard(body: CreateStoryboardRequest, admission: AdmissionDep, presenter: PresenterDep,
                            store: StoreDep) -> JSONResponse:
    """Plan a storyboard from a script and draw every shot's keyframe."""
    return await _accept(body, admission, presenter, store)


@router.post("/shot/regenerate", status_code=202, responses=ACCEPTED)
async def regenerate_shot(body: RegenerateShotRequest, admission: AdmissionDep, presenter: PresenterDep,
                          store: StoreDep) -> JSONResponse:
    """Apply an edit to one shot and draw a new keyframe version."""
    return await _accept(body, admission, presenter, store)


@router.post("/video/render", status_code=202, responses=ACCEPTED)
async def render_video(body: RenderVideoRequest, admission: AdmissionDep, presenter: PresenterDep,
                       store: StoreDep) -> JSONResponse:
    """Narrate, animate and compose the story into one MP4."""
    return await _accept(body, admission, presenter, store)


@router.get("/operations/{operation_id}")
async def read_operation(operation_id: Identifier, store: StoreDep, presenter: PresenterDep,
                         user_id: UserId = None, x_user_id: UserHeader = None) -> dict[str, Any]:
    """Status, progress, error and result of an operation."""
    op = await store.get_operation(operation_id)
    if op is None or (user_id or x_user_id or op.user_id) != op.user_id:
        raise NotFound("operation_not_found", f"operation {operation_id} does not exist")
    return presenter.operation(op, await store.get_story(op.story_id))


@router.post("/operations/{operation_id}/cancel")
async def cancel_operation(operation_id: Identifier, request: Request, store: StoreDep,
                           presenter: PresenterDep) -> dict[str, Any]:
    """Cancel a queued or running operation; finished work (shots done so far) is kept."""
    op = await store.get_operation(operation_id)
    if op is None:
        raise NotFound("operation_not_found", f"operation {operation_id} does not exist")
    if op.status.terminal:
        raise Conflict("operation_finished", f"operation {operation_id} already {op.status}")
    await request.app.state.runner.cancel(operation_id)
    op = await store.get_operation(operation_id) or op
    return presenter.operation(op, await store.get_story(op.story_id))


@router.get("/stories/{story_id}")
async def read_story(story_id: Identifier, store: StoreDep, presenter: PresenterDep,
                     user_id: UserId = None, x_user_id: UserHeader = None) -> dict[str, Any]:
    """The storyboard: characters, shots with their asset URLs, and the final video."""
    story = await store.get_story(story_id)
    if story is None or (user_id or x_user_id or story.user_id) != story.user_id:
        raise NotFound("story_not_found", f"story {story_id} does not exist", {"story_id": story_id})
    return presenter.story(story)
