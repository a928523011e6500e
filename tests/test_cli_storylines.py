"""The storyline commands on both stores: `storylines`, `storyline ID`, `export` and the
storyline corrections, over the dated seeds, an unrelated story and a follow-up."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from click.testing import CliRunner

from tests.conftest import SEEDS
from worker.cli import main

SEED_TIMES = ["2025-05-15T07:00:00Z", "2025-05-15T08:00:00Z", "2025-05-15T09:00:00Z",
              "2025-05-15T09:30:00Z", "2025-05-15T10:00:00Z"]  # fmt: skip
FLOOD = """Floodwaters rose again in Porto Alegre on Tuesday as the Guaiba river reached 5.3 \
metres, forcing the evacuation of Sarandi and Humaita, officials in Rio Grande do Sul said.
Governor Eduardo Leite told reporters at the Piratini Palace that 147 people had died and 127 \
remained missing since heavy rain began on April 29, and that more than 600,000 residents had \
left their homes.
The civil defence agency said the Salgado Filho airport would stay closed until at least June \
15, while the Brazilian navy sent the hospital ship Atlantico to the estuary.
"We are facing the worst climate disaster in the history of our state," Leite said, adding \
that rebuilding would cost at least 19 billion reais.
Meteorologists at MetSul warned that a cold front arriving on Thursday could bring another 150 \
millimetres of rain to the Taquari valley, where the towns of Lajeado and Estrela were flooded \
twice in eight months.
Mayor Sebastiao Melo said pumping stations in the Navegantes district were working again after \
engineers from Sabesp restored power."""
EXPORT_KEYS = {"id", "story_id", "storyline_id", "url", "title", "source", "published_at",
               "status", "event_time", "time_source", "ingested_at"}  # fmt: skip


def dated_articles() -> list[dict]:
    """The five seeds (one story, 2025-05-15), an unrelated story five days later, and a
    follow-up of the seeds two weeks later: past the story window, inside the storyline's."""
    seeds = [
        {"url": f"https://wire.example/{p.stem}", "text": p.read_text(encoding="utf-8"),
         "published_at": t, "source": "Wire"}
        for p, t in zip(SEEDS, SEED_TIMES, strict=True)
    ]  # fmt: skip
    flood = {"url": "https://agencia.example/floods", "title": "Porto Alegre floods rise again",
             "text": FLOOD, "published_at": "2025-05-20T12:00:00Z",
             "source": "Agencia"}  # fmt: skip
    later = SEEDS[1].read_text(encoding="utf-8") + "\n\nTalks resume in Geneva on June 2."
    follow_up = {"url": "https://wire.example/talks-resume", "text": later,
                 "published_at": "2025-05-29T10:00:00Z", "source": "Wire"}  # fmt: skip
    return [*seeds, flood, follow_up]


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@pytest.fixture(params=["sqlite", "redis"])
def run(request, tmp_path):
    """`run(*args)` invokes the CLI on a store of one backend, chosen through the settings."""
    env = {"COLUMNS": "200"}  # rich folds nothing at this width
    if request.param == "redis":
        namespace = request.getfixturevalue("make_redis_store").namespace  # dropped at teardown
        env |= {"WIREWATCH_REDIS_URL": request.getfixturevalue("redis_url"),
                "WIREWATCH_REDIS_NAMESPACE": namespace}  # fmt: skip
    db = str(tmp_path / "cli.db")

    def invoke(*args: str):
        return CliRunner().invoke(main, [*args, "--db", db], env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def ingested(run, tmp_path) -> dict[str, dict]:
    """The dated inputs ingested from one JSON Lines file; the `ingest --json` line by name."""
    path = tmp_path / "wire.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in dated_articles()), encoding="utf-8")
    result = run("ingest", "--json", str(path))
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    names = ["000", "001", "002", "003", "004", "flood", "follow_up"]
    return dict(zip(names, lines, strict=True))


def _storylines(run, *args: str) -> dict[str, dict]:
    result = run("storylines", "--json", *args)
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.stdout)}


def test_storylines_lists_the_topics_with_their_stories(run, ingested, validate_event):
    # Given the seeds, an unrelated story and a follow-up of the seeds two weeks later
    seeds, flood, follow = ingested["000"], ingested["flood"], ingested["follow_up"]
    assert {ingested[n]["story_id"] for n in ("000", "001", "002", "003", "004")} == {
        seeds["story_id"]
    }
    # Then the follow-up opened a story of its own in the seeds' storyline, the flood its own
    assert follow["status"] == "new_story" and follow["story_id"] != seeds["story_id"]
    assert follow["storyline_id"] == seeds["storyline_id"] != flood["storyline_id"]
    # and its story.created lists what it adds to the storyline, not its lede (events v2)
    event = follow["event"]
    validate_event(event)
    title = seeds["event"]["story"]["title"]
    assert event["storyline"] == {"id": seeds["storyline_id"], "title": title, "story_count": 2}
    assert event["novelty"] is not None
    assert [f["text"] for f in event["novel_facts"]] == ["Talks resume in Geneva on June 2."]
    assert flood["event"]["novelty"] is None and len(flood["event"]["novel_facts"]) == 3
    # When the storylines are listed
    lines = _storylines(run)
    # Then there are two, the most recently seen (by publication time) first, with their counts
    assert list(lines) == [seeds["storyline_id"], flood["storyline_id"]]
    talks, floods = lines[seeds["storyline_id"]], lines[flood["storyline_id"]]
    assert (talks["story_count"], talks["article_count"]) == (2, 6)
    assert (floods["story_count"], floods["article_count"]) == (1, 1)
    assert talks["development_count"] == 3 and floods["development_count"] == 0
    assert talks["last_seen_at"] == _ts("2025-05-29T10:00:00Z")
    assert floods["title"] == "Porto Alegre floods rise again"
    # And --grep, --since and --limit filter it
    assert list(_storylines(run, "--grep", "PORTO ALEGRE")) == [flood["storyline_id"]]
    assert list(_storylines(run, "--since", "2025-05-25T00:00:00Z")) == [seeds["storyline_id"]]
    assert list(_storylines(run, "--limit", "1")) == [seeds["storyline_id"]]
    assert _storylines(run, "--grep", "no such title") == {}
    assert run("storylines", "--since", "yesterday-ish").exit_code == 2
    # And the human table shows both
    human = run("storylines").stdout
    assert seeds["storyline_id"] in human and "Porto Alegre floods rise again" in human


def test_storyline_shows_its_stories_oldest_first(run, ingested):
    seeds, follow = ingested["000"], ingested["follow_up"]
    # When one storyline is asked for
    result = run("storyline", seeds["storyline_id"], "--json")
    detail = json.loads(result.stdout)
    # Then it lists its two stories, oldest first, each with its counts and dates
    assert detail["id"] == seeds["storyline_id"] and detail["story_count"] == 2
    stories = detail["stories"]
    assert [s["id"] for s in stories] == [seeds["story_id"], follow["story_id"]]
    assert [(s["article_count"], s["development_count"]) for s in stories] == [(5, 3), (1, 0)]
    assert stories[0]["created_at"] == _ts(SEED_TIMES[0])
    assert stories[0]["last_seen_at"] == _ts(SEED_TIMES[-1])
    assert stories[1]["created_at"] == _ts("2025-05-29T10:00:00Z")
    assert {s["storyline_id"] for s in stories} == {seeds["storyline_id"]}
    human = run("storyline", seeds["storyline_id"]).stdout
    assert seeds["story_id"] in human and follow["story_id"] in human and "2 stories" in human
    # And an unknown id is an error that says where to look
    missing = run("storyline", "l_0000000000000000")
    assert missing.exit_code == 1 and "wirewatch storylines" in missing.output


def test_stories_carry_their_storyline(run, ingested):
    rows = json.loads(run("stories", "--json").stdout)
    want = {line["story_id"]: line["storyline_id"] for line in ingested.values()}
    assert {r["id"]: r["storyline_id"] for r in rows} == want
    human = run("stories").stdout
    assert "storyline" in human and ingested["flood"]["storyline_id"] in human


def test_export_prints_one_line_per_article_with_its_storyline(run, ingested):
    # When every article is exported as JSON Lines
    result = run("export", "--json")
    rows = [json.loads(x) for x in result.stdout.splitlines()]
    # Then there is one line per stored article, in ingest order, with the documented keys
    assert result.exit_code == 0
    assert [r["id"] for r in rows] == [line["article_id"] for line in ingested.values()]
    assert all(set(r) == EXPORT_KEYS for r in rows)
    # and each carries its story and that story's storyline
    story_line = {s["id"]: s["storyline_id"] for s in json.loads(run("stories", "--json").stdout)}
    by_id = {line["article_id"]: line for line in ingested.values()}
    for r in rows:
        assert r["story_id"] == by_id[r["id"]]["story_id"]
        assert r["storyline_id"] == story_line[r["story_id"]]
        assert r["status"] == by_id[r["id"]]["status"]
    # and its event time is its publication time (all plausible here)
    inputs = dated_articles()
    assert [r["published_at"] for r in rows] == [a["published_at"] for a in inputs]
    assert [r["event_time"] for r in rows] == [_ts(a["published_at"]) for a in inputs]
    assert {r["time_source"] for r in rows} == {"published"}
    assert [r["url"] for r in rows] == [a["url"] for a in inputs]
    # And without --json it is tab-separated with a header, the same values
    tsv = run("export").stdout.splitlines()
    header, *cells = [line.split("\t") for line in tsv]
    assert header[:3] == ["id", "story_id", "storyline_id"] and set(header) == EXPORT_KEYS
    assert len(cells) == len(rows) and all(len(c) == len(header) for c in cells)
    for c, r in zip(cells, rows, strict=True):
        got = dict(zip(header, c, strict=True))
        assert got["storyline_id"] == r["storyline_id"] and got["title"] == (r["title"] or "")
        assert float(got["event_time"]) == r["event_time"]


def test_storyline_corrections_move_stories_and_refuse_nonsense(run, ingested):
    seeds, flood, follow = ingested["000"], ingested["flood"], ingested["follow_up"]
    talks, floods = seeds["storyline_id"], flood["storyline_id"]
    # When the flood's storyline is merged into the talks'
    merged = run("merge-storylines", floods, talks, "--json")
    assert merged.exit_code == 0, merged.output
    assert json.loads(merged.stdout) == {"source": floods, "target": talks, "stories_moved": 1}
    # Then one storyline holds the three stories, and every article says so
    lines = _storylines(run)
    assert list(lines) == [talks] and lines[talks]["story_count"] == 3
    assert lines[talks]["article_count"] == 7
    exported = [json.loads(x) for x in run("export", "--json").stdout.splitlines()]
    assert {r["storyline_id"] for r in exported} == {talks}
    assert run("storyline", floods).exit_code == 1
    # When the follow-up's story is split off
    split = run("split-storyline", follow["story_id"], "--json")
    assert split.exit_code == 0, split.output
    result = json.loads(split.stdout)
    own = result["storyline"]
    assert result == {"story": follow["story_id"], "from_storyline": talks, "storyline": own}
    # Then it has a storyline of its own, and the old one keeps the other two stories
    lines = _storylines(run)
    assert set(lines) == {talks, own}
    assert (lines[own]["story_count"], lines[own]["article_count"]) == (1, 1)
    assert (lines[talks]["story_count"], lines[talks]["article_count"]) == (2, 6)
    detail = json.loads(run("storyline", own, "--json").stdout)
    assert [s["id"] for s in detail["stories"]] == [follow["story_id"]]
    out = run("export", "--json").stdout
    exported = {r["id"]: r for r in (json.loads(x) for x in out.splitlines())}
    assert exported[follow["article_id"]]["storyline_id"] == own
    assert exported[seeds["article_id"]]["storyline_id"] == talks
    # And refusals change nothing, exit 1 and say why
    for args, code in [
        (("split-storyline", follow["story_id"]), "conflict"),  # alone already
        (("split-storyline", "s_0000000000000000"), "not_found"),
        (("merge-storylines", talks, talks), "invalid"),
        (("merge-storylines", "l_0000000000000000", talks), "not_found"),
    ]:
        refused = run(*args)
        assert refused.exit_code == 1 and f"refused ({code})" in refused.output, args
    assert set(_storylines(run)) == {talks, own}
    # And the human answers say what moved
    back = run("merge-storylines", own, talks)
    assert back.exit_code == 0 and "1 story moved" in back.stdout
