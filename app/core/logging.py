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
    logging.basicConfig(handlers=[InterceptHandler()], level=0, force=True)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fastapi"):
        std = logging.getLogger(name)
        std.handlers = [InterceptHandler()]
        std.propagate = False
