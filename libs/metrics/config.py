"""Where a worker serves its metrics and probes (`METRICS_PORT`)."""

from pydantic import Field

from libs.settings import Settings


class MetricsSettings(Settings):
    """The shared settings, and the port of a worker's metrics and probes."""

    metrics_port: int = Field(
        default=0,
        ge=0,
        le=65535,
        description=(
            "Port on BIND_HOST where a worker serves /metrics, /livez and /readyz; 0 = none. "
            "`crisiswatch up` gives each worker its own; containers use 9100."
        ),
    )
