"""Memory report core: capture, parsing, per-layer memory, process figures, the memstat command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, data_file
from layertools.commands.memstat_command import memstat_command
from layertools.compat import db
from layertools.memstat import (
    MASTER_CATEGORIES,
    capture_c_stdout,
    mem_statistics,
    memory_report,
    parse_mem_statistics,
    process_memory,
    read_with_report,
    shapes_memory_by_layer,
)
from layertools.memstat.klayout_statistics import MASTER_HEADER, format_block

PYTHON_PATH = str(REPO / "python")


def run_python(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PYTHON_PATH}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)


# --- capture ----------------------------------------------------------------------------------

def test_capture_is_repeatable_and_leaves_stdout_working():
    # In a child process, so that what reaches the real file descriptor 1 can be checked.
    result = run_python("""
        import ctypes, sys
        import klayout.db as db
        from layertools.memstat.capture import capture_c_stdout
        libc = ctypes.CDLL(None)
        layout = db.Layout()
        layout.create_cell("TOP").shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 10, 10))
        texts = [capture_c_stdout(layout.dump_mem_statistics, False) for _ in range(5)]
        assert all(t == texts[0] for t in texts), texts
        assert texts[0].startswith("Memory usage per master category:"), texts[0]
        try:
            capture_c_stdout(lambda: (libc.printf(b"lost?\\n"), 1 / 0))
        except ZeroDivisionError:
            pass
        print("python stdout works")
        sys.stdout.flush()
        libc.printf(b"C stdout works\\n"); libc.fflush(None)
        layout.dump_mem_statistics(False)   # printed normally again
        nested = capture_c_stdout(lambda: capture_c_stdout(libc.printf, b"inner\\n") + "x")
        print("nested:", repr(nested))
    """)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "python stdout works" in out and "C stdout works" in out
    assert out.count("Memory usage per master category:") == 1  # only the uncaptured call
    assert "lost?" not in out  # captured (and discarded) even though the function raised
    assert "nested: ''" in out and "inner" not in out


def test_capture_strips_colour_codes():
    text = capture_c_stdout(lambda: os.write(1, b"\x1b[32mMemory usage per master category:\x1b[0m\n"))
    assert text == "Memory usage per master category:\n"


def test_capture_survives_a_closed_stdout():
    result = run_python("""
        import os
        import klayout.db as db
        from layertools.memstat import mem_statistics
        layout = db.Layout(); layout.create_cell("TOP")
        os.close(1)
        stats = mem_statistics(layout)
        import sys
        sys.stderr.write("total=%d\\n" % stats.total.used)
    """)
    assert result.returncode == 0, result.stderr
    assert "total=" in result.stderr and int(result.stderr.split("total=")[1].split()[0]) > 0


# --- parsing ----------------------------------------------------------------------------------

DETAILED_FROM_SOME_OTHER_VERSION = """\
Reading file: x.gds: 0 (user) 0 (sys) 0.001 (wall) 556.84M (mem)
Memory usage per type:
  tl::heap_vector<geo::rect<long>, std::pmr::allocator<geo::rect<long>>>: 1200 (used) 2400 (reqd)
  class db::Cell: 288 (used) 288 (reqd)
  weird: name: with colons: 5 (used) 6 (reqd)
Memory usage per category:
  Layout info    [0]: 100 (used) 110 (reqd)
  Shapes info    [3]: 1393 (used) 2584 (reqd)
  Quantum foam   [-1]: 7 (used) 8 (reqd)
Memory usage per purpose:
  something new  : 1 (used) 2 (reqd)
Memory usage per master category:
  Layout info    : 100 (used) 110 (reqd)
  Shapes info    : 1393 (used) 2584 (reqd)
  Quantum foam   : 7 (used) 8 (reqd)
  Total          : 1500 (used) 2702 (reqd)
Loading: 0 (user) 0 (sys) 0.002 (wall) 1038.79M (mem)
"""


def test_parser_does_not_depend_on_type_or_category_names():
    (stats,) = parse_mem_statistics(DETAILED_FROM_SOME_OTHER_VERSION)
    assert [t.name for t in stats.types] == [
        "tl::heap_vector<geo::rect<long>, std::pmr::allocator<geo::rect<long>>>", "class db::Cell",
        "weird: name: with colons"]
    assert stats.types[2].used == 5 and stats.types[0].slack == 1200
    assert [(c.name, c.category_id) for c in stats.categories] == [
        ("Layout info", 0), ("Shapes info", 3), ("Quantum foam", -1)]
    assert stats.other_sections == {"purpose": [stats.other_sections["purpose"][0]]}
    assert stats.total.used == 1500 and stats.total.reqd == 2702
    # the five master categories are always there (zeros when KLayout printed none), unknown ones are kept
    master = stats.master_dict()
    assert list(master) == ["Layout info", "Cell info", "Instances", "Shapes info", "Quantum foam", "Total"]
    assert master["Cell info"] == {"used": 0, "reqd": 0} and master["Quantum foam"] == {"used": 7, "reqd": 8}
    assert stats.master_block().splitlines()[0] == MASTER_HEADER
    assert stats.master_block().splitlines()[-1] == "  Total          : 1500 (used) 2702 (reqd)"


def test_parser_splits_consecutive_dumps_and_formats_back_byte_for_byte():
    layout = db.Layout()
    layout.read(str(data_file("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")))
    text = capture_c_stdout(lambda: (layout.dump_mem_statistics(True), layout.dump_mem_statistics(False),
                                     layout.top_cell().dump_mem_statistics(True)))
    dumps = parse_mem_statistics(text)
    assert len(dumps) == 3
    detailed, plain, cell = dumps
    assert detailed.master_dict() == plain.master_dict()
    assert len(detailed.types) > 10 and not plain.types and cell.total.used < plain.total.used
    # per-category lines sum to the master totals
    assert sum(c.used for c in detailed.categories) == detailed.total.used
    assert sum(line.used for line in detailed.master if line.name != "Total") == detailed.total.used
    rebuilt = (format_block("Memory usage per type:", detailed.types, padded=False)
               + format_block("Memory usage per category:", detailed.categories)
               + format_block(MASTER_HEADER, detailed.master))
    assert rebuilt == detailed.text


def test_mem_statistics_of_empty_shapes_and_a_fresh_layout():
    layout = db.Layout()
    stats = mem_statistics(layout)
    assert stats.total.used > 0  # the layout object itself
    assert set(MASTER_CATEGORIES) <= set(stats.master_dict())


# --- per-layer memory, hierarchy, process ------------------------------------------------------

@pytest.mark.parametrize("editable", [False, True])
def test_looking_changes_nothing(editable):
    # Cell.shapes(layer) creates an empty shape list where there is none: statistics and reports
    # must not touch those layers, or the second report differs from the first (and from -d 31).
    layout = db.Layout(editable)
    layout.read(str(data_file("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")))
    before = mem_statistics(layout, True)
    first = memory_report(layout, detailed=True)
    second = memory_report(layout, detailed=True)
    after = mem_statistics(layout, True)
    assert before.master_dict() == first.statistics.master_dict() == second.statistics.master_dict()
    assert before.master_dict() == after.master_dict()
    assert [(t.name, t.used) for t in before.types] == [(t.name, t.used) for t in after.types]


def test_per_layer_shape_memory_adds_up_to_the_shapes_category():
    layout = db.Layout(False)
    layout.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    per_layer = shapes_memory_by_layer(layout)
    shapes_info = mem_statistics(layout).category("Shapes info")
    used = sum(entry.used for entry in per_layer.values())
    # each shape list's own report; the layout-wide figure adds the cells' per-layer bookkeeping
    assert 0.85 * shapes_info.used <= used <= shapes_info.used
    big = max(per_layer, key=lambda index: per_layer[index].used)
    assert layout.get_info(big).to_s() in ("68/20", "66/20", "67/20", "236/0", "67/44", "68/44")
    only = shapes_memory_by_layer(layout, [big])
    assert list(only) == [big] and only[big].used == per_layer[big].used


def test_process_memory_reads_proc():
    process = process_memory()
    if not sys.platform.startswith("linux"):
        pytest.skip("the /proc figures are Linux-only")
    with open("/proc/self/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    assert abs(process.rss_bytes - rss_kb * 1024) < 64 * 1024 * 1024
    assert process.peak_rss_bytes >= process.rss_bytes - 1024 * 1024
    assert process.vsize_bytes > process.rss_bytes
    assert process.heap_in_use_bytes is None or process.heap_in_use_bytes > 0


def test_read_with_report_is_viewer_mode_and_times_the_read():
    path = str(data_file("vexriscv.oas.gz"))
    layout, report = read_with_report(path)
    assert not layout.is_editable() and not report.editable
    assert report.load.wall_s > 0 and report.load.user_s >= 0 and report.load.file_bytes == os.path.getsize(path)
    assert report.hierarchy.shapes_flat.total == 2_526_348  # SOURCES.md
    editor_layout, editor = read_with_report(path, editable=True)
    assert editor_layout.is_editable()
    # editor mode expands OASIS repetitions: more memory for the same shapes (KLayout #2379)
    assert editor.statistics.total.used > report.statistics.total.used
    assert editor.hierarchy.shapes_flat.total == report.hierarchy.shapes_flat.total
    assert any(item.topic == "mode" for item in editor.advice)


def test_report_of_a_layout_in_memory_matches_dump_mem_statistics():
    layout = db.Layout()
    layout.read(str(data_file("amd2901.gds.gz")))
    report = memory_report(layout, detailed=True)
    expected = parse_mem_statistics(capture_c_stdout(layout.dump_mem_statistics, False))[0]
    assert report.statistics.master_dict() == expected.master_dict()
    assert report.detailed and report.statistics.types and all(entry.used_bytes for entry in report.layers)
    assert report.hierarchy.shapes_flat.total == 133_197  # SOURCES.md
    assert report.source is None and report.load is None


def test_export_json_and_yaml(tmp_path):
    yaml = pytest.importorskip("yaml")
    layout = db.Layout()
    layout.read(str(data_file("amd2901.gds.gz")))
    report = memory_report(layout, source="amd2901.gds.gz")
    report.export(str(tmp_path / "r.json"))
    report.export(str(tmp_path / "r.yaml"))
    from_json = json.loads((tmp_path / "r.json").read_text())
    from_yaml = yaml.safe_load((tmp_path / "r.yaml").read_text())
    assert from_json == from_yaml
    assert from_json["categories"]["Total"]["used"] == report.statistics.total.used
    assert from_json["hierarchy"]["shapes_flat"]["total"] == 133_197
    assert sorted(os.listdir(tmp_path)) == ["r.json", "r.yaml"]  # no temporary files left


# --- the command --------------------------------------------------------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": PYTHON_PATH}
    return subprocess.run([sys.executable, "-m", "layertools", "memstat", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_text_starts_with_klayouts_block_and_json_has_the_contract_keys():
    path = str(data_file("RM_IHPSG13_1P_8192x32_c4.gds.gz"))
    text = run_cli(path)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == MASTER_HEADER
    assert [line.split(":")[0].strip() for line in lines[1:6]] == list(MASTER_CATEGORIES)
    assert "39,163,608" in text.stdout and "Advice:" in text.stdout and "suggested strategy: deep" in text.stdout

    as_json = run_cli(path, "--json")
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert set(data["categories"]) >= set(MASTER_CATEGORIES)
    assert all(set(v) == {"used", "reqd"} and isinstance(v["used"], int) for v in data["categories"].values())
    assert data["process"]["rss_bytes"] > 0 and data["process"]["peak_rss_bytes"] >= data["process"]["rss_bytes"]
    assert set(data["load"]) >= {"wall_s", "user_s", "sys_s"}
    # the text's block carries the same numbers as the JSON (same file, fresh process, same version)
    used = {line.split(":")[0].strip(): int(line.split(":")[1].split()[0]) for line in lines[1:6]}
    assert used == {name: data["categories"][name]["used"] for name in MASTER_CATEGORIES}
    assert data["hierarchy"]["shapes_flat"]["total"] == 39_163_608
    assert data["suggestion"]["strategy"] == "deep"


def test_cli_detailed_adds_types_and_layers():
    result = run_cli(str(data_file("amd2901.gds.gz")), "--detailed")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(MASTER_HEADER + "\n")
    assert "Memory usage per type:" in out and "Memory usage per category:" in out and "Layers (10):" in out
    detailed_json = json.loads(run_cli(str(data_file("amd2901.gds.gz")), "--detailed", "--json").stdout)
    assert detailed_json["detailed"]["types"] and detailed_json["layers"][0]["used_bytes"] > 0


def test_cli_errors(tmp_path):
    missing = run_cli(str(tmp_path / "nope.gds"))
    assert missing.returncode == 1 and "no such file" in missing.stderr and not missing.stdout
    garbage = tmp_path / "garbage.gds"
    garbage.write_bytes(b"this is not a layout\n" * 10)
    bad = run_cli(str(garbage))
    assert bad.returncode == 1 and "cannot read" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli(str(tmp_path)).returncode == 1
    cell = run_cli(str(data_file("amd2901.gds.gz")), "--cell", "NO_SUCH_CELL")
    assert cell.returncode == 2 and "NO_SUCH_CELL" in cell.stderr and "amd2901" in cell.stderr
    usage = run_cli()
    assert usage.returncode == 2


def test_cli_cell_scope(capsys):
    import argparse
    args = argparse.Namespace(input=str(data_file("amd2901.gds.gz")), detailed=False, json=True, cell="amd2901")
    assert memstat_command(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["hierarchy"]["scope"] == "amd2901" and data["hierarchy"]["shapes_flat"]["total"] == 133_197


def test_report_without_capture_still_has_hierarchy_and_says_why(monkeypatch):
    # Where fd 1 cannot be redirected (no C library handle), the rest of the report still works.
    from layertools.memstat import capture
    monkeypatch.setattr(capture, "_libc", lambda: None)
    layout = db.Layout()
    layout.read(str(data_file("amd2901.gds.gz")))
    report = memory_report(layout, detailed=True)
    assert report.hierarchy.shapes_flat.total == 133_197
    assert report.warnings and "cannot capture" in report.warnings[0]
    assert report.statistics.master_dict()["Total"] == {"used": 0, "reqd": 0}
    assert "Warning: cannot capture" in report.to_text()
