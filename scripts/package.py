#!/usr/bin/env python3
"""Build and check the layertools Salt package (standard library only).

    python3 scripts/package.py version              print the version (python/layertools/_version.py)
    python3 scripts/package.py sync [--touch]       write version, icon and screenshot into grain.xml
                                                    (--touch: authored-time = now)
    python3 scripts/package.py check                exit 1 when grain.xml disagrees with the sources
    python3 scripts/package.py bump X.Y.Z           new version in _version.py, then sync --touch
    python3 scripts/package.py stage DEST [--version X.Y.Z]
                                                    a clean installable copy in DEST/layertools: only
                                                    the package files, the docs as HTML, a MANIFEST.txt
    python3 scripts/package.py docs DEST            README.md and doc/*.md as HTML into DEST

One source of truth for the version: ``python/layertools/_version.py``.  pyproject.toml reads it
(setuptools ``attr:``), grain.xml gets it from ``sync``/``bump``, and tests/test_package.py fails when
they disagree.  ``stage --version`` changes only the staged copy (the upgrade test builds a bumped
package that way without touching the checkout).

Why a staging copy: ``klayout -y DIR`` copies DIR recursively, ``.git/``, tests and artifacts
included, and an upgrade copies over the old folder so files deleted in the new version survive.
The staged package carries MANIFEST.txt and ``_install.lym``; KLayout runs ``_install.lym`` after
every install or upgrade, and it deletes whatever is in the package folder but not in the manifest.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import os
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import markdown_html  # noqa: E402

NAME = "layertools"
GRAIN = REPO / "grain.xml"
VERSION_FILE = REPO / "python" / "layertools" / "_version.py"
PACKAGE_ICON = REPO / "icons" / "expression.png"
GRAIN_SCREENSHOT = REPO / "doc" / "screenshot-small.png"
MANIFEST = "MANIFEST.txt"
VERSION_RE = re.compile(r"^\d+(\.\d+)*$")
_VERSION_LINE = re.compile(r'^__version__\s*=\s*"([^"]*)"\s*$', re.M)

#: What goes into the installed package (paths relative to the checkout).  Everything else - tests,
#: scripts, benchmarks, samples, CI files, .git - stays out.
TOP_FILES = ("grain.xml", "_install.lym", "README.md", "LICENSE", "LICENSE.txt", "NOTICE", "CHANGELOG.md")
TREES = {
    "pymacros": (".py", ".lym"),
    "python/layertools": None,       # every file except caches
    "icons": (".png", ".svg"),
    "doc": None,
}
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", "~", ".swp", ".orig", ".rej")


class PackageError(Exception):
    pass


# ------------------------------------------------------------------------------------------------
# version

def read_version(path: Path | None = None) -> str:
    path = path or VERSION_FILE
    match = _VERSION_LINE.search(path.read_text())
    if not match:
        raise PackageError(f"{path}: no line __version__ = \"X.Y.Z\"")
    return match.group(1)


def write_version(version: str, path: Path | None = None) -> None:
    path = path or VERSION_FILE
    check_version_text(version)
    text = path.read_text()
    path.write_text(_VERSION_LINE.sub(f'__version__ = "{version}"', text, count=1))


def check_version_text(version: str) -> None:
    # KLayout compares versions numerically per dot-separated component and accepts nothing else.
    if not VERSION_RE.match(version):
        raise PackageError(f"version {version!r} must be dot-separated numbers, e.g. 0.2.0 (KLayout's rule)")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# ------------------------------------------------------------------------------------------------
# grain.xml

def read_grain(path: Path) -> ET.ElementTree:
    try:
        return ET.parse(path)
    except ET.ParseError as exc:
        raise PackageError(f"{path}: not valid XML: {exc}") from None


def grain_fields(path: Path) -> dict[str, str]:
    root = read_grain(path).getroot()
    return {child.tag: (child.text or "").strip() for child in root if child.tag != "depends"}


def sync_grain(path: Path | None = None, version: str | None = None, touch: bool = False,
               icon: Path | None = PACKAGE_ICON, screenshot: Path | None = GRAIN_SCREENSHOT) -> bool:
    """Bring grain.xml (default: the checkout's) in line with the sources; True when the file changed."""
    path = path or GRAIN
    tree = read_grain(path)
    root = tree.getroot()
    values = {"version": version or read_version()}
    if touch:
        values["authored-time"] = datetime.datetime.now().replace(microsecond=0).isoformat()
    if icon is not None and icon.exists():
        values["icon"] = base64.b64encode(icon.read_bytes()).decode("ascii")
    if screenshot is not None and screenshot.exists():
        values["screenshot"] = base64.b64encode(screenshot.read_bytes()).decode("ascii")
    for tag, value in values.items():
        element = root.find(tag)
        if element is None:
            raise PackageError(f"{path}: <{tag}> is missing; add it (KLayout keeps the element order)")
        element.text = value
    ET.indent(tree, space=" ")
    text = ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(root, encoding="unicode") + "\n")
    old = path.read_text() if path.exists() else ""
    if text != old:
        path.write_text(text)
        return True
    return False


def check_grain(path: Path | None = None) -> list[str]:
    """Problems with grain.xml against the sources (empty when all is well)."""
    path = path or GRAIN
    problems = []
    fields = grain_fields(path)
    version = read_version()
    if fields.get("name") != NAME:
        problems.append(f"<name> is {fields.get('name')!r}, expected {NAME!r}")
    if fields.get("version") != version:
        problems.append(f"<version> {fields.get('version')!r} differs from _version.py {version!r}; "
                        "run: python3 scripts/package.py sync")
    if PACKAGE_ICON.exists() and fields.get("icon") != base64.b64encode(PACKAGE_ICON.read_bytes()).decode():
        problems.append(f"<icon> is not {PACKAGE_ICON.name}; run: python3 scripts/package.py sync")
    if GRAIN_SCREENSHOT.exists() and \
            fields.get("screenshot") != base64.b64encode(GRAIN_SCREENSHOT.read_bytes()).decode():
        problems.append(f"<screenshot> is not {GRAIN_SCREENSHOT.name}; run: python3 scripts/package.py sync")
    return problems


# ------------------------------------------------------------------------------------------------
# staging

def package_files(repo: Path = REPO) -> list[str]:
    """Relative paths (posix) of every file that belongs in the installed package, sorted."""
    files = [name for name in TOP_FILES if (repo / name).is_file()]
    for tree, suffixes in TREES.items():
        base = repo / tree
        if not base.is_dir():
            continue
        for directory, subdirs, names in os.walk(base):
            subdirs[:] = sorted(d for d in subdirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in names:
                if name.startswith(".") or name.endswith(SKIP_SUFFIXES):
                    continue
                if suffixes is not None and not name.endswith(suffixes):
                    continue
                files.append((Path(directory) / name).relative_to(repo).as_posix())
    return sorted(set(files))


def write_docs(repo: Path, dest: Path) -> list[str]:
    """README.md -> dest/readme.html and doc/*.md -> dest/*.html; returns the written names."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    sources = [(repo / "README.md", "readme.html", True)]
    sources += [(md, md.with_suffix(".html").name, False) for md in sorted((repo / "doc").glob("*.md"))]
    for source, target, from_root in sources:
        if not source.exists():
            continue
        html = markdown_html.convert(source.read_text(encoding="utf-8"), title=f"{NAME}: {source.stem}",
                                     link_map=lambda url, r=from_root: _doc_link(url, r))
        (dest / target).write_text(html, encoding="utf-8")
        written.append(target)
    return written


def _doc_link(url: str, from_root: bool) -> str:
    # The HTML lives in doc/: README's "doc/x.png" becomes "x.png", and links to .md pages go to .html.
    if re.match(r"^[a-z]+:", url) or url.startswith("#"):
        return url
    if from_root:
        url = url[4:] if url.startswith("doc/") else "../" + url
    path, _, anchor = url.partition("#")
    if path.endswith(".md"):
        path = "readme.html" if Path(path).name == "README.md" else path[:-3] + ".html"
    return path + ("#" + anchor if anchor else "")


def stage(dest: Path, version: str | None = None, repo: Path = REPO) -> Path:
    """A clean package in ``dest/layertools`` (replaced if it exists); returns that folder."""
    if version is not None:
        check_version_text(version)
    target = dest / NAME
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for rel in package_files(repo):
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, out)
    write_docs(repo, target / "doc")
    if version is not None:
        write_version(version, target / "python" / "layertools" / "_version.py")
        sync_grain(target / "grain.xml", version=version, icon=None, screenshot=None)
    problems = list(check_staged(target))
    if problems:
        raise PackageError("staged package is not consistent:\n  " + "\n  ".join(problems))
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    (target / MANIFEST).write_text("\n".join(sorted(files + [MANIFEST])) + "\n")
    return target


def check_staged(target: Path) -> list[str]:
    problems = []
    fields = grain_fields(target / "grain.xml")
    version = read_version(target / "python" / "layertools" / "_version.py")
    if fields.get("version") != version:
        problems.append(f"grain version {fields.get('version')} != _version.py {version}")
    doc_url = fields.get("doc-url", "")
    if doc_url and not re.match(r"^[a-z]+://", doc_url) and not (target / doc_url).is_file():
        problems.append(f"doc-url {doc_url} does not exist in the package")
    if not (target / "_install.lym").is_file():
        problems.append("_install.lym (removes stale files on upgrade) is missing")
    return problems


# ------------------------------------------------------------------------------------------------
# command line

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="package.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version")
    sync = sub.add_parser("sync")
    sync.add_argument("--touch", action="store_true", help="set authored-time to now")
    sub.add_parser("check")
    bump = sub.add_parser("bump")
    bump.add_argument("version")
    st = sub.add_parser("stage")
    st.add_argument("dest")
    st.add_argument("--version", help="version of the staged copy (default: the checkout's)")
    docs = sub.add_parser("docs")
    docs.add_argument("dest")
    args = parser.parse_args(argv)
    try:
        if args.command == "version":
            print(read_version())
        elif args.command == "sync":
            changed = sync_grain(touch=args.touch)
            print(f"grain.xml {'updated' if changed else 'already up to date'} (version {read_version()})")
        elif args.command == "check":
            problems = check_grain()
            for problem in problems:
                print(f"grain.xml: {problem}", file=sys.stderr)
            return 1 if problems else 0
        elif args.command == "bump":
            old = read_version()
            check_version_text(args.version)
            if version_key(args.version) <= version_key(old):
                raise PackageError(f"new version {args.version} must be greater than {old}: KLayout "
                                   "silently skips installing a version that is not newer")
            write_version(args.version)
            sync_grain(touch=True)
            print(f"version {old} -> {args.version} (_version.py, grain.xml)")
        elif args.command == "stage":
            target = stage(Path(args.dest).resolve(), args.version)
            count = len((target / MANIFEST).read_text().split())
            print(f"staged {NAME} {read_version(target / 'python' / 'layertools' / '_version.py')}: "
                  f"{count} files in {target}")
            print(f"install it with:  KLAYOUT_SALT_MINE= klayout -zz -y {target}")
        elif args.command == "docs":
            for name in write_docs(REPO, Path(args.dest)):
                print(Path(args.dest) / name)
    except PackageError as exc:
        print(f"package.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
