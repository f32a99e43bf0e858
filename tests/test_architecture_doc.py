"""docs/architecture.md tells the truth about the layers: its picture draws the layers of the
import-linter `layers` contract, in its order, and every Ficus package is in the picture and
in the page's table. Changing the contract without the picture (or the reverse) fails here."""

from __future__ import annotations

import configparser
import re
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SVG = "{http://www.w3.org/2000/svg}"


def contract_layers() -> list[set[str]]:
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    lines = config["importlinter:contract:layers"]["layers"].strip().splitlines()
    return [{name.strip() for name in re.split(r"[|:]", line)} for line in lines]


def picture_layers() -> list[set[str]]:
    """The packages the picture names in bold (a box's title), grouped by height, top first."""
    root = ET.parse(REPO / "docs" / "architecture.svg").getroot()
    rows: dict[float, set[str]] = {}
    for text in root.iter(f"{SVG}text"):
        words = (text.text or "").split()
        if text.get("font-weight") == "bold" and words and words[0].endswith("/"):
            rows.setdefault(float(text.get("y", "0")), set()).add(words[0].rstrip("/"))
    return [rows[y] for y in sorted(rows)]


def test_the_picture_draws_the_layers_of_the_contract_in_order():
    assert picture_layers() == contract_layers()


def test_every_package_is_in_the_contract_and_in_the_page():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    packages = set(config["importlinter"]["root_packages"].split())
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")

    assert set().union(*contract_layers()) == packages
    assert {name for name in packages if f"| `{name}/` |" not in page} == set()


def test_the_page_shows_the_picture():
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "](architecture.svg)" in page
