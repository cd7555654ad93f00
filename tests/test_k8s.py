"""The Kubernetes manifests (infra/k8s), checked offline: no cluster is needed.

Every manifest, and every overlay as `kubectl kustomize` renders it, validates against the
pinned Kubernetes schemas kubernetes-validate ships; KEDA's ScaledObject, a custom resource
those schemas lack, against the few fields KEDA needs. The tests below check what a schema
cannot: pods that run as the image's non-root user on a read-only root, probes on the paths
and ports the processes serve (liveness never depending on PostgreSQL or Redis), a
disruption budget per Deployment, autoscaling that owns its replica count, workers scaled on
the queue they consume, the migration Job and the init container that waits for it, and a
pinned image in production.
"""

import base64
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from arq.connections import ArqRedis

from gateway.origins import AllowedOrigins
from gateway.persisted.trusted import TrustedDocuments
from libs.contracts.messages import MentionIngested
from libs.database.migrate import upgrade
from libs.messaging.publisher import publish
from libs.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "infra" / "k8s"
KUBERNETES_VERSION = "1.30"
OVERLAYS = ("base", "overlays/dev", "overlays/production")
KUBECTL = shutil.which("kubectl")
NEEDS_KUBECTL = pytest.mark.skipif(
    KUBECTL is None, reason="kubectl is not installed: overlays are rendered with kubectl kustomize"
)

IMAGE_USER = 10001
METRICS_PORT = 9100
HTTP_PORTS = {
    "ingest": Settings.model_fields["ingest_port"].default,
    "gateway": Settings.model_fields["gateway_port"].default,
}
WORKERS = ("analysis", "incidents", "notify")
PROCESSES = (*HTTP_PORTS, *WORKERS)
COMMANDS = {
    "ingest": ["serve", "ingest"],
    "gateway": ["serve", "gateway"],
    "analysis": ["worker", "analysis"],
    "incidents": ["worker", "incidents"],
    "notify": ["worker", "notify"],
}
# What KEDA needs of a ScaledObject (keda.sh/v1alpha1) to scale a Deployment on a query.
SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {"type": "object", "required": ["name"]},
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "apiVersion": {"type": "string"},
                    },
                },
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": {"type": "string"},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}
PROMETHEUS_TRIGGER_FIELDS = {"serverAddress", "query", "threshold"}

Resource = dict[str, Any]


def validate(resource: Resource) -> None:
    """Validate one resource offline; raise on anything that does not fit its schema."""
    if resource.get("apiVersion", "").startswith("keda.sh/"):
        jsonschema.validate(resource, SCALED_OBJECT_SCHEMA)
        for trigger in resource["spec"]["triggers"]:
            assert trigger["type"] == "prometheus", trigger
            assert set(trigger["metadata"]) >= PROMETHEUS_TRIGGER_FIELDS, trigger
        return
    kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def manifest_files() -> list[Path]:
    """Every resource file (kustomization files are kustomize's, not Kubernetes')."""
    files = sorted(K8S.rglob("*.yaml"))
    return [path for path in files if path.name != "kustomization.yaml"]


def documents(text: str) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render(overlay: str) -> list[Resource]:
    assert KUBECTL is not None
    result = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> list[Resource]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: overlays are rendered with kubectl kustomize")
    return render(request.param)


def of_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def process_of(name: str) -> str:
    return name.removeprefix("crisiswatch-")


def workloads(resources: list[Resource]) -> dict[str, Resource]:
    """Deployments and Jobs: everything that runs pods."""
    return {**of_kind(resources, "Deployment"), **of_kind(resources, "Job")}


def all_containers(pod: Resource) -> list[Resource]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def probe_port(container: Resource, probe: Resource) -> int:
    """The container port a probe reaches, following a named port."""
    port = probe["httpGet"]["port"]
    if isinstance(port, int):
        return port
    named: dict[str, int] = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    assert port in named, f"{container['name']}: probe port {port!r} is not a named port"
    return named[port]


def config_named(resources: list[Resource], name: str) -> Resource:
    """The ConfigMap kustomize generated as `name` (with its content hash appended)."""
    [config] = [
        config
        for generated, config in of_kind(resources, "ConfigMap").items()
        if generated.rpartition("-")[0] == name
    ]
    return config


# Every resource validates against the pinned schemas.


def test_there_are_manifests_for_every_process_and_overlay() -> None:
    names = {path.name for path in manifest_files()}
    assert {f"{p}.yaml" for p in PROCESSES} <= names
    assert {"migrate-job.yaml", "disruption-budgets.yaml", "scaled-objects.yaml"} <= names
    for overlay in (*OVERLAYS, "components/queue-autoscaling"):
        assert (K8S / overlay / "kustomization.yaml").is_file(), overlay


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_validates_against_the_pinned_schemas(path: Path) -> None:
    resources = documents(path.read_text(encoding="utf-8"))
    assert resources, f"{path} holds no resource"
    for resource in resources:
        validate(resource)


def test_validation_rejects_a_misspelt_field_and_a_wrong_type() -> None:
    [deployment] = documents((K8S / "base" / "ingest.yaml").read_text(encoding="utf-8"))[1:]
    validate(deployment)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"]["httpGet"]["paht"] = container["livenessProbe"]["httpGet"].pop(
        "path"
    )
    with pytest.raises(jsonschema.ValidationError, match="paht"):
        validate(deployment)
    container["livenessProbe"]["httpGet"]["path"] = container["livenessProbe"]["httpGet"].pop(
        "paht"
    )
    container["resources"]["limits"]["memory"] = ["768Mi"]
    with pytest.raises(jsonschema.ValidationError):
        validate(deployment)


def test_a_scaled_object_without_its_target_is_rejected() -> None:
    path = K8S / "components" / "queue-autoscaling" / "scaled-objects.yaml"
    scaled = documents(path.read_text(encoding="utf-8"))[0]
    validate(scaled)
    del scaled["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError, match="scaleTargetRef"):
        validate(scaled)


@NEEDS_KUBECTL
def test_every_rendered_resource_validates(rendered: list[Resource]) -> None:
    kinds = {r["kind"] for r in rendered}
    assert {"Deployment", "Job", "Service", "PodDisruptionBudget", "ConfigMap"} <= kinds
    for resource in rendered:
        validate(resource)


# Pods: non-root, read-only root, no capabilities, resources.


@NEEDS_KUBECTL
def test_every_pod_runs_as_the_image_user_without_privileges(rendered: list[Resource]) -> None:
    found = workloads(rendered)
    assert {f"crisiswatch-{p}" for p in PROCESSES} | {"crisiswatch-migrate"} <= set(found)
    for name, workload in found.items():
        pod = workload["spec"]["template"]["spec"]
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, name
        assert context["runAsUser"] == context["runAsGroup"] == IMAGE_USER, name
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for container in all_containers(pod):
            where = f"{name}/{container['name']}"
            own = container["securityContext"]
            assert own["allowPrivilegeEscalation"] is False, where
            assert own["readOnlyRootFilesystem"] is True, where
            assert own["capabilities"] == {"drop": ["ALL"]}, where
            assert own.get("runAsUser", IMAGE_USER) == IMAGE_USER, where
            assert "privileged" not in own, where
            # The read-only root leaves /tmp as the one writable place.
            [tmp] = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], where
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, where


# Probes on the paths and ports the processes serve.


@NEEDS_KUBECTL
def test_probes_follow_the_process_contract(rendered: list[Resource]) -> None:
    deployments = of_kind(rendered, "Deployment")
    settings = config_named(rendered, "crisiswatch-config")["data"]
    assert int(settings["METRICS_PORT"]) == METRICS_PORT
    for process in PROCESSES:
        pod = deployments[f"crisiswatch-{process}"]["spec"]["template"]["spec"]
        [container] = pod["containers"]
        assert container["args"] == COMMANDS[process]
        port = HTTP_PORTS.get(process, METRICS_PORT)
        liveness, readiness = container["livenessProbe"], container["readinessProbe"]
        # Liveness asks only whether the process answers: a database blip restarts nothing.
        assert liveness["httpGet"]["path"] == "/livez", process
        assert container["startupProbe"]["httpGet"]["path"] == "/livez", process
        assert readiness["httpGet"]["path"] == "/readyz", process
        for probe in (liveness, readiness, container["startupProbe"]):
            assert probe_port(container, probe) == port, process
        annotations = deployments[f"crisiswatch-{process}"]["spec"]["template"]["metadata"][
            "annotations"
        ]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert int(annotations["prometheus.io/port"]) == port, process


@NEEDS_KUBECTL
def test_services_reach_the_http_processes(rendered: list[Resource]) -> None:
    services = of_kind(rendered, "Service")
    deployments = of_kind(rendered, "Deployment")
    assert {process_of(name) for name in services} == set(HTTP_PORTS)
    for name, service in services.items():
        template = deployments[name]["spec"]["template"]
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        [port] = service["spec"]["ports"]
        [container] = template["spec"]["containers"]
        assert port["port"] == HTTP_PORTS[process_of(name)]
        assert probe_port(container, {"httpGet": {"port": port["targetPort"]}}) == port["port"]


@NEEDS_KUBECTL
def test_workers_have_longer_to_stop_than_their_drain(rendered: list[Resource]) -> None:
    deployments = of_kind(rendered, "Deployment")
    for process in WORKERS:
        pod = deployments[f"crisiswatch-{process}"]["spec"]["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] >= 60, process


# Availability and scaling.


@NEEDS_KUBECTL
def test_every_deployment_has_one_disruption_budget(rendered: list[Resource]) -> None:
    budgets = of_kind(rendered, "PodDisruptionBudget").values()
    for name, deployment in of_kind(rendered, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            budget
            for budget in budgets
            if budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(covering) == 1, f"{name}: {len(covering)} disruption budgets"
        # maxUnavailable never blocks a node drain, even at one replica.
        assert covering[0]["spec"] == {
            "maxUnavailable": 1,
            "selector": covering[0]["spec"]["selector"],
        }


@NEEDS_KUBECTL
def test_gateway_and_ingest_scale_on_a_horizontal_autoscaler(rendered: list[Resource]) -> None:
    deployments = of_kind(rendered, "Deployment")
    autoscalers = of_kind(rendered, "HorizontalPodAutoscaler")
    targets = {hpa["spec"]["scaleTargetRef"]["name"]: hpa for hpa in autoscalers.values()}
    assert set(targets) == {f"crisiswatch-{p}" for p in HTTP_PORTS}
    for name, hpa in targets.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert name in deployments
        assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]


@NEEDS_KUBECTL
def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(
    rendered: list[Resource],
) -> None:
    for name, deployment in of_kind(rendered, "Deployment").items():
        assert "replicas" not in deployment["spec"], f"{name}: an apply would reset the scale"
        rollout = deployment["spec"]["strategy"]["rollingUpdate"]
        assert rollout["maxUnavailable"] == 0, name


@NEEDS_KUBECTL
def test_production_scales_each_worker_on_the_depth_of_its_own_queue() -> None:
    resources = render("overlays/production")
    deployments = of_kind(resources, "Deployment")
    scaled = {
        s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind(resources, "ScaledObject").values()
    }
    assert set(scaled) == {f"crisiswatch-{p}" for p in WORKERS}
    for name, scaled_object in scaled.items():
        assert name in deployments
        worker = importlib.import_module(f"services.{process_of(name)}.worker")
        spec = scaled_object["spec"]
        # Workers also run periodic work: never scaled to zero.
        assert 1 <= spec["minReplicaCount"] < spec["maxReplicaCount"]
        [trigger] = spec["triggers"]
        # `max`: every replica reports the one shared queue.
        assert trigger["metadata"]["query"] == (
            f'max(crisiswatch_queue_depth{{queue="{worker.WORKER.queue}"}})'
        )
        assert float(trigger["metadata"]["threshold"]) > 0


async def test_arq_queues_are_sorted_sets_so_the_redis_list_scaler_cannot_read_them(
    redis: ArqRedis,
) -> None:
    """KEDA's `redis` scaler reads LLEN; it would fail here, hence the Prometheus scaler."""
    await publish(redis, MentionIngested(organization_id=uuid.uuid4(), mention_ids=[uuid.uuid4()]))
    assert await redis.type(MentionIngested.QUEUE) == b"zset"
    assert await redis.zcard(MentionIngested.QUEUE) == 1


# Migrations before the processes.


@NEEDS_KUBECTL
def test_the_migration_job_migrates_and_every_deployment_waits_for_it(
    rendered: list[Resource],
) -> None:
    [job] = of_kind(rendered, "Job").values()
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    assert migrate["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    script = (K8S / "base" / "wait_for_migrations.py").read_text(encoding="utf-8")
    mounted = config_named(rendered, "crisiswatch-wait-for-migrations")
    assert mounted["data"] == {"wait_for_migrations.py": script}
    config_name = mounted["metadata"]["name"]
    for name, deployment in of_kind(rendered, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        [wait] = pod["initContainers"]
        assert wait["image"] == pod["containers"][0]["image"], name
        assert wait["command"] == ["python", "/opt/crisiswatch/wait_for_migrations.py"], name
        [mount] = [m for m in wait["volumeMounts"] if m["mountPath"] == "/opt/crisiswatch"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mount["name"]]["configMap"]["name"] == config_name, name


@NEEDS_KUBECTL
def test_every_process_reads_the_settings_and_the_secret(rendered: list[Resource]) -> None:
    for name, workload in workloads(rendered).items():
        [container] = workload["spec"]["template"]["spec"]["containers"]
        sources = {
            kind: source["name"] for ref in container["envFrom"] for kind, source in ref.items()
        }
        assert sources["configMapRef"].startswith("crisiswatch-config"), name
        assert sources["secretRef"].startswith("crisiswatch-secrets"), name


WAIT_SCRIPT = K8S / "base" / "wait_for_migrations.py"


def load_wait_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wait_for_migrations", WAIT_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wait_in_process(database_url: str, seconds: float, monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the init container's wait here: the same code, without a second interpreter's start."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("WAIT_FOR_MIGRATIONS_SECONDS", str(seconds))
    code: int = load_wait_script().main()
    return code


def test_the_init_container_waits_until_the_schema_is_at_the_image_head(
    unmigrated_database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wait_in_process(unmigrated_database, 0.5, monkeypatch) == 1
    assert "gave up waiting" in capsys.readouterr().err

    upgrade(unmigrated_database, "0001")
    assert wait_in_process(unmigrated_database, 0.5, monkeypatch) == 1
    assert "database at ['0001']" in capsys.readouterr().err

    upgrade(unmigrated_database)
    # As the init container runs it: the script by its path, in a fresh interpreter.
    migrated = subprocess.run(
        [sys.executable, str(WAIT_SCRIPT)],
        env={
            **os.environ,
            "DATABASE_URL": unmigrated_database,
            "WAIT_FOR_MIGRATIONS_SECONDS": "60",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert "database is at" in migrated.stdout


def test_the_init_container_waits_out_an_unreachable_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert wait_in_process("postgresql://nobody@127.0.0.1:9/none", 0.5, monkeypatch) == 1
    assert "database not reachable" in capsys.readouterr().err


# Images.


@NEEDS_KUBECTL
def test_production_runs_one_pinned_image_and_keeps_no_secret() -> None:
    resources = render("overlays/production")
    images = {
        container["image"]
        for workload in workloads(resources).values()
        for container in all_containers(workload["spec"]["template"]["spec"])
    }
    assert len(images) == 1, images
    [image] = images
    name, _, tag = image.rpartition(":")
    assert "@sha256:" in image or (name and "/" not in tag and tag not in {"", "latest"}), image
    assert not of_kind(resources, "Secret"), "the production Secret is created out of band"
    namespaces = {r["metadata"].get("namespace") for r in resources if r["kind"] != "Namespace"}
    assert namespaces == {"crisiswatch"}
    [namespace] = of_kind(resources, "Namespace").values()
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@NEEDS_KUBECTL
def test_production_names_its_origins_and_registers_the_console_documents() -> None:
    resources = render("overlays/production")
    settings = config_named(resources, "crisiswatch-config")["data"]
    origins = settings["CORS_ALLOWED_ORIGINS"].split(",")
    assert origins and all(origin.startswith("https://") for origin in origins), origins
    # Registered, not exclusive: the setup itself is mutations no manifest lists
    # (docs/deployment.md says when to turn exclusivity on).
    assert settings["TRUSTED_DOCUMENTS_ONLY"] == "false"
    # Each manifest is in the image (under /app, this checkout's copy) or on a volume the
    # gateway mounts; those in the image load as the gateway loads them at start.
    mounts = [
        mount["mountPath"]
        for container in workloads(resources)["crisiswatch-gateway"]["spec"]["template"]["spec"][
            "containers"
        ]
        for mount in container.get("volumeMounts", [])
    ]
    listed = [path.strip() for path in settings["TRUSTED_DOCUMENTS_MANIFEST"].split(",")]
    in_image = [
        ROOT / Path(path).relative_to("/app") for path in listed if path.startswith("/app/")
    ]
    elsewhere = [path for path in listed if not path.startswith("/app/")]
    assert in_image, listed
    assert all(any(path.startswith(f"{mount}/") for mount in mounts) for path in elsewhere)
    assert len(TrustedDocuments.from_setting(",".join(map(str, in_image)))) > 0
    # What the gateway does with the origins at start.
    allowed = AllowedOrigins.from_settings(
        Settings.model_validate({"cors_allowed_origins": settings["CORS_ALLOWED_ORIGINS"]})
    )
    assert all(allowed.allows(origin) for origin in origins)
    assert not allowed.allows("https://elsewhere.example.org")


@NEEDS_KUBECTL
def test_the_dev_secret_holds_development_values_only() -> None:
    [secret] = of_kind(render("overlays/dev"), "Secret").values()
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert set(values) == {"DATABASE_URL", "REDIS_URL", "CRISISWATCH_DATA_KEY"}
    assert base64.b64decode(values["CRISISWATCH_DATA_KEY"]) == bytes(32)
    assert values["DATABASE_URL"].startswith("postgresql://crisiswatch:crisiswatch@")
