"""Tests for the plain-text cleaner, on the five seed articles and small synthetic texts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from worker.pipeline import clean as clean_module
from worker.pipeline.clean import CleanText, clean_text

SEEDS_DIR = Path(__file__).parents[2] / "seeds"
SEEDS = {
    path.name[:3]: path.read_text(encoding="utf-8") for path in sorted(SEEDS_DIR.glob("*.txt"))
}

BODY_A = "The talks opened in Istanbul on Friday morning with both delegations present."
BODY_B = "Officials said a prisoner exchange was agreed before the meeting ended."


def _headline_list(raw: str) -> list[str]:
    """Lines after the article body: seeds 000 and 002 end in a list after a blank line."""
    _, _, tail = raw.strip().partition("\n\n")
    return [line.strip() for line in tail.splitlines() if line.strip()]


HEADLINES = sorted({line for key in ("000", "002") for line in _headline_list(SEEDS[key])})


def _text(result: CleanText) -> str:
    return "\n".join(result.paragraphs)


def test_clean_public_api_is_pinned():
    # Given the clean module / When listing its public names / Then only the two are exported
    assert clean_module.__all__ == ["CleanText", "clean_text"]


def test_seeds_are_present():
    # Given the seeds folder / When loading it / Then the five articles and both lists are there
    assert sorted(SEEDS) == ["000", "001", "002", "003", "004"]
    assert len(_headline_list(SEEDS["000"])) == 17
    assert len(_headline_list(SEEDS["002"])) == 16


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_clean_text_drops_other_stories_headlines(key):
    # Given a seed article
    # When it is cleaned
    result = clean_text(SEEDS[key])
    # Then no paragraph carries any headline from the lists that end seeds 000 and 002
    for paragraph in result.paragraphs:
        for headline in HEADLINES:
            assert headline not in paragraph


@pytest.mark.parametrize("key", ["000", "002"])
def test_clean_text_reports_headline_list_lines(key):
    # Given a seed ending in a list of other stories' headlines
    # When it is cleaned
    result = clean_text(SEEDS[key])
    # Then every list line is reported as a headline_list removal
    assert [line for line, reason in result.removed if reason == "headline_list"] == (
        _headline_list(SEEDS[key])
    )


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_clean_text_drops_seed_boilerplate(key):
    # Given a seed article pasted with its page furniture
    # When it is cleaned
    result = clean_text(SEEDS[key])
    # Then none of the known boilerplate survives in the body
    text = _text(result)
    for phrase in (
        "Also Read",
        "Leave a Reply",
        "email address will not be published",
        "Back To Top",
        "top of page",
        "bottom of page",
        "Wikimedia Commons",
        "Political Bias",
        "Why: The report",
    ):
        assert phrase not in text
    assert "Comments" not in result.paragraphs


@pytest.mark.parametrize(
    ("key", "facts"),
    [
        ("001", ["May 15", "Marco Rubio"]),
        ("002", ["Dolmabahce Palace", "0745 GMT", "0930 GMT", "Rustem Umerov", "Michael Anton"]),
        ("002", ["decorative", "Defense Minister Rustem Umerov"]),
        ("003", ["buyers of Russian oil", "Stay tuned\u2014because even peace talks"]),
        ("003", ["\u201cThis war started in Moscow,\u201d Zelenskiy said"]),
        ("004", ["Galuzin", "theater prop", "unconditional 30-day ceasefire"]),
        ("004", ["Still, the very occurrence of direct talks has been welcomed"]),
    ],
)
def test_clean_text_keeps_key_facts(key, facts):
    # Given a seed article
    # When it is cleaned
    text = _text(clean_text(SEEDS[key]))
    # Then the facts it adds to the story are still in the body
    for fact in facts:
        assert fact in text


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("000", None),
        ("001", "Ukraine-Russia Peace Talks Resume Without Top Leaders"),
        ("002", None),
        (
            "003",
            "Putin and Trump Bail on High-Stakes Ukraine Peace Talks, "
            "Casting Doubt on Breakthrough",
        ),
        ("004", "Russia-Ukraine Peace Talks Resume in Istanbul Without Putin"),
    ],
)
def test_clean_text_detects_seed_titles(key, title):
    # Given a seed article
    # When it is cleaned
    result = clean_text(SEEDS[key])
    # Then the title line is detected (or None when the text opens with body) and not a paragraph
    assert result.title == title
    if title is not None:
        assert all(title not in paragraph for paragraph in result.paragraphs)


def test_clean_text_drops_repeated_title_as_duplicate():
    # Given seed 003, whose title line appears twice
    # When it is cleaned
    result = clean_text(SEEDS["003"])
    # Then the title is detected once and the copy is reported as a duplicate
    assert (result.title, "duplicate_line") in result.removed


def test_clean_text_reports_seed_004_reasons():
    # Given seed 004 with navigation, a bias rating, a doubled image credit and section headings
    # When it is cleaned
    result = clean_text(SEEDS["004"])
    # Then each dropped line carries its reason
    assert [line for line, reason in result.removed if reason == "heading"] == [
        "Key Developments",
        "Background",
        "Delegations",
        "Russia:",
        "Ukraine:",
        "International Involvement",
        "Challenges Ahead",
        "Outlook",
    ]
    reasons = {reason for _, reason in result.removed}
    assert {"nav", "rating", "image_credit", "comment_form"} <= reasons
    assert [reason for _, reason in result.removed].count("rating") == 2
    assert [reason for _, reason in result.removed].count("image_credit") == 2


@pytest.mark.parametrize("key", ["001", "004"])
def test_clean_text_keeps_bullet_items_without_glyphs(key):
    # Given a seed with bulleted summary or section items
    # When it is cleaned
    result = clean_text(SEEDS[key])
    # Then the items are paragraphs of their own, without the bullet glyph
    assert all(not paragraph.startswith(("-", "\u2022", "*")) for paragraph in result.paragraphs)
    first = {"001": "Putin and Zelensky both decline", "004": "Russia and Ukraine are holding"}
    assert result.paragraphs[0].startswith(first[key])


@pytest.mark.parametrize("key", sorted(SEEDS))
def test_clean_text_is_idempotent_on_seeds(key):
    # Given a cleaned seed
    first = clean_text(SEEDS[key])
    # When its paragraphs are joined and cleaned again
    second = clean_text("\n\n".join(first.paragraphs))
    # Then the same paragraphs come back and nothing more is dropped or taken as a title
    assert second.paragraphs == first.paragraphs
    assert second.title is None
    assert second.removed == ()


def test_clean_text_drops_headline_list_inside_text():
    # Given body text with three title-case headlines between its paragraphs
    raw = (
        f"{BODY_A}\n\nKorea Zinc Plans Smelter Investment With Government\n"
        "Belarus Frees Opposition Leaders in Brokered Deal\n"
        "Hong Kong Democratic Party Disbands After Member Vote\n\n"
        f"{BODY_B}\n"
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then the headlines are gone and both paragraphs stay
    assert result.paragraphs == (BODY_A, BODY_B)
    assert [reason for _, reason in result.removed] == ["headline_list"] * 3


def test_clean_text_drops_headlines_after_teaser_label():
    # Given a lone "Most viewed" label followed by two sentence-case headlines
    raw = (
        f"{BODY_A}\n\nMost viewed\n"
        "Kremlin names Medinsky to lead the talks\nRubio lands in Turkey\n"
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then the label and both headlines go
    assert result.paragraphs == (BODY_A,)
    assert [reason for _, reason in result.removed] == [
        "also_read",
        "headline_list",
        "headline_list",
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Also Read: Tom Cruise Steals the Show at Cannes", "also_read"),
        ("Read more: Kremlin sets out its demands", "also_read"),
        ("Related: What a ceasefire would mean", "also_read"),
        ("See also", "also_read"),
        ("Leave a Reply", "comment_form"),
        ("Your email address will not be published. Required fields are marked *", "comment_form"),
        ("Post a comment", "comment_form"),
        ("12 comments", "comment_form"),
        ("Comments", "comment_form"),
        ("Back To Top", "nav"),
        ("Skip to content", "nav"),
        ("top of page", "nav"),
        ("Share this article", "share"),
        ("Share on Facebook", "share"),
        ("Follow us on Telegram", "share"),
        ("Sign up for our newsletter", "newsletter"),
        ("Subscribe to our daily briefing", "newsletter"),
        (
            "Presidential Communications Office, Public domain, via Wikimedia Commons",
            "image_credit",
        ),
        ("(Photo: Reuters)", "image_credit"),
        ("Photo by Chris McGrath / Getty Images", "image_credit"),
        ("AP Photo/Efrem Lukatsky", "image_credit"),
        ("Image: Kremlin press service", "image_credit"),
        ("Credit: Sputnik", "image_credit"),
        (
            "Putin in Moscow, May 14, 2025. Sputnik/Gavriil Grigorov/Pool via REUTERS",
            "image_credit",
        ),
        ("\u00a9 2025 Example News. All rights reserved.", "copyright"),
        ("* * *", "decoration"),
        ("\u2022", "decoration"),
    ],
)
def test_clean_text_drops_boilerplate_line(line, reason):
    # Given a boilerplate line between two body paragraphs, alone or inside their block
    for raw in (f"{BODY_A}\n\n{line}\n\n{BODY_B}", f"{BODY_A}\n{line}\n{BODY_B}"):
        # When it is cleaned
        result = clean_text(raw)
        # Then the line is dropped with its reason and the body is untouched
        assert result.paragraphs == (BODY_A, BODY_B)
        assert result.removed == ((line, reason),)


@pytest.mark.parametrize(
    "sentence",
    [
        "Share prices in Moscow rose 2% on Friday.",
        "A Reuters/Ipsos poll found most Americans back the talks.",
        "The 2022 draft entered the public domain after it leaked.",
        "Read more widely, the draft shows how far apart the sides are.",
        "Comments by the Russian envoy angered Kyiv.",
    ],
)
def test_clean_text_keeps_sentences_near_boilerplate(sentence):
    # Given body sentences that share words with boilerplate phrases
    raw = f"{BODY_A}\n\n{sentence}"
    # When it is cleaned
    result = clean_text(raw)
    # Then they are kept
    assert result.paragraphs == (BODY_A, sentence)


def test_clean_text_drops_rating_block():
    # Given a bias rating label and its explanation above the body
    raw = f"Bias Rating: Lean Left\n\nWhy: The outlet frames the talks sympathetically.\n\n{BODY_A}"
    # When it is cleaned
    result = clean_text(raw)
    # Then both rating lines go
    assert result.paragraphs == (BODY_A,)
    assert [reason for _, reason in result.removed] == ["rating", "rating"]


def test_clean_text_drops_headings_and_keeps_their_items():
    # Given sections with headings and bulleted items
    raw = (
        f"{BODY_A}\n\nDelegations\n\n"
        f"Russia:\n\u2022 Medinsky leads.\n- Fomin attends.\n\nOutlook\n{BODY_B}"
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then headings are dropped and items become paragraphs without glyphs
    assert result.paragraphs == (BODY_A, "Medinsky leads.", "Fomin attends.", BODY_B)
    assert [line for line, reason in result.removed if reason == "heading"] == [
        "Delegations",
        "Russia:",
        "Outlook",
    ]


def test_clean_text_drops_exact_duplicate_lines():
    # Given a paragraph repeated later, with different spacing
    raw = f"{BODY_A}\n{BODY_B}\n  {BODY_A.replace(' ', '  ')}\t\n"
    # When it is cleaned
    result = clean_text(raw)
    # Then the first occurrence stays and the copy is reported
    assert result.paragraphs == (BODY_A, BODY_B)
    assert result.removed == ((BODY_A, "duplicate_line"),)


def test_clean_text_joins_hard_wrapped_paragraphs():
    # Given paragraphs hard-wrapped at a fixed width, then a headline list
    raw = (
        "Russian and Ukrainian negotiators met in Istanbul on Friday for their\n"
        "first direct talks in three years, officials said, as pressure for a long-\n"
        "term deal mounted.\n\n"
        "Ukraine's delegation was led by Defence Minister Rustem Umerov, and the\n"
        "U.S. sent Michael Anton.\n\n"
        "Korea Zinc Plans Smelter Investment With Government\n"
        "Belarus Frees Opposition Leaders in Brokered Deal\n"
        "Hong Kong Democratic Party Disbands After Member Vote\n"
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then each paragraph is one line, hyphenated breaks are mended, and the list stays out
    assert result.paragraphs == (
        "Russian and Ukrainian negotiators met in Istanbul on Friday for their first direct talks "
        "in three years, officials said, as pressure for a long-term deal mounted.",
        "Ukraine's delegation was led by Defence Minister Rustem Umerov, and the U.S. sent "
        "Michael Anton.",
    )
    assert result.title is None


@pytest.mark.parametrize("width", [40, 72])
@pytest.mark.parametrize("key", sorted(SEEDS))
def test_clean_text_joins_rewrapped_seed_paragraphs(key, width):
    # Given a seed's clean paragraphs hard-wrapped at a fixed width, blank lines between them,
    # its title on top and a list of other stories' headlines below
    expected = clean_text(SEEDS[key])
    wrapped = [textwrap.fill(paragraph, width) for paragraph in expected.paragraphs]
    raw = "\n\n".join([*([expected.title] if expected.title else []), *wrapped, *HEADLINES[:4]])
    # When it is cleaned
    result = clean_text(raw)
    # Then the same title and paragraphs come back and the headlines are dropped
    assert result.title == expected.title
    assert result.paragraphs == expected.paragraphs


@pytest.mark.parametrize("key", ["003", "004"])
def test_clean_text_drops_hard_wrapped_boilerplate(key):
    # Given a seed whose every line (title, "Also Read", rating, credits too) is hard-wrapped
    raw = "\n".join(
        textwrap.fill(line.strip(), 50, subsequent_indent="    ") for line in SEEDS[key].split("\n")
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then it cleans like the original
    expected = clean_text(SEEDS[key])
    assert result.title == expected.title
    assert result.paragraphs == expected.paragraphs


def test_clean_text_keeps_list_introduced_by_colon():
    # Given the article's own title-case list of names, introduced by a colon
    raw = (
        "The Russian delegation includes:\nVladimir Medinsky, Kremlin Aide\n"
        "Alexander Fomin, Deputy Defence Minister\nMikhail Galuzin, Deputy Foreign Minister\n"
        f"{BODY_B}\n"
    )
    # When it is cleaned
    result = clean_text(raw)
    # Then every line is kept as it is
    assert result.paragraphs == tuple(raw.strip().split("\n"))


def test_clean_text_does_not_join_single_line_paragraphs():
    # Given one paragraph per line and a caption-like line without a full stop
    raw = f"{BODY_A}\nMedinsky speaks to reporters in Istanbul\n{BODY_B}\n"
    # When it is cleaned
    result = clean_text(raw)
    # Then lines stay separate paragraphs
    assert result.paragraphs == (BODY_A, "Medinsky speaks to reporters in Istanbul", BODY_B)


def test_clean_text_normalises_crlf_tabs_and_invisible_characters():
    # Given CRLF line ends, tabs, non-breaking and zero-width spaces, and runs of blank lines
    raw = "Peace\u00a0Talks\tResume\r\n\r\n\r\n\r\nThe talks\u200b resumed  in\u00a0Istanbul.\r\n"
    # When it is cleaned
    result = clean_text(raw)
    # Then whitespace is plain single spaces and the invisible characters are gone
    assert result.title == "Peace Talks Resume"
    assert result.paragraphs == ("The talks resumed in Istanbul.",)


@pytest.mark.parametrize("raw", ["", "   ", "\n\n\r\n\t\n"])
def test_clean_text_empty_input_returns_nothing(raw):
    # Given empty or blank input / When it is cleaned / Then there is no title, body or removal
    assert clean_text(raw) == CleanText(title=None, paragraphs=(), removed=())


def test_clean_text_all_boilerplate_returns_no_paragraphs():
    # Given a page that is only furniture
    raw = "top of page\n\nShare this article\n\nLeave a Reply\n\nComments\n\nBack To Top"
    # When it is cleaned
    result = clean_text(raw)
    # Then nothing is left and every line is accounted for
    assert result.title is None
    assert result.paragraphs == ()
    assert len(result.removed) == 5


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        (f"Peace Talks Resume Without Putin\n\n{BODY_A}", "Peace Talks Resume Without Putin"),
        (
            f"Peace Talks Resume Without Putin\n{BODY_A}\n{BODY_B}",
            "Peace Talks Resume Without Putin",
        ),
        (f"{BODY_A}\n\n{BODY_B}", None),
        ("Peace Talks Resume Without Putin", None),
        (f"Peace talks resumed without Putin.\n\n{BODY_A}", None),
    ],
)
def test_clean_text_detects_title_only_before_body(raw, title):
    # Given texts with and without a leading title line
    # When they are cleaned
    result = clean_text(raw)
    # Then only a short unpunctuated first line followed by body is a title
    assert result.title == title
    assert title not in result.paragraphs


@pytest.mark.parametrize(
    "raw",
    [
        f"Peace Talks Resume\n\n- first point without stop\n- second point here\n\n{BODY_A}",
        f"{BODY_A}\n\nBackground\n\n{BODY_B}\nKorea Zinc Plans Smelter Investment\n",
        "one line only without a full stop",
    ],
)
def test_clean_text_is_idempotent_on_synthetic_text(raw):
    # Given a cleaned synthetic text
    first = clean_text(raw)
    # When its paragraphs are joined and cleaned again
    second = clean_text("\n\n".join(first.paragraphs))
    # Then the paragraphs do not change
    assert second.paragraphs == first.paragraphs


def test_clean_text_removes_a_very_long_headline_list():
    # Given a large page of 5,000 headline-like lines (speed is measured in bench/, not here)
    large = "\n".join(f"Headline Number {i} Says Something Big" for i in range(5000))
    # When it is cleaned
    result = clean_text(large)
    # Then every line is recognised as a headline list and nothing survives as body text
    assert result.paragraphs == ()
    assert {reason for _, reason in result.removed} == {"headline_list"}


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Reporting by Jane Doe in Kyiv; Additional reporting by Tom Roe; Editing by Ann Poe",
         "sign_off"),
        ("(Reporting by Mert Ozkan; Writing by Daren Butler; Editing by Alex Richardson)",
         "sign_off"),
        ("Home | World | Business | Tech | Sport", "navigation"),
        ("News \u2022 Europe \u2022 Ukraine war", "navigation"),
        ("We use cookies to improve your experience. By continuing you accept our cookie policy.",
         "cookie_notice"),
        ("This site uses cookies. Accept all", "cookie_notice"),
    ],
)  # fmt: skip
def test_clean_text_drops_sign_offs_navigation_and_cookie_notices(line, reason):
    # Given an article with one boilerplate line between its paragraphs
    raw = f"{BODY_A}\n\n{line}\n\n{BODY_B}\n"
    # When it is cleaned
    result = clean_text(raw)
    # Then the line is gone, with its reason, and the article's sentences stay
    assert (line, reason) in result.removed
    assert BODY_A in " ".join(result.paragraphs) and BODY_B in " ".join(result.paragraphs)


@pytest.mark.parametrize(
    "line",
    [
        "Officials said the exchange was agreed | a source close to the talks said.",
        "The bakery said its cookie sales doubled in May after the festival.",
        "Reporting by the state broadcaster said three people were killed in the blast.",
        "Residents were asked for consent before cookies were handed out at the fair.",
    ],
)
def test_clean_text_keeps_sentences_that_only_look_like_that(line):
    raw = f"{BODY_A}\n\n{line}\n\n{BODY_B}\n"
    assert line in " ".join(clean_text(raw).paragraphs)
