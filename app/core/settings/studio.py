"""Settings of what people look at: the studio pages, the event stream, the metrics, the contact sheet."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from app.core.settings.base import section_config


class StudioSettings(BaseSettings):
    """The studio: HTML pages at /studio for reviewing stories and watching operations."""

    model_config = section_config()

    STUDIO_ENABLED: bool = Field(True, description="Serve the studio pages at /studio")
    STUDIO_SESSION_TTL_S: int = Field(7 * 24 * 3600, ge=60,
                                      description="How long a studio sign-in or a signed studio link lasts")
    STUDIO_RECENT: int = Field(50, ge=1, le=1000, description="Operations (and their stories) listed on /studio")


class ObservabilitySettings(BaseSettings):
    """The operation event stream (Server-Sent Events) and the Prometheus metrics."""

    model_config = section_config()

    METRICS_ENABLED: bool = Field(True, description="Serve Prometheus metrics at /metrics")
    METRICS_REQUIRE_API_KEY: bool = Field(True, description="With API_KEY set, /metrics needs it too (Bearer)")
    EVENTS_POLL_S: float = Field(1.0, gt=0, le=60, description="How often an event stream re-reads its log when "
                                 "nothing woke it (events written by another process)")
    EVENTS_PING_S: float = Field(15.0, gt=0, le=300, description="Keep-alive comment interval of an event stream")


class ContactSheetSettings(BaseSettings):
    """The contact sheet: one PNG with every shot's keyframe, number and narration."""

    model_config = section_config()

    CONTACT_SHEET_THUMB_WIDTH: int = Field(320, ge=64, le=1280, description="Width of each keyframe thumbnail")
    CONTACT_SHEET_COLUMNS: int = Field(0, ge=0, le=12, description="Thumbnails per row; 0 = chosen by shot count")
