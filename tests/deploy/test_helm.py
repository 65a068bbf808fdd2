"""deploy/helm: values for the official `rasa` and `rasa-action-server` charts.

Checked only by reading: no Helm engine renders the chart here. A Helm engine is installable
(PyPI's helm-python-sdk bundles one), but the `rasa` chart it would render is published only in
Rasa's chart repository and on GitHub, which no machine of this project reaches, and the chart is
not vendored. So `read_endpoints` below is this test's reading of the chart's config-map template
(RasaHQ/helm-charts, charts/rasa/templates/config-map.yaml: each enabled store block with
`enabled` and null keys dropped, over the chart's default keys, plus `additionalEndpoints`), not
the chart's own output; what it reads is checked against the files the compose layout uses.
`helm template rasa rasa/rasa -f deploy/helm/rasa-values.yaml` on a machine with the chart is the
real check (deploy/helm/README.md).
"""

from __future__ import annotations

from typing import Dict
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.conftest import ROOT, env_names_read_by, placeholders

RASA_VALUES = ROOT / "deploy" / "helm" / "rasa-values.yaml"
ACTIONS_VALUES = ROOT / "deploy" / "helm" / "actions-values.yaml"
ENDPOINTS = ROOT / "deploy" / "endpoints.production.yml"
# keys of the chart's default store blocks (charts/rasa/values.yaml): each must be overridden or
# removed with null, or the chart would render it into endpoints.yml
CHART_DEFAULT_KEYS = {
    "trackerStore": {"type", "dialect", "url", "port", "username", "password", "db", "login_db"},
    "lockStore": {"type", "url", "port", "password", "db"},
    "eventBroker": {"type", "url", "username", "password", "port", "queues"},
}
BLOCKS = {"trackerStore": "tracker_store", "lockStore": "lock_store", "eventBroker": "event_broker"}
ACTION_SERVER_RELEASE = "rasa-action-server"  # its chart names the Service after the release


@pytest.fixture(scope="module")
def rasa() -> Dict:
    return yaml.safe_load(RASA_VALUES.read_text())


@pytest.fixture(scope="module")
def actions() -> Dict:
    return yaml.safe_load(ACTIONS_VALUES.read_text())


def read_endpoints(values: Dict) -> Dict:
    """The endpoints.yml the chart's config-map template makes of `values`, as this test reads the template."""
    endpoints = values["applicationSettings"]["endpoints"]
    rendered = {}
    for block, key in BLOCKS.items():
        settings = endpoints[block]
        assert set(settings) >= CHART_DEFAULT_KEYS[block], f"{block}: set or null {CHART_DEFAULT_KEYS[block]}"
        if settings["enabled"]:
            rendered[key] = {k: v for k, v in settings.items() if k != "enabled" and v is not None}
    rendered.update(endpoints.get("additionalEndpoints", {}))
    return rendered


def as_strings(block: Dict) -> Dict:
    return {key: str(value) for key, value in block.items()}


def env(values: Dict) -> Dict[str, Dict]:
    return {entry["name"]: entry for entry in values["extraEnv"]}


def test_the_chart_renders_the_production_endpoints(rasa: Dict):
    production = yaml.safe_load(ENDPOINTS.read_text())
    rendered = read_endpoints(rasa)
    assert set(rendered) == set(production), "the Helm values and deploy/endpoints.production.yml differ in blocks"
    for block in production:
        assert as_strings(rendered[block]) == as_strings(production[block]), block


def test_the_chart_renders_the_same_channels_as_credentials_yml(rasa: Dict):
    credentials = rasa["applicationSettings"]["credentials"]
    assert credentials["enabled"]
    assert credentials["additionalChannelCredentials"] == yaml.safe_load((ROOT / "credentials.yml").read_text())


def test_every_variable_the_rendered_files_use_is_set(rasa: Dict, tmp_path):
    rendered = tmp_path / "endpoints.yml"
    rendered.write_text(yaml.safe_dump(read_endpoints(rasa)))
    needed = placeholders(rendered) | placeholders(ROOT / "credentials.yml")
    missing = needed - set(env(rasa))
    assert not missing, f"extraEnv lacks {sorted(missing)}"


@pytest.mark.parametrize("values_file, secrets", [
    (RASA_VALUES, {"ACTION_SERVER_TOKEN", "REDIS_PASSWORD", "POSTGRES_PASSWORD", "SLACK_BOT_TOKEN",
                   "ACTION_LEDGER_URL", "REST_CHANNEL_TOKEN", "SESSION_SIGNING_SECRET", "CUSTOMER_TOKEN_SECRET",
                   "SLACK_SIGNING_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_APP_SECRET",
                   "MESSENGER_PAGE_ACCESS_TOKEN", "INBOX_STAFF", "INBOX_SESSION_SECRET", "COMMERCE_API_TOKEN"}),
    (ACTIONS_VALUES, {"ACTION_SERVER_TOKEN", "ACTION_LEDGER_URL", "COMMERCE_API_TOKEN", "CUSTOMER_TOKEN_SECRET",
                      "HANDOFF_WEBHOOK_SECRET"}),
], ids=["rasa", "actions"])
def test_secrets_come_from_a_kubernetes_secret_never_from_the_values(values_file, secrets):
    variables = env(yaml.safe_load(values_file.read_text()))
    for name in secrets:
        assert name in variables, name
        assert "value" not in variables[name], f"{name} is written into {values_file.name}"
        assert variables[name]["valueFrom"]["secretKeyRef"]["name"] == "shop-assistant", name


def test_rasa_starts_through_shop_server_as_the_image_does(rasa: Dict):
    """The chart's `command` replaces the image's entry point: it is spelled out as the same one."""
    assert rasa["command"] == ["python", "-m", "shop_server"]
    assert rasa["args"][0] == "run"


def test_rasa_runs_the_trained_image_with_the_api_off(rasa: Dict):
    settings = rasa["applicationSettings"]
    assert settings["initialModel"] == "" and settings["trainInitialModel"] is False
    assert settings["enableAPI"] is False and settings["telemetry"]["enabled"] is False
    args = rasa["args"]
    assert args[0] == "run" and "--enable-api" not in args and "--auth-token" not in args
    # the chart mounts its rendered files at /app/endpoints.yml and /app/credentials.yml (WORKDIR /app)
    assert args[args.index("--endpoints") + 1] == "endpoints.yml"
    assert args[args.index("--credentials") + 1] == "credentials.yml"
    assert args[args.index("--port") + 1] == str(settings["port"])
    assert rasa["replicaCount"] >= 2 and rasa["rasa-action-server"]["install"] is False


def test_rasa_calls_the_action_server_release_through_its_service(rasa: Dict, actions: Dict):
    url = urlsplit(env(rasa)["ACTION_SERVER_URL"]["value"])
    assert url.hostname == ACTION_SERVER_RELEASE
    assert (url.port or 80) == actions["service"]["port"]
    assert url.path == "/webhook"
    assert actions["applicationSettings"]["port"] == 5055  # deploy/actions.Dockerfile's ACTION_SERVER_PORT
    assert actions["replicaCount"] >= 2


def test_the_action_server_gets_only_variables_its_code_reads(actions: Dict):
    read = env_names_read_by(list((ROOT / "actions").rglob("*.py")))
    variables = set(env(actions))
    assert variables <= read, f"unread: {sorted(variables - read)}"
    assert {"ACTION_SERVER_TOKEN", "ACTION_LEDGER_URL", "COMMERCE_API_URL", "COMMERCE_API_TOKEN"} <= variables


@pytest.mark.parametrize("values_file, image", [(RASA_VALUES, "rasa"), (ACTIONS_VALUES, "actions")],
                         ids=["rasa", "actions"])
def test_images_are_the_compose_images_and_run_as_their_non_root_user(values_file, image):
    values = yaml.safe_load(values_file.read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert f"{values['registry']}/{values['image']['name']}".endswith(
        compose["services"][image]["image"].split(":")[0])
    assert "repository" not in values["image"]  # the action server chart's schema allows only null there
    assert values["image"]["tag"] and isinstance(values["image"]["tag"], str)
    assert values["podSecurityContext"]["runAsNonRoot"] is True
    assert values["podSecurityContext"]["runAsUser"] == 1001
    assert values["securityContext"]["allowPrivilegeEscalation"] is False
