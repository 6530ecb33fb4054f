"""Pinned, hashed requirements for one image, cut from the project's lock.

`uv export --frozen --no-dev` gives every runtime package of the lock with its version and hashes;
an image needs only a few of them. This resolves the image's top-level names (`docker/requirements/
NAME.in`) with the export as constraints (`uv pip compile -c`), then writes the export's own blocks
(version, environment marker and hashes, exactly as locked) for the packages that resolution picked.
So every pin in `NAME.txt` is the lock's pin, and `pip install --require-hashes` checks each file.

    python docker/pin_requirements.py            # every docker/requirements/*.txt and the Bento's
    python docker/pin_requirements.py flask      # one image
    python docker/pin_requirements.py bento      # bentos/requirements.txt only

The Bento's file (`bentos/requirements.in` -> `bentos/requirements.txt`) is cut the same way but
without hashes: BentoML adds its own unhashed `bentoml` line when it builds the image.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements"
REPO_ROOT = HERE.parent
TARGET = ("--python-version", "3.11", "--python-platform", "x86_64-unknown-linux-gnu")
HEADER = (
    "# Pinned from uv.lock by docker/pin_requirements.py (uv export --frozen --no-dev, cut to the\n"
    "# packages that {source} needs). Do not edit: run `make container-requirements`.\n"
)
BENTO_DIR = REPO_ROOT / "bentos"
BENTO_HEADER = (
    "# Pinned from uv.lock by docker/pin_requirements.py (uv export --frozen --no-dev, cut to the\n"
    "# packages that {source} needs; no hashes). Do not edit: run `make bento-requirements`.\n"
)
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pin_line(block: str) -> str:
    """The `name==version ; marker` line of an export block (its hashes dropped)."""
    return block.split(" \\")[0].strip()


def export_blocks() -> dict[str, str]:
    """The lock's runtime packages: canonical name -> requirement block (pin, marker, hashes)."""
    text = subprocess.run(
        ["uv", "export", "--frozen", "--no-dev", "--no-emit-project", "--no-annotate", "--quiet"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    blocks: dict[str, str] = {}
    current: list[str] = []
    key = ""
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if not line.startswith(" "):
            match = _NAME.match(line)
            if match is None:
                raise ValueError(f"unexpected line in uv export: {line!r}")
            current = [line]
            key = canonical(match.group(1))
        else:
            current.append(line)
        blocks[key] = "\n".join(current)
    return blocks


def resolve(source: Path, blocks: dict[str, str]) -> list[str]:
    """Canonical names of everything `source` needs, resolved within the lock's pins."""
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "constraints.txt"
        constraints.write_text("\n".join(pin_line(b) for b in blocks.values()) + "\n")
        out = subprocess.run(
            [
                "uv",
                "pip",
                "compile",
                str(source),
                "-c",
                str(constraints),
                *TARGET,
                "--no-header",
                "--no-annotate",
                "--quiet",
            ],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    names = []
    for line in out.splitlines():
        match = _NAME.match(line.strip())
        if match:
            names.append(canonical(match.group(1)))
    missing = [n for n in names if n not in blocks]
    if missing:
        raise SystemExit(f"{source.name}: not in uv.lock's runtime packages: {', '.join(missing)}")
    return sorted(names)


def pin(name: str, blocks: dict[str, str]) -> Path:
    source = REQUIREMENTS / f"{name}.in"
    target = REQUIREMENTS / f"{name}.txt"
    body = "\n".join(blocks[n] for n in resolve(source, blocks))
    target.write_text(HEADER.format(source=f"docker/requirements/{source.name}") + body + "\n")
    return target


def pin_bento(blocks: dict[str, str]) -> Path:
    """bentos/requirements.txt: the lock's pins (with markers), one line each, no hashes."""
    source = BENTO_DIR / "requirements.in"
    target = BENTO_DIR / "requirements.txt"
    lines = [pin_line(blocks[n]) for n in resolve(source, blocks)]
    header = BENTO_HEADER.format(source=f"bentos/{source.name}")
    target.write_text(header + "\n".join(lines) + "\n")
    return target


def main(argv: list[str]) -> int:
    names = argv or [*sorted(p.stem for p in REQUIREMENTS.glob("*.in")), "bento"]
    blocks = export_blocks()
    for name in names:
        if name == "bento":
            target = pin_bento(blocks)
        elif (REQUIREMENTS / f"{name}.in").exists():
            target = pin(name, blocks)
        else:
            print(f"no docker/requirements/{name}.in", file=sys.stderr)
            return 2
        count = sum(1 for line in target.read_text().splitlines() if _NAME.match(line))
        print(f"wrote {target.relative_to(REPO_ROOT)} ({count} packages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
