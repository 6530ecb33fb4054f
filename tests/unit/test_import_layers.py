"""The import contracts (pyproject.toml, `make lint`) cover every module of `churn`.

A contract checks only the modules it names: a new module of `churn` that is neither one of the
layers nor in the core contract's list would escape both. This test says which one it is.
"""

from __future__ import annotations

import pkgutil
import tomllib

import churn
from churn.paths import REPO_ROOT


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {c["type"] + ":" + c["name"].split(":")[0]: c for c in config["contracts"]}


def test_every_module_of_churn_is_in_a_layer_or_in_the_core_contract() -> None:
    contracts = _contracts()
    layers = {
        name.strip()
        for layer in contracts["layers:layers"]["layers"]
        for name in layer.replace(":", "|").split("|")
    }
    core = next(c for c in contracts.values() if c["name"].startswith("the core of churn"))
    covered = layers | set(core["source_modules"])
    children = {f"churn.{m.name}" for m in pkgutil.iter_modules(churn.__path__)}
    assert children - covered == set(), "add the module to the core contract or to a layer"
    assert set(core["source_modules"]) <= children  # a removed module leaves the list too
    # the layers run CLI first, the project database last, and nothing is excepted by name
    assert contracts["layers:layers"]["layers"][0] == "churn.cli"
    assert contracts["layers:layers"]["layers"][-1] == "churn.db"
    assert not core.get("ignore_imports")
