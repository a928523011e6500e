"""The pure scoring helpers of bench/novelty.py compute what they claim (hand-made examples)."""

from __future__ import annotations

from bench.novelty import (
    date_prf,
    fact_support,
    keys_of_emitted,
    keys_of_text,
    name_context,
    novel_gold,
    precision,
    precision_at_k,
    recall,
    to_prose,
    window,
)


def test_keys_fold_spellings_and_drop_quotes_weekdays_and_small_numbers() -> None:
    keys = keys_of_text(
        'On Tuesday President Zelenskiy said "we will not go" and 3 men and 1,200 people fled.'
    )
    assert {"w:presid", "w:zelens", "n:1200"} <= keys
    assert not any(k.startswith("n:3") for k in keys)  # a small bare integer says too little
    assert "d:tuesday" not in keys and "w:go" not in keys
    # the same fact as an event shows it: a unit's text is re-read with the same rules
    assert keys_of_emitted("entity", "Zelensky") == {"w:zelens"}
    assert keys_of_emitted("number", "1,200 refugees") == {"n:1200"}
    assert keys_of_emitted("quote", "we will not go") == frozenset()


def test_novel_gold_keeps_only_keys_no_earlier_update_held() -> None:
    updates = {1: "Obama visits Haiti.", 3: "Preval meets Obama in Haiti. Later Preval spoke."}
    gold = novel_gold(updates, name_context(updates.values()))
    assert gold[1] == {"w:obama", "w:haiti"}
    assert gold[3] == {"w:preval"}
    # without the context a sentence-opening name is an opener, as in the pipeline
    assert novel_gold(updates)[1] == {"w:haiti"}


def test_window_and_recall_with_tolerance() -> None:
    emitted = {1: {"a"}, 2: {"b"}, 5: {"c"}}
    assert window(emitted, 2, 1) == {"a", "b"}
    assert window(emitted, 4, 1) == {"c"}
    assert window(emitted, 2, 0, cumulative=True) == {"a", "b"}
    gold = {2: frozenset({"a", "b", "x"}), 6: frozenset({"c", "a"})}
    assert recall(gold, emitted, [2, 6], 1) == (3, 5)  # a, b on day 2; c on day 6
    assert recall(gold, emitted, [2, 6], 1, cumulative=True) == (4, 5)  # a again on day 6
    assert recall(gold, emitted, [2], 0) == (1, 3)


def test_precision_and_fact_support_count_labelled_days_only() -> None:
    pool = {2: frozenset({"a", "b"})}
    emitted = {1: {"a", "z"}, 2: {"b"}, 9: {"q", "r"}}
    labelled = {1, 2, 3}
    assert precision(emitted, pool, labelled, 1) == (2, 3)  # day 9 has no update near it
    facts = [(1, frozenset({"z"})), (2, frozenset({"z", "b"})), (9, frozenset({"a"}))]
    assert fact_support(facts, pool, labelled, 1) == (1, 2)


def test_date_selection() -> None:
    p, r, f = date_prf({1, 2, 3, 4}, {2, 4, 6})
    assert (p, r) == (0.5, 2 / 3)
    assert abs(f - 4 / 7) < 1e-9
    assert date_prf(set(), {1}) == (0.0, 0.0, 0.0)
    assert precision_at_k({1: 5, 2: 1, 3: 9, 4: 5}, {1, 2}, 2) == 0.5  # top-2: day 3, day 1


def test_to_prose_undoes_ptb_tokens() -> None:
    prose = to_prose("The UN -LRB- United Nations -RRB- said `` 100 '' died . It was 7.0 .")
    assert prose == 'The UN (United Nations) said "100" died. It was 7.0.'
