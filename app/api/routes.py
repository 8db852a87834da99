"""The public API: three POSTs that answer 202 at once (or wait for their operation), and status reads."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from app.api.deps import (
    AdmissionDep,
    CallerDep,
    PresenterDep,
    RunnerDep,
    SettingsDep,
    StoreDep,
    WaiterDep,
    require_api_key,
)
from app.api.errors import ERRORS, READ, ErrorBody
from app.api.prefer import answer_mode
from app.core.errors import Conflict, NotFound
from app.core.ids import Identifier
from app.models.operation import Operation, OperationStatus
from app.models.requests import CreateStoryboardRequest, OperationRequest, RegenerateShotRequest, RenderVideoRequest
from app.state.store import StateStore

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_api_key)], responses=ERRORS)

ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "Accepted: the operation, queued (the default answer; `Prefer: respond-async`)"},
    200: {"description": "The same operation_id and body were sent before (the operation); or, when the request "
                         "waited (SYNC_WAIT_S, `Prefer: wait=N`), the succeeded operation's result in the upstream "
                         "shape: create `{operation, shots}`, regenerate `{operation, shot}`, render "
                         "`{operation, video_url}`"},
    404: {"model": ErrorBody, "description": "story_not_found / shot_not_found (or another user's story)"},
    409: {"model": ErrorBody, "description": "operation_id reused with another body, story taken, a precondition, "
                                             "or the request waited and its operation was cancelled"},
    413: {"model": ErrorBody, "description": "Body larger than MAX_BODY_BYTES"},
    429: {"model": ErrorBody, "description": "The work queue is full; see Retry-After"},
    502: {"model": ErrorBody, "description": "The request waited and its operation failed: "
                                             "`{code, message, operation_id}`"},
    503: {"model": ErrorBody, "description": "storage_unwritable: the data folder cannot be written"},
    504: {"model": ErrorBody, "description": "The request waited and its operation is still running "
                                             "(`operation_timeout`); it goes on, the same request sent again "
                                             "waits again"},
    507: {"model": ErrorBody, "description": "storage_full: no space left for the service's data"},
}
Prefer = Annotated[list[str] | None, Header(description="RFC 7240: `respond-async` (202 at once) or `wait=N` "
                                                       "(wait up to N seconds for the result)")]


async def _accept(request: OperationRequest, admission: AdmissionDep, presenter: PresenterDep, store: StoreDep,
                  runner: RunnerDep, waiter: WaiterDep, settings: SettingsDep,
                  prefer: list[str] | None) -> JSONResponse:
    """Admit the request; answer at once with the operation, or wait for it to end and answer with its outcome."""
    mode = answer_mode(prefer, settings.answers)
    op, created = await admission.admit(request)
    headers = {"Vary": "Prefer", **mode.headers}
    if not mode.waits:
        story = await store.get_story(op.story_id) if op.result is not None else None  # a result needs its story
        view = presenter.operation(op, story, queue_position=runner.queue_position(op.operation_id))
        return JSONResponse(view, status_code=202 if created else 200, headers=headers)
    started = time.monotonic()
    op = await waiter.wait(op.operation_id, mode.wait_s) or op
    story = await store.get_story(op.story_id)
    if op.status is OperationStatus.succeeded:
        return JSONResponse(presenter.answer(op, story), status_code=200, headers=headers)
    if not op.status.terminal and mode.async_on_timeout:
        view = presenter.operation(op, story, queue_position=runner.queue_position(op.operation_id))
        return JSONResponse(view, status_code=202, headers=headers)
    raise presenter.outcome_error(op, waited_s=time.monotonic() - started, headers=headers,
                                  stopping=waiter.released)


@router.post("/storyboard/create", status_code=202, responses=ACCEPTED)
async def create_storyboard(body: CreateStoryboardRequest, admission: AdmissionDep, presenter: PresenterDep,
                            store: StoreDep, runner: RunnerDep, waiter: WaiterDep, settings: SettingsDep,
                            prefer: Prefer = None) -> JSONResponse:
    """Plan a storyboard from a script and draw every shot's keyframe."""
    return await _accept(body, admission, presenter, store, runner, waiter, settings, prefer)


@router.post("/shot/regenerate", status_code=202, responses=ACCEPTED)
async def regenerate_shot(body: RegenerateShotRequest, admission: AdmissionDep, presenter: PresenterDep,
                          store: StoreDep, runner: RunnerDep, waiter: WaiterDep, settings: SettingsDep,
                          prefer: Prefer = None) -> JSONResponse:
    """Apply an edit to one shot (named by its id shot_NN or its uuid) and draw a new keyframe version."""
    return await _accept(body, admission, presenter, store, runner, waiter, settings, prefer)


@router.post("/video/render", status_code=202, responses=ACCEPTED)
async def render_video(body: RenderVideoRequest, admission: AdmissionDep, presenter: PresenterDep,
                       store: StoreDep, runner: RunnerDep, waiter: WaiterDep, settings: SettingsDep,
                       prefer: Prefer = None) -> JSONResponse:
    """Narrate, animate and compose the story into one MP4."""
    return await _accept(body, admission, presenter, store, runner, waiter, settings, prefer)


async def _owned_operation(store: StateStore, operation_id: str, user: str | None) -> Operation:
    op = await store.get_operation(operation_id)
    if op is None or (user or op.user_id) != op.user_id:
        raise NotFound("operation_not_found", f"operation {operation_id} does not exist")
    return op


@router.get("/operations/{operation_id}", responses=READ)
async def read_operation(operation_id: Identifier, store: StoreDep, presenter: PresenterDep, runner: RunnerDep,
                         user: CallerDep) -> dict[str, Any]:
    """Status, progress (with the place in the queue while waiting), error and result of an operation."""
    op = await _owned_operation(store, operation_id, user)
    return presenter.operation(op, await store.get_story(op.story_id),
                               queue_position=runner.queue_position(operation_id))


@router.post("/operations/{operation_id}/cancel", responses=READ)
async def cancel_operation(operation_id: Identifier, store: StoreDep, presenter: PresenterDep, runner: RunnerDep,
                           user: CallerDep) -> dict[str, Any]:
    """Cancel a queued or running operation; finished work (shots done so far) is kept.

    409 `operation_finished` when it already ended; 409 `operation_not_cancellable` when it is neither
    waiting nor running in this service (it resumes at the next start and can be cancelled then)."""
    op = await _owned_operation(store, operation_id, user)
    if op.status.terminal:
        raise Conflict("operation_finished", f"operation {operation_id} already {op.status}")
    if not await runner.cancel(operation_id):
        raise Conflict("operation_not_cancellable", f"operation {operation_id} is not queued or running here")
    op = await store.get_operation(operation_id) or op
    return presenter.operation(op, await store.get_story(op.story_id))


@router.get("/stories/{story_id}", responses=READ)
async def read_story(story_id: Identifier, store: StoreDep, presenter: PresenterDep,
                     user: CallerDep) -> dict[str, Any]:
    """The storyboard: characters, shots with their asset URLs, and the final video."""
    story = await store.get_story(story_id)
    if story is None or (user or story.user_id) != story.user_id:
        raise NotFound("story_not_found", f"story {story_id} does not exist", {"story_id": story_id})
    return presenter.story(story)
