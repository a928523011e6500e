from __future__ import annotations

from worker.models import FactUnit
from worker.pipeline.events import MAX_EVENT_BYTES, build_event
from worker.pipeline.facts import article_sentences, vocabulary
from worker.pipeline.novelty import assess, is_new
from worker.pipeline.text import STOPWORDS, fold
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
    known = {"e:putin", "e:istanb", "d:05-15"}
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
        storyline={"id": "l_" + "0" * 16, "title": "t", "story_count": 1},
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


def _keys(text: str, kind: str) -> list[tuple[str, ...]]:
    return [u.keys for s in article_sentences([text]) for u in s.units if u.kind == kind]


def test_words_after_an_opening_quote_or_bracket_are_openers_not_names():
    # Given capitalised ordinary words that open a quote or a bracket
    text = (
        '"Everything is financed, how can I pay?" he asked. (Nothing happened.) '
        'He said: "We\'re ready." She said, "I\'m here." "That\'s it," he added.'
    )
    # When its units are read
    # Then none of them is a name
    assert _units(text).get("entity", []) == []
    # And so are sentence starts inside a quote of several sentences, and contractions
    quote = (
        '"Human activity caused it. Human activity is a factor. It\'s bad," he said. '
        '"He\'s angry," she added.'
    )
    assert _units(quote).get("entity", []) == []
    # But a name after a title or an acronym is not a sentence start
    assert _units("Officials said Mr. Ban met the U.S. Senate.")["entity"] == [
        "Mr. Ban",
        "U.S. Senate",
    ]
    # And a name opening a quote is one when the article names it mid-sentence too
    names = _units('"Putin is ready," he said. Officials said Putin would call.')["entity"]
    assert names.count("Putin") == 2


def test_one_is_not_a_number_and_a_unit_is_a_lower_case_word():
    # Given "one" as a pronoun and a number word before an abbreviation
    text = "No one wants war. One reason is cost. One source said two U.S. servicemen died."
    # When its units are read
    # Then none is a number
    assert _units(text).get("number", []) == []
    # And a number word before a noun still counts
    assert _keys("Officials said two players left.", "number") == [("n:2:player",)]


def test_clock_time_without_a_zone_is_one_time_not_two_numbers():
    # Given clock times with no time zone
    units = _units("The quake struck at 16:53 local time, Updated: 06:46:00 Deafening noise.")
    # When its units are read
    # Then the time is one unit, and a machine timestamp with seconds is none
    assert units["date"] == ["16:53"]
    assert units.get("number", []) == []
    assert _keys("It struck at 16:53 local time.", "date") == [("t:1653",)]


def test_number_unit_is_the_noun_not_an_adjective_or_a_capitalised_word():
    # Given the same count with and without an adjective
    political = _keys("Officials freed 1,000 political prisoners.", "number")
    plain = _keys("Officials freed 1,000 prisoners.", "number")
    # When their keys are compared
    # Then they are one fact
    assert political == plain == [("n:1000:prison",)]
    # And a nationality is not a unit, but a plural people noun is
    assert _keys("Officials said 11 Brazilian soldiers died.", "number") == [("n:11:soldie",)]
    assert _keys("Officials said 1,000 Libyans fled.", "number") == [("n:1000:libyan",)]
    assert _keys("Officials said 5 of them fled.", "number") == [("n:5:",)]


def test_country_and_person_names_are_full_weight_only_demonyms_are_weak():
    # Given countries and people ending like demonyms, and real demonyms
    text = (
        "Officials met Iran, Pakistan, Afghanistan, Japan, Jordan, Sudan, Haiti, Gaddafi, "
        "Maliki and Talabani with Iranian, Pakistani, Iraqi and American envoys."
    )
    # When their units are read
    weights = {u.text: u.weight for s in article_sentences([text]) for u in s.units}
    # Then only the demonyms weigh half
    assert {t for t, w in weights.items() if w < 1} == {"Iranian", "Pakistani", "Iraqi", "American"}


def test_name_is_new_when_the_story_used_its_words_only_as_ordinary_words():
    # Given a story that used "air" and "force" as ordinary words, and named Putin
    story = article_sentences(["Putin said the army used force in the air. Officials met Putin."])
    known = vocabulary(story)
    # When an article names the Air Force and Putin
    verdict = assess(article_sentences(["Officials said the Air Force met Putin."]), known)
    # Then the Air Force is new and Putin is not
    assert [u.text for n in verdict.sentences for u in n.new_units] == ["Air Force"]


def test_sentence_opening_name_is_known_to_the_story():
    # Given a story that named Putin only at the start of a sentence
    known = vocabulary(article_sentences(["Putin said talks would go on."]))
    # When an article names him mid-sentence
    verdict = assess(article_sentences(["Officials said Putin left."]), known)
    # Then he is not new
    assert verdict.sentences == ()


def test_us_and_new_of_new_york_are_name_words():
    # Given "US", "U.S." and "New York" in names, and "us" and "new" as ordinary words
    keys = _keys(
        "Officials in the US, the U.S. Senate and New York told us of new plans.", "entity"
    )
    # When their keys are read
    # Then the name words count, written either way, and the ordinary words do not
    assert ("e:us",) in keys and ("e:senate", "e:us") in keys and ("e:new", "e:york") in keys
    assert _units("New figures show a rise. Officials agree.").get("entity", []) == []


def test_stopwords_hold_contractions_but_not_the_words_of_comments():
    # Given the stopword file, whose comment lines are prose
    # When it is loaded
    # Then contractions as words() keeps them are stopwords and comment words are not
    assert {"we're", "i'm", "don't"} <= STOPWORDS
    assert not {"function", "generic", "newswire"} & STOPWORDS
