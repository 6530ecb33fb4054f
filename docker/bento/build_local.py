"""`bentoml build` of bentofile.yaml with the local base image swapped in, for an offline image.

`bentoml containerize` of the shipped Bento starts FROM a python image on Docker Hub and needs
BuildKit; `make compose-up` builds this variant instead (FROM the local churn-base image, legacy
builder), as the container smoke test does. Prints the new Bento's tag.

    python docker/bento/build_local.py churn-base:bookworm
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: build_local.py BASE_IMAGE", file=sys.stderr)
        return 2
    import bentoml
    import yaml

    config = yaml.safe_load((REPO / "bentofile.yaml").read_text())
    # BentoML ignores distro/python_version once base_image is set (and warns): drop them.
    docker = {
        k: v
        for k, v in (config.get("docker") or {}).items()
        if k not in ("distro", "python_version")
    }
    config["docker"] = {**docker, "base_image": argv[0]}
    with tempfile.TemporaryDirectory() as tmp:
        bentofile = Path(tmp) / "bentofile.local.yaml"
        bentofile.write_text(yaml.safe_dump(config, sort_keys=False))
        bento = bentoml.bentos.build_bentofile(str(bentofile), build_ctx=str(REPO))
    print(bento.tag)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
