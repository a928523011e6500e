"""Hostile inputs: parsed under limits, rejected with a reason, never a traceback, never the
end of a run; what made one article cost more than linear time or memory stays gone."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from click.testing import CliRunner

from tests.conftest import NOW, SEEDS
from worker.cli import main
from worker.json_articles import nesting_depth, parse_json
from worker.models import Document
from worker.pipeline import facts
from worker.pipeline.extract import extract_html
from worker.pipeline.facts import TextLimits, article_sentences
from worker.pipeline.fingerprint import Signer
from worker.pipeline.sentences import split_sentences

DEEP = 100_000
GENEROUS_S = 5.0  # a bound that only a superlinear cost breaks (the old ones took minutes)


def _lines(out: str) -> list[dict]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{")]


@pytest.fixture
def run(tmp_path):
    def invoke(*args: str, stdin: bytes | None = None):
        env = {"WIREWATCH_DB": str(tmp_path / "cli.db")}
        return CliRunner().invoke(main, list(args), env=env, input=stdin, catch_exceptions=False)

    return invoke


def test_hostile_deep_json_rejected_and_the_run_goes_on(run, tmp_path):
    # Given a run of a seed, JSON arrays and objects 100,000 levels deep, a deep line in
    # JSON Lines, and another seed
    arrays = tmp_path / "arrays.json"
    arrays.write_text("[" * DEEP + "]" * DEEP)
    objects = tmp_path / "objects.json"
    objects.write_text('{"a":' * DEEP + "1" + "}" * DEEP)
    lines = tmp_path / "lines.jsonl"
    seed_line = json.dumps({"text": SEEDS[1].read_text(encoding="utf-8")})
    lines.write_text(seed_line + "\n" + '{"text": ' + "[" * DEEP + "]" * DEEP + "}\n")
    inputs = [str(SEEDS[0]), str(arrays), str(objects), str(lines), str(SEEDS[2])]
    # When they are ingested together (an exception would escape CliRunner)
    result = run("ingest", "--json", *inputs)
    out = _lines(result.stdout)
    # Then the deep ones are rejected as too_deep, every other input is processed, exit 1
    assert result.exit_code == 1
    assert [x["input"] for x in out] == [
        inputs[0], inputs[1], inputs[2], f"{lines}:1", f"{lines}:2", inputs[4]
    ]  # fmt: skip
    reasons = [(x["error"] or "").split(":")[0] for x in out]
    assert reasons == ["", "too_deep", "too_deep", "", "too_deep", ""]
    assert out[0]["status"] == "new_story" and out[5]["status"] != "rejected"
    rejected = json.loads(run("rejected", "--json").stdout)
    assert sorted(r["reason"] for r in rejected) == ["too_deep"] * 3


def test_hostile_json_numbers_fields_and_nul_bytes(run, tmp_path):
    # Given a 5,000-digit number, a 20,000-character title, and an article whose HTML holds NULs
    text = SEEDS[0].read_text(encoding="utf-8")
    number = tmp_path / "number.json"
    number.write_text('{"text": "x", "n": ' + "9" * 5000 + "}")
    title = tmp_path / "title.json"
    title.write_text(json.dumps({"title": "T" * 20_000, "text": text}))
    nul = tmp_path / "nul.json"
    paragraphs = "".join(f"<p>{p}\x00</p>" for p in text.split("\n\n"))
    nul.write_text(
        json.dumps({"html": f"<html><body><article>{paragraphs}</article></body></html>"})
    )
    # When they are ingested
    out = _lines(run("ingest", "--json", str(number), str(title), str(nul)).stdout)
    # Then each gets its own reason, and NUL characters are no reason to fail
    assert [(x["error"] or "").split(":")[0] for x in out[:2]] == ["bad_json", "field_too_long"]
    assert out[2]["status"] == "new_story", out[2]["error"]


def test_hostile_nesting_depth_scan_ignores_strings():
    # Given brackets inside strings and escaped quotes
    # Then only structure counts, and the scan stops early past a bound
    assert nesting_depth('{"a": "[[[[{{{{\\"[[["}') == 1
    assert nesting_depth("[" * 1000, stop_above=10) == 11
    assert parse_json('[{"a": [1, {"b": "]]]"}]}]') == [{"a": [1, {"b": "]]]"}]}]


def test_hostile_article_limits_reject_with_reasons():
    # Given an article over the character cap and one denser in facts than the cap allows
    limits = TextLimits(max_article_chars=50_000, max_article_facts=500)
    long_text = ["word " * 12_000]
    dense = ["In 2024 Alice Smith paid $5 to Bob Jones on May 1. " * 200]
    # Then each is rejected with its own reason
    with pytest.raises(Exception) as long_exc:
        article_sentences(long_text, limits=limits)
    with pytest.raises(Exception) as dense_exc:
        article_sentences(dense, limits=limits)
    assert getattr(long_exc.value, "reason", None) == "article_too_long"
    assert getattr(dense_exc.value, "reason", None) == "too_many_facts"


def test_hostile_long_sentence_is_cut_and_units_capped():
    # Given one 30,000-character "sentence" without punctuation, and a table flattened into one
    run_on = " ".join(["Alpha", "beta", "gamma", "Delta"] * 1500)
    table = " ".join(f"{n} votes" for n in range(400))
    # When its sentences are made
    sentences = article_sentences([run_on, table])
    # Then no sentence is longer than the cap, the text is all there, units are bounded
    limit = facts.LIMITS
    assert all(len(s.text) <= limit.max_sentence_chars for s in sentences)
    assert (
        " ".join(s.text for s in sentences[:-2]).replace(" ", "")[:100]
        == run_on.replace(" ", "")[:100]
    )
    assert all(len(s.units) <= limit.max_sentence_units for s in sentences)
    first_numbers = [u.text for u in sentences[-1].units][:2]
    assert first_numbers and all(t.split()[0].isdigit() for t in first_numbers)


@pytest.mark.parametrize(
    "unit",
    ["Mr. ", "J. ", "U.S. Army ", ".", "?!", 'He said "it. Then '],
    ids=["titles", "initials", "acronyms", "dots", "marks", "quotes"],
)
def test_hostile_sentence_splitting_is_linear(unit):
    # Given 200 KB of a repeated abbreviation or punctuation (40 KB of "Mr. " took a minute)
    text = "A " + unit * (200_000 // len(unit))
    # When it is split, Then it takes far less than the old quadratic cost
    started = time.perf_counter()
    split_sentences(text)
    assert time.perf_counter() - started < GENEROUS_S


def test_hostile_minhash_memory_is_bounded():
    # Given 300,000 distinct shingles (a 2 MB text)
    items = [f"w{i} x{i % 977} y{i % 31}" for i in range(300_000)]
    signer = Signer(128, 1)
    # When they are signed
    tracemalloc.start()
    try:
        signer.sign(items)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then memory is the items' own plus bounded batches, not items x permutations (~450 MB)
    assert peak < 120_000_000, f"peak {peak / 1e6:.0f} MB"


def test_hostile_link_farm_and_wide_table_pages_are_bounded():
    # Given a page of 8,000 short linked paragraphs, and a table padded to 200 columns
    links = "".join(
        f'<p><a href="/x{i}">Link text number {i} here</a> and a few words of text {i}.</p>'
        for i in range(8000)
    )
    farm = f"<html><body><article>{links}</article></body></html>"
    rows = "<tr>" + "<td>1</td>" * 200 + "</tr>" + ("<tr>" + "<td>cell</td>" * 20 + "</tr>") * 8000
    table = f"<html><body><table>{rows}</table><p>{SEEDS[0].read_text()[:2000]}</p></body></html>"
    # When each is extracted, Then each takes bounded time (they took 100 s and 20 s / 1.1 GB)
    for page in (farm, table):
        started = time.perf_counter()
        try:
            extract_html(page, min_chars=40)
        except Exception as exc:
            assert getattr(exc, "reason", None) in ("no_article_text", "article_too_long"), exc
        assert time.perf_counter() - started < GENEROUS_S


def test_hostile_page_with_far_more_text_than_an_article_is_refused():
    # Given a page holding over twice the article cap in text
    body = "<p>" + "word " * (2 * facts.LIMITS.max_article_chars // 5 + 1000) + "</p>"
    # Then it is refused before extraction, with a reason
    with pytest.raises(Exception) as exc:
        extract_html(f"<html><body>{body}</body></html>", min_chars=40)
    assert getattr(exc.value, "reason", None) == "article_too_long"


def test_hostile_ten_megabyte_one_line_is_rejected_quickly(pipeline, store):
    # Given 9.9 MB of text on one line (22 s and 2 GB through the API before)
    words = SEEDS[2].read_text(encoding="utf-8").split()
    text = " ".join(words[i % len(words)] for i in range(1_700_000))[:9_900_000]
    # When it is ingested
    started = time.perf_counter()
    result = pipeline.ingest(Document("one-line.txt", text, "text"), store, now=NOW)
    # Then it is rejected with its reason, in bounded time
    assert result.status == "rejected" and result.error.startswith("article_too_long")
    assert time.perf_counter() - started < GENEROUS_S
