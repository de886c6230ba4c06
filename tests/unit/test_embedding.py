"""The embedding examples in README.md and docs/embedding.md run as documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for doc in ("README.md", "docs/embedding.md"):
        for index, code in enumerate(BLOCK.findall((ROOT / doc).read_text())):
            found.append((f"{doc}#{index + 1}", code))
    return found


@pytest.mark.parametrize(("where", "code"), examples(), ids=[w for w, _ in examples()])
def test_documented_example_runs(
    where: str,
    code: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each Python block of the embedding docs executes without error and prints what it says."""
    monkeypatch.chdir(tmp_path)  # the embedded default writes platform-core.db here
    exec(compile(code, where, "exec"), {"__name__": "__docs__"})
    printed = capsys.readouterr().out
    if "print(" in code:
        assert printed.strip(), f"{where} printed nothing"
