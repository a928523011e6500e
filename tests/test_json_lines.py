"""JSON Lines archives are ingested article by article: `max_input_bytes` caps each line."""

from __future__ import annotations

import io
import json
import tracemalloc

from click.testing import CliRunner

from tests.conftest import SEEDS
from worker.cli import main
from worker.config import Settings
from worker.ingest import Pipeline
from worker.inputs import read_inputs

CAP = 8_000  # bytes: each seed line is 2-5 KB, so the five of them make a file over the cap


def _seed_line(n: int, **extra: str) -> str:
    text = SEEDS[n].read_text(encoding="utf-8")
    return json.dumps({"title": f"Seed {n}", "text": text, **extra})


def _archive(tmp_path, lines: list[str], name: str = "archive.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ingest_all(settings: Settings, paths: list[str], stdin: bytes = b"") -> list:
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    out = []
    try:
        items = read_inputs(paths, stdin=io.BytesIO(stdin), max_bytes=settings.max_input_bytes)
        for origin, doc in items:
            if isinstance(doc, Exception):
                out.append(pipeline.reject(origin, doc, store, now=1_747_300_000.0))
            else:
                out.append(pipeline.ingest(doc, store, now=1_747_300_000.0))
    finally:
        store.close()
    return out


def test_json_lines_file_over_the_cap_is_ingested_line_by_line(tmp_path):
    # Given a JSON Lines file of the five seeds, larger than max_input_bytes, each line under it
    settings = Settings(db_path=str(tmp_path / "ww.db"), max_input_bytes=CAP)
    path = _archive(tmp_path, [_seed_line(n) for n in range(5)])
    assert path.stat().st_size > CAP
    # When it is ingested
    results = _ingest_all(settings, [str(path)])
    # Then every line is an article of its own, none rejected
    assert [r.input for r in results] == [f"{path}:{n}" for n in range(1, 6)]
    assert all(r.status != "rejected" for r in results), [r.error for r in results]
    assert len({r.story_id for r in results}) == 1  # the seeds are one story


def test_json_lines_oversized_line_is_rejected_and_the_rest_ingested(tmp_path):
    # Given an archive whose third line is over the cap, and a blank line
    settings = Settings(db_path=str(tmp_path / "ww.db"), max_input_bytes=CAP)
    huge = json.dumps({"title": "Huge", "text": "word " * (CAP // 4)})
    path = _archive(tmp_path, [_seed_line(0), _seed_line(1), huge, "", _seed_line(2)])
    # When it is ingested
    results = _ingest_all(settings, [str(path)])
    # Then the huge line alone is rejected, too_large, and the lines after it go on
    by_input = {r.input: r for r in results}
    assert list(by_input) == [f"{path}:{n}" for n in (1, 2, 3, 5)]
    assert by_input[f"{path}:3"].status == "rejected"
    assert by_input[f"{path}:3"].error.startswith("too_large")
    assert all(by_input[f"{path}:{n}"].status != "rejected" for n in (1, 2, 5))


def test_json_lines_cli_reports_each_line_with_its_exit_status(tmp_path):
    # Given the same archive with one oversized and one broken line, and a cap in the env
    huge = json.dumps({"text": "word " * (CAP // 4)})
    path = _archive(tmp_path, [_seed_line(0), huge, "{not json", _seed_line(1)])
    env = {"WIREWATCH_DB": str(tmp_path / "cli.db"), "WIREWATCH_MAX_INPUT_BYTES": str(CAP)}
    # When `wirewatch ingest --json` reads it
    result = CliRunner().invoke(main, ["ingest", "--json", str(path)], env=env,
                                catch_exceptions=False)  # fmt: skip
    lines = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    # Then one line per article, the two bad ones rejected with their reasons, exit 1
    assert result.exit_code == 1
    assert [x["input"] for x in lines] == [f"{path}:{n}" for n in range(1, 5)]
    assert [(x["error"] or "").split(":")[0] for x in lines] == ["", "too_large", "bad_json", ""]


def test_json_lines_memory_stays_within_one_line(tmp_path):
    # Given a 24 MB archive: a 20 MB line over a 1 MB cap between two articles
    cap = 1_000_000
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as f:
        f.write(_seed_line(0) + "\n")
        f.write('{"text": "' + "x" * 20_000_000 + '"}\n')
        for _ in range(1000):
            f.write(_seed_line(1) + "\n")
    # When its items are read one by one
    tracemalloc.start()
    try:
        kinds = []
        for _, item in read_inputs([str(path)], stdin=io.BytesIO(), max_bytes=cap):
            kinds.append(type(item).__name__)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then every line came through, and memory never held more than a few lines
    assert kinds[:2] == ["Document", "BadInput"] and kinds.count("Document") == 1001
    assert peak < 5 * cap, f"peak {peak} bytes"


def test_json_lines_on_stdin_and_in_a_json_file_over_the_cap(tmp_path):
    # Given JSON Lines on stdin and in a .json file larger than the cap
    settings = Settings(db_path=str(tmp_path / "ww.db"), max_input_bytes=CAP)
    lines = [_seed_line(n) for n in range(5)]
    path = _archive(tmp_path, lines, name="archive.json")
    # When both are ingested
    results = _ingest_all(settings, ["-", str(path)], stdin=("\n".join(lines) + "\n").encode())
    # Then both are read line by line
    expected = [f"-:{n}" for n in range(1, 6)] + [f"{path}:{n}" for n in range(1, 6)]
    assert [r.input for r in results] == expected
    assert all(r.status != "rejected" for r in results), [r.error for r in results]


def test_json_lines_utf16_file(tmp_path):
    # Given a JSON Lines file in UTF-16 (with its BOM)
    settings = Settings(db_path=str(tmp_path / "ww.db"))
    path = tmp_path / "utf16.jsonl"
    path.write_bytes(("\n".join([_seed_line(0), _seed_line(3)]) + "\n").encode("utf-16"))
    # When it is ingested, Then both articles are read
    results = _ingest_all(settings, [str(path)])
    assert [r.input for r in results] == [f"{path}:1", f"{path}:2"]
    assert all(r.status != "rejected" for r in results), [r.error for r in results]
