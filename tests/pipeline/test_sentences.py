"""Sentence splitting: boundaries, abbreviations and quotes."""

from __future__ import annotations

from worker.pipeline.sentences import split_sentences


def test_split_sentences_at_terminal_punctuation_not_abbreviations():
    # Given a paragraph with titles, initials and U.S.
    text = "Gen. J. Smith met U.S. envoys on Friday. Talks resumed. Did they end?"
    # When it is split
    # Then only real sentence ends are boundaries
    assert split_sentences(text) == [
        "Gen. J. Smith met U.S. envoys on Friday.",
        "Talks resumed.",
        "Did they end?",
    ]


def test_split_sentences_never_cuts_inside_a_quote():
    # Given a quote of two sentences followed by its attribution
    text = 'He spoke. "The violence must stop. The bloodshed must end now," Mr Ban said. He left.'
    # When it is split
    # Then the quote and its attribution stay one sentence
    assert split_sentences(text) == [
        "He spoke.",
        '"The violence must stop. The bloodshed must end now," Mr Ban said.',
        "He left.",
    ]


def test_split_sentences_splits_a_quote_left_open_for_the_next_paragraph():
    # Given a paragraph whose quote continues in the next paragraph (no closing mark)
    text = '"We will fight. We will win.'
    # When it is split
    # Then its sentences split as usual
    assert split_sentences(text) == ['"We will fight.', "We will win."]
