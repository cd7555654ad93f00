"""`crisiswatch up` lets a console's dev server on this machine call the gateway."""

from crisiswatch.launcher import DEVELOPMENT_ORIGINS
from gateway.origins import AllowedOrigins


def test_development_allows_local_pages_on_any_port_and_nothing_else() -> None:
    origins = AllowedOrigins.parse(DEVELOPMENT_ORIGINS)
    assert origins.allows("http://localhost:5173")
    assert origins.allows("http://127.0.0.1:8080")
    assert not origins.allows("http://localhost.evil.com")
    assert not origins.allows("http://127.0.0.1.evil.com:80")
    assert not origins.allows("https://console.example.com")
