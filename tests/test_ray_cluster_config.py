"""ray_cluster.yaml: valid for the installed Ray's own cluster-config schema, and the facts docs/cluster.md relies on.

The schema is the one ``ray up`` uses (``ray/autoscaler/ray-schema.json``, applied by
``ray.autoscaler._private.util.validate_config`` after ``prepare_config`` merged the provider's defaults), so a config
that passes here fails ``ray up`` only for reasons outside the file (cloud credentials, quotas, placeholders).
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ray_autoscaler = pytest.importorskip("ray.autoscaler")
ray_util = pytest.importorskip("ray.autoscaler._private.util")

ROOT = Path(__file__).resolve().parents[1]
CONFIG_PATH = ROOT / "ray_cluster.yaml"
SCHEMA_PATH = Path(ray_autoscaler.__file__).parent / "ray-schema.json"


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    """The file as ``ray up`` reads it (``yaml.safe_load``)."""
    return yaml.safe_load(CONFIG_PATH.read_text())


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def prepared(raw: dict[str, Any]) -> dict[str, Any]:
    """The config after Ray's own preparation: provider defaults merged, setup_commands folded into head/worker."""
    return ray_util.prepare_config(copy.deepcopy(raw))


def _schema_errors(config: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(config)]


def _head(config: dict[str, Any]) -> dict[str, Any]:
    return config["available_node_types"][config["head_node_type"]]


def _workers(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: t for name, t in config["available_node_types"].items() if name != config["head_node_type"]}


def _mlflow_command(config: dict[str, Any]) -> str:
    commands = [c for c in config["head_start_ray_commands"] if "mlflow server" in c]
    assert len(commands) == 1, "exactly one head start command runs the MLflow server"
    return commands[0]


def _option(command: str, name: str) -> str:
    """The value given to ``--name`` in ``command`` (quotes removed)."""
    match = re.search(rf"{re.escape(name)}[ =](\"[^\"]*\"|'[^']*'|\S+)", command)
    assert match, f"{name} missing from: {command}"
    return match.group(1).strip("\"'")


# --- validity against Ray's own schema and validation function -------------------------------------------------------


def test_ray_ships_a_draft7_schema(schema: dict[str, Any]) -> None:
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["additionalProperties"] is False  # unknown top-level keys are errors, so the negative tests bite


def test_file_as_written_matches_the_schema(raw: dict[str, Any], schema: dict[str, Any]) -> None:
    assert _schema_errors(raw, schema) == []


def test_ray_validate_config_accepts_the_prepared_config(prepared: dict[str, Any]) -> None:
    ray_util.validate_config(prepared)  # raises jsonschema.ValidationError or ValueError on a bad config


def test_no_command_list_falls_back_to_the_provider_defaults(raw: dict[str, Any], prepared: dict[str, Any]) -> None:
    # prepare_config replaces a missing top-level key by the AWS defaults, whose setup installs a Ray nightly wheel.
    for key in ("setup_commands", "head_setup_commands", "worker_setup_commands", "initialization_commands"):
        assert key in raw, f"{key} must be set explicitly"
    for key in ("head_setup_commands", "worker_setup_commands", "head_start_ray_commands", "worker_start_ray_commands"):
        assert not any("ray-wheels" in c or "dev0" in c for c in prepared[key]), key


def _first_worker(config: dict[str, Any]) -> dict[str, Any]:
    return next(iter(_workers(config).values()))


BAD_EDITS = {
    "unknown top-level key": lambda c: c.update(gpu_count=4),
    "max_workers not an integer": lambda c: c.update(max_workers="eight"),
    "fractional GPU resource on a node type": lambda c: _first_worker(c)["resources"].update(GPU=0.5),
    "unknown key in a node type": lambda c: _first_worker(c).update(num_gpus=1),
    "unknown docker option": lambda c: c["docker"].update(gpus="all"),
    "node type without node_config": lambda c: _first_worker(c).pop("node_config"),
    "setup_commands not a list": lambda c: c.update(setup_commands="pip install ."),
}


@pytest.mark.parametrize("edit", list(BAD_EDITS), ids=list(BAD_EDITS))
def test_schema_rejects_a_broken_copy(raw: dict[str, Any], schema: dict[str, Any], edit: str) -> None:
    broken = copy.deepcopy(raw)
    BAD_EDITS[edit](broken)
    assert _schema_errors(broken, schema), f"the schema accepted a config with {edit}"


@pytest.mark.parametrize("edit", list(BAD_EDITS), ids=list(BAD_EDITS))
def test_ray_validate_config_rejects_a_broken_copy(prepared: dict[str, Any], edit: str) -> None:
    broken = copy.deepcopy(prepared)
    BAD_EDITS[edit](broken)
    with pytest.raises(jsonschema.ValidationError):
        ray_util.validate_config(broken)


def test_every_command_is_valid_shell(prepared: dict[str, Any]) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not installed")
    keys = ("initialization_commands", "head_setup_commands", "worker_setup_commands")
    keys += ("head_start_ray_commands", "worker_start_ray_commands")
    for key in keys:
        for command in prepared[key]:
            result = subprocess.run([bash, "-n", "-c", command], capture_output=True, text=True, check=False)
            assert result.returncode == 0, f"{key}: {command}\n{result.stderr}"


# --- the facts docs/cluster.md relies on ------------------------------------------------------------------------------


def test_head_advertises_no_gpus_and_no_cpus(raw: dict[str, Any]) -> None:
    head = _head(raw)
    assert head["resources"].get("GPU") == 0
    assert head["resources"].get("CPU") == 0  # no trial, not even a CPU-only one, lands on the head
    start = next(c for c in raw["head_start_ray_commands"] if "ray start" in c)
    assert "--head" in start
    assert "--num-gpus=0" in start
    assert "--num-cpus=0" in start
    assert not re.match(r"^(g|p)\d", head["node_config"]["InstanceType"]), "the head should be a CPU instance"


def test_workers_are_autoscaling_gpu_nodes(raw: dict[str, Any]) -> None:
    workers = _workers(raw)
    assert workers, "at least one worker node type"
    for name, node_type in workers.items():
        assert node_type["resources"].get("GPU", 0) >= 1, name
        assert node_type["resources"].get("CPU", 0) >= 1, name
        assert 0 <= node_type["min_workers"] < node_type["max_workers"] <= raw["max_workers"], name
        assert re.match(r"^(g|p)\d", node_type["node_config"]["InstanceType"]), f"{name}: not a GPU instance type"
    heads_image = _head(raw)["node_config"]["ImageId"]
    assert all(t["node_config"]["ImageId"] == heads_image for t in workers.values())


@pytest.mark.parametrize(
    ("trial", "n_trials", "expected"),
    [({"CPU": 4, "GPU": 1}, 4, {"gpu_4cpu": 4}), ({"CPU": 4, "GPU": 0.25}, 8, {"gpu_16cpu": 2})],
    ids=["cpus4-gpus1", "cpus4-gpus0.25"],
)
def test_autoscaler_picks_the_worker_type_each_trial_shape_fills(
    prepared: dict[str, Any], trial: dict[str, float], n_trials: int, expected: dict[str, int]
) -> None:
    """The two trial shapes of sweeps/*.yaml, as Ray's own resource-demand scheduler places them on empty workers."""
    from functools import partial

    from ray.autoscaler._private import resource_demand_scheduler as rds
    from ray.autoscaler._private.node_provider_availability_tracker import NodeAvailabilitySummary

    scorer = partial(rds._default_utilization_scorer, node_availability_summary=NodeAvailabilitySummary({}))
    to_launch, unfulfilled = rds.get_nodes_for(
        prepared["available_node_types"], {}, prepared["head_node_type"], 8, [trial] * n_trials, scorer
    )
    assert dict(to_launch) == expected
    assert unfulfilled == []


def test_docker_image_is_a_rayproject_ray_gpu_image_of_the_pinned_ray(raw: dict[str, Any]) -> None:
    pins = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    images = {raw["docker"]["image"], raw["docker"].get("head_image", ""), raw["docker"].get("worker_image", "")}
    images.discard("")
    for image in images:
        repository, _, tag = image.partition(":")
        assert repository == "rayproject/ray", f"{image}: rayproject/ray-ml images are discontinued"
        assert tag.startswith(pins["ray"] + "-"), f"{image}: not the pinned ray=={pins['ray']}"
        assert tag.endswith("-gpu") or re.search(r"-cu\d+$", tag), f"{image}: not a GPU image"


def test_setup_commands_install_acadp_with_the_project_pins(raw: dict[str, Any], prepared: dict[str, Any]) -> None:
    for key in ("head_setup_commands", "worker_setup_commands"):
        installs = [shlex.split(c) for c in prepared[key] if c.startswith("pip install")]
        pinned = [words for words in installs if "-c" in words]
        assert pinned, f"{key}: no `pip install -c constraints.txt ...`"
        words = pinned[0]
        constraints, targets = words[words.index("-c") + 1], [w for w in words if "acadp" in w and w.endswith(".whl")]
        assert constraints.endswith("/constraints.txt")
        assert targets, f"{key}: the pinned install does not install acadp"
    # The wheel directory the commands install from is shipped by file_mounts.
    dist_mount = next(remote for remote in raw["file_mounts"] if remote.endswith("acadp-dist"))
    assert raw["file_mounts"][dist_mount] == "./dist"
    assert any("~/acadp-dist/" in c for c in raw["setup_commands"])


def test_mlflow_server_binds_a_host_and_restricts_host_headers(raw: dict[str, Any]) -> None:
    command = _mlflow_command(raw)
    assert _option(command, "--host") == "0.0.0.0"
    assert _option(command, "--port") == "5000"
    allowed = _option(command, "--allowed-hosts").split(",")
    assert "*" not in allowed, "--allowed-hosts '*' turns DNS-rebinding protection off"
    assert {"localhost", "127.0.0.1"} <= set(allowed), "port-forwarded browsers must be admitted"
    assert any("HEAD_IP" in host for host in allowed), "trials on the workers reach the head by its private IP"
    assert re.match(r"(sqlite|postgresql)", _option(command, "--backend-store-uri"))
    assert _option(command, "--artifacts-destination").startswith("s3://")
    assert "nohup" in command, "the server must survive the end of the setup shell"
    assert command.rstrip().endswith("&"), "the server runs in the background"


def test_dashboard_listens_on_8265_and_no_port_is_opened_to_the_world(raw: dict[str, Any]) -> None:
    start = next(c for c in raw["head_start_ray_commands"] if "ray start" in c)
    assert "--dashboard-host=0.0.0.0" in start
    assert "--dashboard-port=8265" in start
    for rule in raw["provider"].get("security_group", {}).get("IpPermissions", []):
        ports = range(rule.get("FromPort", 0), rule.get("ToPort", 65535) + 1)
        public = any(r.get("CidrIp") == "0.0.0.0/0" for r in rule.get("IpRanges", []))
        assert not (public and ({8265, 5000, 6379, 10001} & set(ports))), rule


def test_token_authentication_is_on_for_every_node(raw: dict[str, Any]) -> None:
    docker = raw["docker"]
    # run_options apply to the head and to every worker (head_run_options/worker_run_options would not).
    env = dict(o.split(" ", 1)[1].split("=", 1) for o in docker["run_options"] if o.startswith("--env "))
    assert env.get("RAY_AUTH_MODE") == "token"
    token_path = env["RAY_AUTH_TOKEN_PATH"]
    mounted = [remote for remote in raw["file_mounts"] if token_path.startswith(remote.rstrip("/") + "/")]
    assert mounted, f"RAY_AUTH_TOKEN_PATH={token_path} is not inside a file mount"
    assert raw["file_mounts"][mounted[0]].startswith("~/.ray/"), "the token comes from the user's ~/.ray, not the repo"


def test_no_secret_in_the_file() -> None:
    text = CONFIG_PATH.read_text()
    assert not re.search(r"\b[0-9a-f]{64}\b", text), "looks like a Ray auth token"
    assert "RAY_AUTH_TOKEN=" not in text
