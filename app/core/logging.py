"""Loguru for everything: our lines carry the operation and story id; stdlib logs (uvicorn) are routed in."""

from __future__ import annotations

import logging
import sys

from loguru import logger

FORMAT = (
    "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <7}</level> | "
    "op={extra[operation_id]} story={extra[story_id]} | <cyan>{name}</cyan> - <level>{message}</level>"
)


class InterceptHandler(logging.Handler):
    """Forwards a stdlib logging record to loguru at the same level."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        logger.opt(depth=6, exception=record.exc_info).log(level, record.getMessage())


def configure_logging(level: str = "INFO") -> None:
    logger.remove()
    logger.configure(extra={"operation_id": "-", "story_id": "-"})
    logger.add(sys.stderr, level=level.upper(), format=FORMAT, backtrace=False, diagnose=False)
    # stdlib records below the level are dropped where they are made: uvicorn's per-request access line
    # and its per-message trace middleware (on whenever its logger allows TRACE) cost the API real time
    std_level = logging.getLevelName(level.upper())
    std_level = std_level if isinstance(std_level, int) else logging.INFO
    logging.basicConfig(handlers=[InterceptHandler()], level=std_level, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "fastapi"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.setLevel(std_level)
        std.propagate = False
