"""docker-compose.yml: valid for the Compose specification and for Docker Compose itself, every
service health-checked, only the balancer published, real secrets required, and the environment
it passes is the one the code and the endpoint files read."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Dict
from urllib.parse import urlsplit

import pytest

from tests.deploy.conftest import (
    COMPOSE_FILE,
    DUMMY_SECRETS,
    NGINX_CONF,
    ROOT,
    SECRETS,
    env_names_read_by,
    lint_tool,
    placeholders,
    python_copied_by,
    run_compose,
)

ENDPOINTS = ROOT / "deploy" / "endpoints.production.yml"
INIT_SQL = ROOT / "deploy" / "postgres" / "init-databases.sql"
# what each image listens on (its Dockerfile's ENV / Rasa's --port), for the cross-checks below
SERVICE_PORTS = {"rasa": 5005, "actions": 5055, "commerce-api": 8000, "webchat": 8080, "nginx": 8080}


def test_compose_file_matches_the_compose_specification_schema():
    result = subprocess.run(
        [str(lint_tool("check-jsonschema")), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", SECRETS)
def test_compose_refuses_to_start_without_each_real_secret(compose_binary: Path, tmp_path: Path, missing: str):
    env = {name: value for name, value in DUMMY_SECRETS.items() if name != missing}
    result = run_compose(compose_binary, ["config", "--quiet"], env, tmp_path)
    assert result.returncode != 0
    assert missing in result.stderr


def test_real_secrets_are_only_ever_required_never_defaulted():
    text = COMPOSE_FILE.read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, f"{name} is not passed at all"
        assert all(use.startswith(":?") for use in uses), f"{name} must be ${{{name}:?...}} everywhere: {uses}"


def test_every_service_has_a_health_check_and_waits_for_healthy_dependencies(services: Dict):
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        for dependency, how in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert how["condition"] == "service_healthy", f"{name} starts before {dependency} is healthy"


def test_health_checks_probe_the_port_each_image_listens_on(services: Dict):
    for name, port in SERVICE_PORTS.items():
        probe = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/" in probe, f"{name}: {probe}"


def test_only_the_balancer_publishes_a_port_and_on_loopback_by_default(services: Dict):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"nginx"}
    (port,) = services["nginx"]["ports"]
    assert port["target"] == SERVICE_PORTS["nginx"]
    assert port["host_ip"] == "127.0.0.1"


def test_several_rasa_and_action_server_replicas_behind_nginx(services: Dict):
    assert services["rasa"]["deploy"]["replicas"] >= 2
    assert services["actions"]["deploy"]["replicas"] >= 2
    upstreams = re.findall(r"^\s*server\s+([a-z0-9-]+):(\d+)", NGINX_CONF.read_text(), re.MULTILINE)
    assert {host for host, _ in upstreams} == {"rasa", "actions", "webchat"}
    for host, port in upstreams:
        assert host in services
        assert int(port) == SERVICE_PORTS[host], f"nginx sends {host} traffic to port {port}"
    # Rasa reaches the action servers through the balancer's internal listener
    action_url = urlsplit(services["rasa"]["environment"]["ACTION_SERVER_URL"])
    assert (action_url.hostname, action_url.port, action_url.path) == ("nginx", 5055, "/webhook")
    assert re.search(r"^\s*listen 5055;", NGINX_CONF.read_text(), re.MULTILINE)
    assert "5055" in services["nginx"].get("expose", [])


def test_rasa_starts_through_shop_server_as_the_image_does(services: Dict):
    """The guarded Rasa patches are installed by the entry point, before Rasa's CLI (shop_server)."""
    assert services["rasa"]["entrypoint"] == ["python", "-m", "shop_server"]
    assert services["rasa"]["command"][0] == "run"


def test_rasa_runs_the_production_endpoints_with_every_variable_they_need(services: Dict):
    rasa = services["rasa"]
    command = rasa["command"]
    endpoints = command[command.index("--endpoints") + 1]
    assert (ROOT / endpoints).resolve() == ENDPOINTS
    credentials = ROOT / command[command.index("--credentials") + 1]
    assert credentials.exists()
    assert command[command.index("--port") + 1] == str(SERVICE_PORTS["rasa"])
    assert "--enable-api" not in command, "Rasa's HTTP API stays off (docs/security.md)"
    needed = placeholders(ENDPOINTS) | placeholders(credentials)
    missing = needed - set(rasa["environment"])
    assert not missing, f"the rasa service does not set {sorted(missing)}"


def test_rasa_sets_nothing_that_nothing_reads(services: Dict):
    read = (placeholders(ENDPOINTS) | placeholders(ROOT / "credentials.yml")
            | env_names_read_by(python_copied_by(ROOT / "Dockerfile"))  # the channels, stores, patches
            | {"RASA_TELEMETRY_ENABLED"})  # read by Rasa itself
    unread = set(services["rasa"]["environment"]) - read
    assert not unread, f"the rasa service sets variables nothing reads: {sorted(unread)}"


@pytest.mark.parametrize("service, code", [
    ("actions", "actions"),
    ("commerce-api", "commerce_api"),
    ("webchat", "webchat"),
])
def test_each_service_sets_only_variables_its_code_reads(services: Dict, service: str, code: str):
    read = env_names_read_by([path for path in (ROOT / code).rglob("*.py") if "tests" not in path.parts])
    unread = set(services[service]["environment"]) - read
    assert not unread, f"{service} sets variables {code}/ never reads: {sorted(unread)}"


def test_action_servers_get_what_they_cannot_start_or_work_without(services: Dict):
    env = services["actions"]["environment"]
    for name in ("ACTION_SERVER_TOKEN", "ACTION_LEDGER_URL", "COMMERCE_API_URL", "COMMERCE_API_TOKEN"):
        assert env.get(name), name
    assert len(env["ACTION_SERVER_TOKEN"]) >= 16
    # the same shared secret on both ends, and the same commerce token on client and API
    assert env["ACTION_SERVER_TOKEN"] == services["rasa"]["environment"]["ACTION_SERVER_TOKEN"]
    assert env["COMMERCE_API_TOKEN"] == services["commerce-api"]["environment"]["COMMERCE_API_TOKEN"]
    api = urlsplit(env["COMMERCE_API_URL"])
    assert (api.hostname, api.port) == ("commerce-api", SERVICE_PORTS["commerce-api"])


def test_every_database_a_service_uses_is_created_by_the_init_script(services: Dict):
    postgres = services["postgres"]
    created = {postgres["environment"]["POSTGRES_DB"]} | set(
        re.findall(r"^CREATE DATABASE (\w+);", INIT_SQL.read_text(), re.MULTILINE))
    mounted = {Path(volume["source"]).resolve() for volume in postgres["volumes"] if volume["type"] == "bind"}
    assert INIT_SQL.resolve() in mounted
    used = {
        urlsplit(services["actions"]["environment"]["ACTION_LEDGER_URL"]).path.lstrip("/"),
        urlsplit(services["commerce-api"]["environment"]["COMMERCE_DATABASE_URL"]).path.lstrip("/"),
        services["rasa"]["environment"]["EVENT_BROKER_DB"],
    }
    assert used <= created, f"not created: {used - created}"
    assert len(used) == 3, "commerce data, ledger and events each have their own database"
    # one PostgreSQL role: the password in every URL is the server's
    password = postgres["environment"]["POSTGRES_PASSWORD"]
    for url in (services["actions"]["environment"]["ACTION_LEDGER_URL"],
                services["commerce-api"]["environment"]["COMMERCE_DATABASE_URL"]):
        assert urlsplit(url).password == password
        assert urlsplit(url).hostname == "postgres"


def test_stateful_services_keep_their_data_in_named_volumes(services: Dict):
    for name, target in (("redis", "/data"), ("postgres", "/var/lib/postgresql/data")):
        volumes = {volume["target"]: volume["type"] for volume in services[name]["volumes"]}
        assert volumes.get(target) == "volume", f"{name} keeps {target} in the container"


def test_bind_mounts_and_build_files_exist(services: Dict):
    for name, service in services.items():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
        if "build" in service:
            assert (Path(service["build"]["context"]) / service["build"]["dockerfile"]).exists(), name


def test_images_are_pinned_and_app_containers_run_without_privileges(services: Dict):
    for name, service in services.items():
        image = service["image"]
        if "build" in service:
            assert image.startswith("shop-assistant/"), name
            assert service.get("cap_drop") == ["ALL"], name
            assert "no-new-privileges:true" in service.get("security_opt", []), name
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and re.match(r"^\d+(\.\d+)+", tag), f"{name}: pin {image} to a version"
    assert services["nginx"]["image"].startswith("nginxinc/nginx-unprivileged:"), "nginx must not run as root"
    assert services["redis"].get("user") == "redis"
