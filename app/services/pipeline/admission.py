"""Accepting a POST: idempotency by operation_id, ownership and precondition checks, persist, submit.

Everything that can reject a request runs before anything is written. There is no global lock:
requests for one story (and for one operation id) are serialized by their own locks, which keeps the
acceptance order of a story; unrelated requests are admitted concurrently. A disk fault answers a
specific code (507 `storage_full`, 503 `storage_unwritable`) and leaves nothing half-written.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.core.errors import Conflict, InvalidInput, NotFound, PreconditionFailed, StorageFull
from app.core.settings import Settings
from app.models.operation import Operation, OperationType
from app.models.requests import (
    CreateStoryboardRequest,
    OperationRequest,
    RegenerateShotRequest,
    RenderVideoRequest,
    check_music_name,
)
from app.models.story import Story, StoryStatus
from app.services.pipeline.keyed_lock import KeyedLock
from app.services.pipeline.runner import Runner
from app.state.store import StateStore

REQUEST_TYPES: dict[type[OperationRequest], OperationType] = {
    CreateStoryboardRequest: OperationType.story_create,
    RegenerateShotRequest: OperationType.shot_regen,
    RenderVideoRequest: OperationType.video_render,
}


class Admission:
    def __init__(self, store: StateStore, runner: Runner, settings: Settings):
        self.store = store
        self.runner = runner
        self.settings = settings
        self._locks = KeyedLock()

    async def admit(self, request: OperationRequest) -> tuple[Operation, bool]:
        """Return (operation, created). Raise an ApiError if the request cannot be accepted."""
        op_type = REQUEST_TYPES[type(request)]
        callback_url = self._checked_callback_url(request)
        if isinstance(request, RenderVideoRequest):
            check_music_name(request.bgm, self.settings.music_dir)
        async with self._locks.hold(f"story:{request.story_id}", f"op:{request.operation_id}"):
            existing = await self.store.get_operation(request.operation_id)
            if existing is not None:
                return self._same_or_conflict(existing, op_type, request), False
            story = await self.store.get_story(request.story_id)
            new_story = await self._check(request, story)
            self.runner.check_capacity()
            await self._check_free_space()
            op = Operation(operation_id=request.operation_id, type=op_type, story_id=request.story_id,
                           user_id=request.user_id, request=request.model_dump(mode="json"),
                           request_digest=request.digest(), callback_url=callback_url)
            existing = await self.runner.accept(op, new_story)
            if existing is not None:  # another API process admitted this id meanwhile
                return self._same_or_conflict(existing, op_type, request), False
        return op, True

    async def _check_free_space(self) -> None:
        need = self.settings.work.MIN_FREE_DISK_MB * 1024 * 1024
        free = await self.store.free_bytes() if need else need
        if free < need:
            raise StorageFull("storage_full", f"less than {self.settings.work.MIN_FREE_DISK_MB} MB free for the "
                              "service's data; try again later")

    def _checked_callback_url(self, request: OperationRequest) -> str | None:
        if request.callback_url is None:
            return None
        host = urlsplit(str(request.callback_url)).hostname or ""
        if host not in self.settings.callbacks.CALLBACK_ALLOWED_HOSTS:
            raise InvalidInput("callback_not_allowed", f"callback host {host!r} is not allow-listed")
        return str(request.callback_url)

    @staticmethod
    def _same_or_conflict(existing: Operation, op_type: OperationType, request: OperationRequest) -> Operation:
        if existing.type is op_type and existing.request_digest == request.digest():
            return existing
        raise Conflict("operation_id_conflict",
                       f"operation {request.operation_id} already exists with a different request",
                       {"operation_id": request.operation_id, "type": existing.type})

    async def _check(self, request: OperationRequest, story: Story | None) -> Story | None:
        """Validate against the stored story; return a new story to persist, if any."""
        if isinstance(request, CreateStoryboardRequest):
            return self._check_create(request, story)
        if story is None or story.user_id != request.user_id:
            existing = await self.store.story_ids_of(request.user_id)
            raise NotFound("story_not_found", f"story {request.story_id} does not exist",
                           {"story_id": request.story_id, "existing_story_ids": existing})
        if not story.shots:
            if story.status in (StoryStatus.draft, StoryStatus.generating):
                if isinstance(request, RenderVideoRequest):
                    return None  # runs after the storyboard that is being made
                raise PreconditionFailed("storyboard_not_ready", "the storyboard is still being generated")
            raise PreconditionFailed("storyboard_missing",
                                     f"story {request.story_id} has no storyboard; create one first")
        if isinstance(request, RegenerateShotRequest) and story.shot(request.shot_id) is None:
            shown = self.settings.answers.SHOT_ID_FORMAT
            raise NotFound("shot_not_found", f"shot {request.shot_id} does not exist in story {story.story_id} "
                           "(a shot is named by its id shot_NN or its uuid)",
                           {"shot_id": request.shot_id, "existing_shot_ids": [s.shown_id(shown) for s in story.shots]})
        return None

    def _check_create(self, request: CreateStoryboardRequest, story: Story | None) -> Story | None:
        if len(request.script_content) > self.settings.server.MAX_SCRIPT_CHARS:
            raise InvalidInput("script_too_long",
                               f"script_content has {len(request.script_content)} characters; "
                               f"the limit is {self.settings.server.MAX_SCRIPT_CHARS}")
        if story is not None and story.user_id != request.user_id:
            raise Conflict("story_id_taken", f"story_id {request.story_id} is already in use")
        if story is not None:
            return None  # the create step applies the new script when its turn comes
        return Story(story_id=request.story_id, user_id=request.user_id, display_name=request.display_name,
                     script_content=request.script_content, style=request.style,
                     aspect_ratio=request.aspect_ratio)
