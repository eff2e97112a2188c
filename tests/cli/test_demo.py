"""The README's first quick-start command ends in `proxx demo`: it must make real, verified proxies.
The CLI finds the demo through the `proxx.demo` entry point, so it imports no engine itself."""

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_proxx_cli_imports_no_engine():
    for path in (ROOT / "proxx_cli" / "proxx_cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.startswith("proxx_engine") for n in names), f"{path.name} imports {names}"


def test_demo_makes_verified_proxies(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "proxx_cli", "demo", str(tmp_path / "demo")], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["status"] == "COMPLETED" and len(result["clips"]) == 3
    for clip in result["clips"]:
        assert Path(clip["output"]["path"]).is_file()
        assert clip["output"]["verification"]["ok"]
