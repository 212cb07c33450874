"""What the benchmark ran on: CPU, cores, memory, load, software versions, repository commit."""

from __future__ import annotations

import os
import platform
import subprocess
from typing import Dict


def machine_info(python: str, klayout: str, repo: str) -> Dict[str, object]:
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(_meminfo_kib("MemTotal") / 1024 / 1024, 1),
        "ram_available_gib_at_start": round(_meminfo_kib("MemAvailable") / 1024 / 1024, 1),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": _run([python, "-c", "import sys; print(sys.version.split()[0])"]),
        "klayout_pypi": _run([python, "-c", "import klayout.db as db; print(db.__version__)"]),
        "klayout_app": _run([klayout, "-v"]).replace("KLayout", "").strip(),
        "klayout_app_drc_note": "the PyPI module has no DRC engine (Ruby not compiled in), so DRC runs "
                                "in the application only",
        "layertools_commit": _run(["git", "-C", repo, "rev-parse", "--short", "HEAD"]),
        "layertools_dirty": bool(_run(["git", "-C", repo, "status", "--porcelain", "--", "python"])),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _meminfo_kib(key: str) -> int:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run(argv) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
