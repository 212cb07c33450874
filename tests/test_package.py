"""The Salt package as files: grain.xml, the version's single source, autorun headers, icons, staging.

These run without the KLayout application (plain pytest with the PyPI module); the installation into a
real KLayout is tests/gui/test_install_salt.py.
"""

from __future__ import annotations

import base64
import datetime
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

import layertools
import markdown_html  # scripts/: pyproject.toml's pytest pythonpath puts it on the path
import package

REPO = Path(__file__).resolve().parents[1]

# KLayout's grain members in the order it writes them (laySaltGrain.cc, identical in 0.28.5 and 0.30).
GRAIN_ORDER = ["name", "token", "hidden", "version", "api-version", "title", "doc", "doc-url", "url",
               "license", "author", "author-contact", "authored-time", "installed-time", "icon",
               "screenshot", "depends"]
REQUIRED = ["name", "version", "api-version", "title", "doc", "doc-url", "url", "license", "author",
            "author-contact", "authored-time", "icon", "screenshot"]
KNOWN_API_FEATURES = {"", "ruby", "ruby1", "ruby2", "python", "python2", "python3", "qt_binding", "qt4",
                      "qt5", "wide-coords"}


def decode_png(data: bytes) -> tuple[int, int, list[tuple[int, int, int, int]]]:
    """Width, height and RGBA pixels of an 8-bit RGBA/RGB non-interlaced PNG (what Qt writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    channels = 4 if colour_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous, offset = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[offset], bytearray(raw[offset + 1:offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(line)
        previous = line
    pixels = []
    for line in rows:
        for x in range(width):
            px = line[x * channels:(x + 1) * channels]
            pixels.append(tuple(px) if channels == 4 else (*px, 255))
    return width, height, pixels


@pytest.fixture(scope="module")
def grain() -> ET.Element:
    return ET.parse(REPO / "grain.xml").getroot()


def test_grain_has_every_field_in_klayouts_order(grain):
    assert grain.tag == "salt-grain"
    tags = [child.tag for child in grain]
    missing = [tag for tag in REQUIRED if tag not in tags]
    assert not missing, f"grain.xml lacks {missing}"
    unknown = [tag for tag in tags if tag not in GRAIN_ORDER]
    assert not unknown, f"KLayout silently drops unknown elements {unknown}"
    assert tags == sorted(tags, key=GRAIN_ORDER.index), "elements out of KLayout's order"
    fields = {child.tag: (child.text or "").strip() for child in grain}
    for tag in ("name", "version", "api-version", "title", "doc", "doc-url", "license", "author",
                "author-contact", "authored-time"):
        assert fields[tag], f"<{tag}> is empty"
    # Without <name> KLayout installs the package straight into salt/ itself.
    assert fields["name"] == "layertools"
    assert "installed-time" not in fields, "installed-time is KLayout's to set"
    datetime.datetime.fromisoformat(fields["authored-time"])
    assert fields["url"] == "" or re.match(r"^https?://", fields["url"])
    assert not re.match(r"^[a-z]+://", fields["doc-url"]), "doc-url should resolve inside the package"


def test_version_has_one_source_of_truth(grain):
    version = grain.find("version").text
    assert version == layertools.__version__
    assert re.fullmatch(r"\d+(\.\d+)*", version), "KLayout versions are dot-separated numbers"
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'version = { attr = "layertools._version.__version__" }' in pyproject
    assert re.search(r'dynamic\s*=\s*\["version"\]', pyproject)
    assert package.check_grain() == []
    check = subprocess.run([sys.executable, str(REPO / "scripts" / "package.py"), "check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_api_version_names_known_features(grain):
    # "feature [version]; ..." where the empty feature is KLayout itself (laySaltGrain.cc)
    text = grain.find("api-version").text
    features = {}
    for part in text.split(";"):
        words = part.split()
        if len(words) == 1 and re.fullmatch(r"\d+(\.\d+)*", words[0]):
            features[""] = words[0]
        else:
            features[words[0]] = words[1] if len(words) > 1 else ""
    assert set(features) <= KNOWN_API_FEATURES
    assert tuple(int(v) for v in features[""].split(".")) >= (0, 28)
    assert features.get("python") == "3"


def test_embedded_icon_and_screenshot_are_the_files(grain):
    icon = base64.b64decode(grain.find("icon").text, validate=True)
    assert icon == (REPO / "icons" / "expression.png").read_bytes()
    width, height, _ = decode_png(icon)
    assert (width, height) == (64, 64), "KLayout wants icons of at most 64x64"
    screenshot = base64.b64decode(grain.find("screenshot").text, validate=True)
    assert screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot == package.GRAIN_SCREENSHOT.read_bytes()
    assert len(grain.find("screenshot").text) < 400_000, "keep grain.xml small (the index downloads it)"


@pytest.mark.parametrize("name", ["expression.png", "memory.png"])
def test_icons_are_drawn_and_legible(name):
    width, height, pixels = decode_png((REPO / "icons" / name).read_bytes())
    assert (width, height) == (64, 64)
    opaque = [p for p in pixels if p[3] >= 200]
    assert len(opaque) > 0.25 * len(pixels), "an icon that is mostly transparent vanishes on the toolbar"
    assert any(p[3] == 0 for p in pixels), "a transparent background blends with any toolbar"
    colours = {(r // 32, g // 32, b // 32) for r, g, b, a in opaque}
    assert len(colours) >= 3


def test_the_two_icons_differ():
    a = decode_png((REPO / "icons" / "expression.png").read_bytes())[2]
    b = decode_png((REPO / "icons" / "memory.png").read_bytes())[2]
    assert sum(1 for p, q in zip(a, b) if p != q) > len(a) // 3


def test_autorun_macro_is_a_header_and_two_lines():
    macros = sorted((REPO / "pymacros").glob("*autorun*"))
    assert [m.name for m in macros] == ["layertools_autorun.py"]
    lines = macros[0].read_text().splitlines()
    # KLayout reads the header only up to the first line that is neither blank nor "# $...".
    first = next(line for line in lines if line.strip())
    assert first.strip() == "# $autorun"
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert code == ["import layertools.gui", "layertools.gui.install()"]


def _autorun_header(path: Path) -> bool:
    text = path.read_text(errors="replace")
    if path.suffix == ".lym":
        return bool(re.search(r"<autorun>\s*true\s*</autorun>", text)) or \
            bool(re.search(r"<autorun-early>\s*true\s*</autorun-early>", text))
    for line in text.splitlines():
        if not line.strip():
            continue
        if not line.startswith("# $"):
            return False
        if line.startswith(("# $autorun", "# $autorun-early")):
            return True
    return False


def test_nothing_else_runs_automatically():
    # python/ is a macro folder too: an autorun header there would run at every start.
    offenders = [p for p in (REPO / "python").rglob("*") if p.suffix in (".py", ".lym", ".rb", ".txt")
                 and _autorun_header(p)]
    assert not offenders
    others = [p.name for p in (REPO / "pymacros").iterdir() if p.is_file() and _autorun_header(p)]
    assert others == ["layertools_autorun.py"]
    assert not _autorun_header(REPO / "_install.lym")
    assert not list((REPO / "pymacros").glob("*.pym")), "KLayout does not scan .pym files"


def test_stage_copies_only_the_package(tmp_path):
    target = package.stage(tmp_path)
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    manifest = (target / "MANIFEST.txt").read_text().split()
    assert files == sorted(manifest)
    assert "grain.xml" in files and "_install.lym" in files and "pymacros/layertools_autorun.py" in files
    assert "python/layertools/__init__.py" in files and "python/layertools/gui/install.py" in files
    assert "icons/expression.png" in files and "icons/memory.png" in files
    assert "doc/readme.html" in files
    for forbidden in ("tests/", "scripts/", "bench/", ".git", "__pycache__", ".pyc", "samples/", ".ci/",
                      "pyproject.toml", "_artifacts"):
        assert not [f for f in files if forbidden in f], forbidden
    grain = ET.parse(target / "grain.xml").getroot()
    assert grain.find("version").text == layertools.__version__
    assert (target / grain.find("doc-url").text).is_file()


def test_stage_with_a_version_changes_only_the_copy(tmp_path):
    before = (REPO / "grain.xml").read_text()
    target = package.stage(tmp_path, version="9.8.7")
    assert ET.parse(target / "grain.xml").getroot().find("version").text == "9.8.7"
    assert '__version__ = "9.8.7"' in (target / "python/layertools/_version.py").read_text()
    assert (REPO / "grain.xml").read_text() == before
    assert layertools.__version__ != "9.8.7"
    with pytest.raises(package.PackageError):
        package.stage(tmp_path, version="1.0-beta")


def test_version_rules():
    assert package.version_key("0.10.0") > package.version_key("0.9.9")
    for bad in ("1.0rc1", "v1.0", "1..0", ""):
        with pytest.raises(package.PackageError):
            package.check_version_text(bad)


def test_sync_writes_version_into_a_grain_copy(tmp_path):
    copy = tmp_path / "grain.xml"
    copy.write_text((REPO / "grain.xml").read_text())
    assert package.sync_grain(copy, version="3.2.1", icon=None, screenshot=None)
    root = ET.parse(copy).getroot()
    assert root.find("version").text == "3.2.1"
    assert [c.tag for c in root] == [c.tag for c in ET.parse(REPO / "grain.xml").getroot()]
    assert not package.sync_grain(copy, version="3.2.1", icon=None, screenshot=None)  # idempotent


def test_readme_becomes_the_doc_url_page(tmp_path):
    written = package.write_docs(REPO, tmp_path)
    assert "readme.html" in written
    page = (tmp_path / "readme.html").read_text()
    readme = (REPO / "README.md").read_text()
    for heading in re.findall(r"^## (.+)$", readme, re.M):
        assert f">{markdown_html._inline(heading, lambda u: u)}</h2>" in page
    assert 'src="screenshot.png"' in page          # README's doc/screenshot.png, seen from doc/
    assert 'href="packaging.html"' in page         # links between the docs follow them into HTML
    assert "<pre><code>" in page and "<table>" in page


def test_markdown_converter_escapes_and_formats():
    html = markdown_html.convert("# T <x>\n\nA `a<b` and **bold** [l](doc/x.md)\n\n- one\n- two\n\n"
                                 "| a | b |\n|---|---|\n| 1 | 2 |\n", link_map=lambda u: u.upper())
    assert "<h1 id=\"t-x\">T &lt;x&gt;</h1>" in html
    assert "<code>a&lt;b</code>" in html and "<strong>bold</strong>" in html
    assert '<a href="DOC/X.MD">l</a>' in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<td>1</td><td>2</td>" in html


def test_gui_module_is_inert_outside_the_application():
    import layertools.gui
    assert layertools.gui.environment() == layertools.gui.STANDALONE
    report = layertools.gui.install()
    assert report.installed is False and report.environment == "standalone" and not report.errors
    # layertools.gui.install must stay the function, not the submodule of the same name
    assert callable(layertools.gui.install)
    from layertools.gui.install import PANELS
    assert {p.object_name for p in PANELS} == {"layertools_expression_dock", "layertools_memory_dock"}


def test_panel_specs_match_the_dock_modules():
    from layertools.gui.install import PANELS
    for spec in PANELS:
        source = (REPO / "python" / Path(*spec.module.split("."))).with_suffix(".py").read_text()
        if f"class {spec.class_name}" in source:
            assert spec.object_name in source, f"{spec.module} does not name its dock {spec.object_name}"
        assert (REPO / "icons" / spec.icon).is_file()


def test_bump_refuses_a_version_that_is_not_newer(tmp_path, monkeypatch, capsys):
    grain = tmp_path / "grain.xml"
    version_file = tmp_path / "_version.py"
    grain.write_text((REPO / "grain.xml").read_text())
    version_file.write_text((REPO / "python" / "layertools" / "_version.py").read_text())
    monkeypatch.setattr(package, "GRAIN", grain)
    monkeypatch.setattr(package, "VERSION_FILE", version_file)
    current = package.read_version()
    assert package.main(["bump", current]) == 1
    assert "must be greater" in capsys.readouterr().err
    assert package.main(["bump", "1.0rc1"]) == 1
    assert package.main(["bump", "99.0.0"]) == 0
    assert package.read_version() == "99.0.0"
    assert ET.parse(grain).getroot().find("version").text == "99.0.0"
    assert package.main(["check"]) == 0
    assert (REPO / "grain.xml").read_text().count("<version>99.0.0</version>") == 0   # the real one untouched


def test_markdown_nested_lists_and_wrapped_items():
    html = markdown_html.convert("- one\n  wrapped\n  - a\n  - b\n- two\n\n1. x\n2. y\n   - z\n")
    assert "<ul><li>one wrapped<ul><li>a</li><li>b</li></ul></li><li>two</li></ul>" in html
    assert "<ol><li>x</li><li>y<ul><li>z</li></ul></li></ol>" in html


def test_ci_tests_the_versions_the_readme_and_pyproject_name():
    """The klayout pins CI tests (scripts/_common.sh), the README's Supported versions table, the
    declared Python minimum and the one ruff checks the syntax against must agree."""
    common = (REPO / "scripts" / "_common.sh").read_text()
    newest = re.search(r'^NEW_KLAYOUT="\$\{LAYERTOOLS_NEW_KLAYOUT-([^}]+)\}"$', common, re.M).group(1)
    oldest = re.search(r'^OLD_KLAYOUT="\$\{LAYERTOOLS_OLD_KLAYOUT:-([^}]+)\}"$', common, re.M).group(1)
    readme = (REPO / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| PyPI `klayout` module"))
    assert f"{oldest} (oldest) and {newest} (newest)" in row
    pyproject = (REPO / "pyproject.toml").read_text()
    minimum = re.search(r'^requires-python = ">=3\.(\d+)"$', pyproject, re.M).group(1)
    assert re.search(r'^target-version = "py3(\d+)"$', pyproject, re.M).group(1) == minimum
    assert f"| Python (standalone) | 3.{minimum} and newer" in readme

