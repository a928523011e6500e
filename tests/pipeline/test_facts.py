from __future__ import annotations

from worker.models import FactUnit
from worker.pipeline.events import MAX_EVENT_BYTES, build_event
from worker.pipeline.facts import article_sentences
from worker.pipeline.novelty import assess, is_new
from worker.pipeline.text import fold
from worker.pipeline.urls import canonical_url


def _units(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for s in article_sentences([text]):
        for u in s.units:
            out.setdefault(u.kind, []).append(u.text)
    return out


def test_units_cover_names_numbers_dates_times_and_quotes():
    units = _units(
        'Talks at Dolmabahce Palace begin at 0745 GMT on May 15. Zelenskiy called it "a theater '
        'prop." Russia occupies about 20% of Ukraine after a $6.78 billion deal.'
    )
    assert "Dolmabahce Palace" in units["entity"]
    assert {"0745 GMT", "May 15"} <= set(units["date"])
    assert "a theater prop" in units["quote"]
    assert {"20%", "$6.78 billion"} <= set(units["number"])


def test_sentence_openers_are_not_names_but_repeated_names_are():
    units = _units("Instead, the envoy left. Putin stayed home. Officials said Putin would call.")
    assert "Instead" not in units.get("entity", [])
    assert units["entity"].count("Putin") == 2


def test_fold_merges_transliterations_and_spellings():
    assert fold("Zelensky") == fold("Zelenskiy") == fold("Zelenskyy")
    assert fold("Defence") == fold("defense") and fold("theatre") == fold("theater")
    assert fold("Michael") != fold("Mikhail")


def test_novelty_counts_only_units_the_story_lacks():
    known = {"w:putin", "w:istanb", "d:05-15"}
    sentences = article_sentences(["Putin met envoys in Istanbul on May 15 with Mikhail Galuzin."])
    verdict = assess(sentences, known)
    assert [u.text for n in verdict.sentences for u in n.new_units] == ["Mikhail Galuzin"]
    assert 0 < verdict.score < 1


def test_quote_is_new_only_when_most_of_its_words_are():
    quote = FactUnit("quote", "all answers are in Moscow", ("w:answer", "w:moscow"))
    assert not is_new(quote, {"w:answer", "w:moscow"})
    assert is_new(quote, set())


def test_canonical_url_drops_tracking_and_case():
    assert canonical_url("HTTP://WWW.Example.com:80/a/?utm_source=x&id=2#top") == (
        "https://example.com/a?id=2"
    )
    assert canonical_url("ftp://example.com/x") is None


def test_event_payload_stays_small_with_hundreds_of_facts():
    text = " ".join(f"Minister Name{i} Surname{i} said {i} people left." for i in range(400))
    sentences = article_sentences([text])
    event = build_event(
        "story.new_development",
        story={"id": "s_" + "0" * 16, "title": "t", "article_count": 2},
        article={
            "id": "a_" + "1" * 16,
            "url": None,
            "title": None,
            "source": None,
            "published_at": None,
        },
        occurred_at=0.0,
        novelty=assess(sentences, set()),
        sentences=sentences,
        compared_with=["a_" + "2" * 16],
        max_facts=1000,
    )
    import json

    assert len(json.dumps(event).encode()) <= MAX_EVENT_BYTES
    assert event["truncated"] and event["novel_facts_total"] == 400
