"""New-development quality on Timeline17 streams, scored against human "what is new today" updates.

Usage: .venv/bin/python bench/novelty.py [--datasets PATH] [--topics A,B] [--limit N]
                                         [--tolerance DAYS] [--examples N] [--set NAME=VALUE]
                                         [--json]

Each Timeline17 topic stream is replayed in `dct` order through the real pipeline (one in-memory
store per stream, `now` = the article's date). What the pipeline says is new (the `novel_facts` of
its `story.created` and `story.new_development` events) is scored against the human `Update` of
each day (background-summaries-updates, 3 annotators) and against the stream's journalist
timeline, next to baselines computed in the same run from the same articles:
- first-mention: the pipeline's own novelty rule (`assess`) with the whole stream as one story,
  no thresholds and no caps: every sentence with a unit the stream has not seen yet;
- first-mention-25: the same, at most 25 facts per article (the event cap);
- lede-3: the first 3 sentences with a unit of every article (what a story.created event lists);
- all-units: every sentence with a unit counts as new (the recall ceiling, the precision floor).

Scoring keys (one function for both sides): the project's fact units (`article_sentences`) minus
quotes and weekdays; an entity gives its folded words (`fold`: accents, spelling, 6 letters), a
number its value only (units of 10 or more, or with a decimal point, %, or currency), a date its
pipeline key. An update's sentence openers are judged against the capitals that all updates of
the event use mid-sentence (`name_context`). Gold for update day d = the keys of that annotator's
update that none of the same annotator's earlier updates held (the pipeline's novelty rule,
applied to the human sequence).
- recall: gold keys found among the keys emitted as new on days d-T..d+T (T = --tolerance);
  days with no article in that window are not scored. Cumulative recall: emitted on any day up
  to d+T (a fact announced once, earlier, still counts);
- precision: keys emitted on day e that are gold keys of any annotator on days e-T..e+T, over
  the days that have an update in that window ("labelled days");
- fact support: emitted facts (sentences) on labelled days with at least one such key;
- repeat share: emitted keys (per day) that the same system had emitted on an earlier day;
- date selection: days with a development (wirewatch-dev; any event for wirewatch, any fact
  for the baselines) vs. the stream's timeline dates (exact days, within
  the stream's date range): P/R/F1, and precision of the top-k days (k = timeline dates) ranked
  by facts emitted.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import datetime as dt
import gzip
import json
import logging
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: make `bench` and `worker` importable

from bench.ecbplus import detokenize  # noqa: E402
from bench.machine import machine_info  # noqa: E402
from worker.config import Settings  # noqa: E402
from worker.errors import NotAnArticle  # noqa: E402
from worker.ingest import Pipeline  # noqa: E402
from worker.models import Document, FactUnit, Sentence  # noqa: E402
from worker.pipeline.analysis import to_article  # noqa: E402
from worker.pipeline.facts import article_sentences, vocabulary  # noqa: E402
from worker.pipeline.novelty import assess  # noqa: E402
from worker.pipeline.sentences import split_sentences  # noqa: E402
from worker.pipeline.text import STOPWORDS, fold, normalize, words  # noqa: E402

DEFAULT_DATASETS = REPO.parent / "shared" / "datasets"
T17 = "timeline17"
BSU = "background-summaries-updates"
# Timeline17 stream prefix -> background-summaries event (datasets/README.md, section 4)
EVENTS = {
    "H1N1": "swine_flu",
    "IraqWar": "iraq_war",
    "haiti": "haitian_earthquake",
    "MJ": "mj_death",
    "bpoil": "bp_oil_spill",
    "LibyaWar": "libyan_war",
    "EgyptianProtest": "egyptian_crisis",
    "SyrianCrisis": "syrian_crisis",
}
ANNOTATORS = (1, 2, 3)
SENTENCES_PER_PARAGRAPH = 3
LEDE = 3  # worker.pipeline.events.LEDE_SENTENCES
SYSTEMS = ("wirewatch", "wirewatch-dev", "first-mention", "first-mention-25", "lede-3", "all-units")
SYSTEM_NOTES = {
    "wirewatch": "novel_facts of story.created (lede) and story.new_development events",
    "wirewatch-dev": "novel_facts of story.new_development events only",
    "first-mention": "assess() against everything earlier in the stream; no thresholds, no caps",
    "first-mention-25": "first-mention, at most 25 facts per article (the event cap)",
    "lede-3": "the first 3 sentences with a fact unit of every article (what story.created lists)",
    "all-units": "every sentence with a fact unit of every article",
}

Day = int  # proleptic ordinal of a date


# --------------------------------------------------------------------------- scoring keys


def _number_key(key: str) -> str | None:
    """`n:100000:people` -> `n:100000`; small bare integers ("3 men", "two") say too little."""
    _, value, unit = key.split(":", 2)
    if unit in ("%", "$", "€", "£"):
        return f"n:{value}{unit}"
    try:
        number = float(value)
    except ValueError:
        return None
    if number < 10 and "." not in value:
        return None
    return f"n:{value}"


def keys_of_unit(unit: FactUnit) -> frozenset[str]:
    """Scoring keys of one fact unit (see the module docstring); empty for quotes and weekdays."""
    if unit.kind == "quote":
        return frozenset()
    if unit.kind == "entity":
        return frozenset("w:" + fold(w) for w in words(unit.text) if w not in STOPWORDS)
    out = set()
    for key in unit.keys:
        if key.startswith("n:"):
            k = _number_key(key)
            if k:
                out.add(k)
        elif (key.startswith("d:") and key[2:3].isdigit()) or key.startswith("t:"):
            out.add(key)
    return frozenset(out)


@lru_cache(maxsize=262144)
def keys_of_emitted(kind: str, text: str) -> frozenset[str]:
    """Scoring keys of a unit as an event shows it (`{"kind", "text"}`): re-read its text."""
    if kind == "quote":
        return frozenset()
    if kind == "entity":
        return keys_of_unit(FactUnit("entity", text, ()))
    out: set[str] = set()
    for s in article_sentences([text]):
        for u in s.units:
            if u.kind == kind:
                out |= keys_of_unit(u)
    return frozenset(out)


def keys_of_sentences(sentences: Iterable[Sentence]) -> frozenset[str]:
    out: set[str] = set()
    for s in sentences:
        for u in s.units:
            out |= keys_of_unit(u)
    return frozenset(out)


_CAPITAL = re.compile(r"[A-Z][\w'.-]*")


def name_context(texts: Iterable[str]) -> str:
    """One sentence of every capitalised word the texts use away from a sentence start.

    The pipeline takes a capitalised sentence opener for a name only when the same text also
    uses it mid-sentence; an update is two or three sentences, so "Napolitano names ..." would
    lose its name. Read next to this context, an update's openers count as the pipeline would
    count them in a long article.
    """
    caps: set[str] = set()
    for text in texts:
        for sentence in split_sentences(normalize(text)):
            caps.update(m.group().rstrip(".") for m in _CAPITAL.finditer(sentence) if m.start())
    return "context " + ", ".join(sorted(caps)) if caps else ""


@lru_cache(maxsize=8192)
def sentences_of_text(text: str, context: str = "") -> tuple[Sentence, ...]:
    """The text's sentences and units, openers judged with the context (name_context)."""
    sentences = article_sentences([text, context] if context else [text])
    return sentences[: len(split_sentences(normalize(text)))]


def keys_of_text(text: str, context: str = "") -> frozenset[str]:
    return keys_of_sentences(sentences_of_text(text, context))


# --------------------------------------------------------------------------- pure scoring


def window(
    by_day: Mapping[Day, Iterable[str]], day: Day, tolerance: int, cumulative: bool = False
) -> set[str]:
    """Union of the key sets of days day-tolerance..day+tolerance (cumulative: ..day+tolerance)."""
    out: set[str] = set()
    if cumulative:
        for d, keys in by_day.items():
            if d <= day + tolerance:
                out.update(keys)
        return out
    for d in range(day - tolerance, day + tolerance + 1):
        out.update(by_day.get(d, ()))
    return out


def novel_gold(updates: Mapping[Day, str], context: str = "") -> dict[Day, frozenset[str]]:
    """Each update's keys that no earlier update of the same annotator held."""
    seen: set[str] = set()
    out = {}
    for day in sorted(updates):
        keys = keys_of_text(updates[day], context)
        out[day] = keys - seen
        seen |= keys
    return out


def recall(
    gold: Mapping[Day, frozenset[str]],
    emitted: Mapping[Day, set[str]],
    days: Iterable[Day],
    tolerance: int,
    cumulative: bool = False,
) -> tuple[int, int]:
    """(gold keys found among the keys emitted within +-tolerance days, gold keys), over days.

    cumulative: found among the keys emitted on any day up to day+tolerance.
    """
    hit = total = 0
    for d in days:
        g = gold.get(d, frozenset())
        hit += len(g & window(emitted, d, tolerance, cumulative))
        total += len(g)
    return hit, total


def precision(
    emitted: Mapping[Day, set[str]],
    pool: Mapping[Day, frozenset[str]],
    labelled: set[Day],
    tolerance: int,
) -> tuple[int, int]:
    """(emitted keys that are gold within +-tolerance days, emitted keys), on labelled days."""
    hit = total = 0
    for d, keys in emitted.items():
        if d in labelled:
            hit += len(keys & window(pool, d, tolerance))
            total += len(keys)
    return hit, total


def fact_support(
    facts: Iterable[tuple[Day, frozenset[str]]],
    pool: Mapping[Day, frozenset[str]],
    labelled: set[Day],
    tolerance: int,
) -> tuple[int, int]:
    """(facts on labelled days with a gold key within +-tolerance days, facts on labelled days)."""
    hit = total = 0
    for d, keys in facts:
        if d in labelled:
            total += 1
            hit += bool(keys & window(pool, d, tolerance))
    return hit, total


def date_prf(predicted: set[Day], gold: set[Day]) -> tuple[float, float, float]:
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def precision_at_k(weight: Mapping[Day, float], gold: set[Day], k: int) -> float:
    """Share of timeline dates among the k days of highest weight (ties: the earlier day)."""
    if k <= 0:
        return 0.0
    top = sorted(weight, key=lambda d: (-weight[d], d))[:k]
    return len(set(top) & gold) / k


def ratio(a: int | float, b: int | float) -> float | None:
    return round(a / b, 4) if b else None


def f1(p: float | None, r: float | None) -> float | None:
    if p is None or r is None or p + r == 0:
        return None
    return round(2 * p * r / (p + r), 4)


# --------------------------------------------------------------------------- data


def to_day(iso: str) -> Day:
    return dt.date.fromisoformat(iso[:10]).toordinal()


def iso(day: Day) -> str:
    return dt.date.fromordinal(day).isoformat()


_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_BRACKET_RE = re.compile("|".join(_BRACKETS))


def to_prose(ptb: str) -> str:
    """PTB tokens -> prose in paragraphs of a few sentences (input preparation only)."""
    text = detokenize(_BRACKET_RE.sub(lambda m: _BRACKETS[m.group()], ptb))
    sentences = split_sentences(text)
    return "\n\n".join(
        " ".join(sentences[i : i + SENTENCES_PER_PARAGRAPH])
        for i in range(0, len(sentences), SENTENCES_PER_PARAGRAPH)
    )


@dataclass
class Stream:
    name: str
    event: str
    articles: list[tuple[str, Day, str]]  # (uid, day, prose), in dct order
    empty: int
    timeline_days: set[Day]
    updates: dict[int, dict[Day, str]]  # annotator -> day -> update text
    context: str = ""  # name_context of every update of the event


def event_of(stream: str) -> str | None:
    return EVENTS.get(stream.split("_", 1)[0])


def load_stream(datasets: Path, name: str, limit: int | None) -> Stream:
    folder = datasets / T17 / name
    with gzip.open(folder / "articles.json.gz", "rt", encoding="utf-8") as f:
        raw = json.load(f)
    raw.sort(key=lambda a: a["dct"][:10])  # stable: same-day articles keep the file's order
    kept = [a for a in raw if a["text"].strip()]
    if limit is not None:
        kept = kept[:limit]
    articles = [(a["uid"], to_day(a["dct"]), to_prose(a["text"])) for a in kept]
    timeline: set[Day] = set()
    for path in sorted(folder.glob("*.timeline.json")):
        timeline |= {to_day(e["date"]) for e in json.loads(path.read_text(encoding="utf-8"))}
    event = event_of(name)
    assert event is not None
    updates = {}
    csv.field_size_limit(10**9)
    for a in ANNOTATORS:
        path = datasets / BSU / "events" / event / f"annotator{a}.tsv"
        with path.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        # some updates carry a literal "\\n" between sentences
        updates[a] = {to_day(r["Date"].strip("[] ")): r["Update"].replace("\\n", " ") for r in rows}
    context = name_context(t for u in updates.values() for t in u.values())
    return Stream(name, event, articles, len(raw) - len(kept), timeline, updates, context)


# --------------------------------------------------------------------------- systems


@dataclass
class Fact:
    day: Day
    keys: frozenset[str]
    text: str
    units: list[str]
    story: str | None = None


@dataclass
class ArticleRecord:
    day: Day
    status: str
    story: str | None
    keys: frozenset[str]  # scoring keys of the whole article
    vocabulary: frozenset[str]  # the pipeline's keys of the article (words and units)
    truncated: bool  # its event dropped facts to respect the caps


@dataclass
class Run:
    facts: dict[str, list[Fact]] = field(default_factory=lambda: {s: [] for s in SYSTEMS})
    records: list[ArticleRecord] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    story_sizes: Counter[str] = field(default_factory=Counter)
    development_novelty: list[float] = field(default_factory=list)
    units: Counter[str] = field(default_factory=Counter)  # emitted units by kind and by suspicion
    seconds: float = 0.0


SUSPICIONS = ("word_number", "split_clock_time", "opener_after_quote")
_NUMBER_WORD = re.compile(
    r"(?i)(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty"
    r"|forty|fifty|hundred|dozen)\b"
)


def suspicious(unit: dict[str, str], sentence: str) -> str | None:
    """Emitted units that are likely not facts (see the report's weaknesses)."""
    text = unit["text"]
    if unit["kind"] == "number" and _NUMBER_WORD.match(text):
        return "word_number"  # "one source", "no one wants", "two strong"
    if unit["kind"] == "number" and re.search(r"\d:" + re.escape(text), sentence):
        return "split_clock_time"  # "16:53 local time" -> "16" and "53 local"
    if (
        unit["kind"] == "entity"
        and " " not in text
        and re.search(r"(?:^|[.:,]\s)\"" + re.escape(text) + r"\b", sentence)
    ):
        return "opener_after_quote"  # '"Everything is financed, how can I pay?"' -> Everything
    return None


def replay(stream: Stream, settings: Settings) -> Run:
    """The pipeline and both baselines over one stream, article by article."""
    run = Run()
    pipeline = Pipeline(settings)
    store = pipeline.open_store()
    stream_known: set[str] = set()  # first-mention: the whole stream is one story
    for uid, day, prose in stream.articles:
        published = iso(day)
        now = dt.datetime.fromisoformat(published).replace(tzinfo=dt.UTC).timestamp()
        doc = Document(uid, prose, "text", published_at=published, source=stream.name)
        t0 = time.perf_counter()
        result = pipeline.ingest(doc, store, now=now)
        run.seconds += time.perf_counter() - t0
        run.statuses[result.status] += 1
        if result.story_id:
            run.story_sizes[result.story_id] += 1
        emitted: set[str] = set()
        event = result.event
        if event is not None:
            if event["type"] == "story.new_development":
                run.development_novelty.append(event["novelty"])
            for f in event["novel_facts"]:
                for u in f["new_units"]:
                    run.units[u["kind"]] += 1
                    why = suspicious(u, f["text"])
                    if why:
                        run.units[why] += 1
                keys = frozenset().union(
                    *(keys_of_emitted(u["kind"], u["text"]) for u in f["new_units"])
                )
                fact = Fact(
                    day, keys, f["text"], [u["text"] for u in f["new_units"]], result.story_id
                )
                emitted |= keys
                run.facts["wirewatch"].append(fact)
                if event["type"] == "story.new_development":
                    run.facts["wirewatch-dev"].append(fact)
        # baselines read the article the way the pipeline does (cleaner, sentences, units)
        try:
            article = to_article(doc, min_chars=settings.min_article_chars)
        except NotAnArticle:
            run.records.append(
                ArticleRecord(day, result.status, None, frozenset(), frozenset(), False)
            )
            continue
        sentences = article_sentences(article.paragraphs)
        for i, n in enumerate(assess(sentences, stream_known).sentences):
            keys = frozenset().union(*(keys_of_unit(u) for u in n.new_units))
            fact = Fact(day, keys, n.sentence.text, [u.text for u in n.new_units])
            run.facts["first-mention"].append(fact)
            if i < settings.max_event_facts:
                run.facts["first-mention-25"].append(fact)
        stream_known |= vocabulary(sentences)
        for i, s in enumerate(x for x in sentences if x.units):
            fact = Fact(day, keys_of_sentences([s]), s.text, [u.text for u in s.units])
            run.facts["all-units"].append(fact)
            if i < LEDE:
                run.facts["lede-3"].append(fact)
        run.records.append(
            ArticleRecord(
                day,
                result.status,
                result.story_id,
                keys_of_sentences(sentences),
                frozenset(vocabulary(sentences)),
                bool(event and event["truncated"]),
            )
        )
    store.close()
    return run


# --------------------------------------------------------------------------- evaluation


def by_day(facts: Iterable[Fact]) -> dict[Day, set[str]]:
    out: dict[Day, set[str]] = defaultdict(set)
    for f in facts:
        out[f.day] |= f.keys
    return out


def evaluate(stream: Stream, run: Run, tolerance: int) -> dict[str, Any]:
    article_days = {d for _, d, _ in stream.articles}
    first, last = min(article_days), max(article_days)
    gold = {a: novel_gold(u, stream.context) for a, u in stream.updates.items()}
    update_days = set().union(*(set(u) for u in stream.updates.values()))
    # a day is scored for recall when the stream has an article within the tolerance
    scored = sorted(
        d
        for d in update_days
        if any(d + k in article_days for k in range(-tolerance, tolerance + 1))
    )
    pool: dict[Day, frozenset[str]] = {
        d: frozenset().union(*(gold[a].get(d, frozenset()) for a in gold)) for d in update_days
    }
    labelled = {
        d
        for d in article_days
        if any(d + k in update_days for k in range(-tolerance, tolerance + 1))
    }
    timeline = {d for d in stream.timeline_days if first <= d <= last}
    systems: dict[str, Any] = {}
    for name in SYSTEMS:
        facts = run.facts[name]
        emitted = by_day(facts)
        r_hit = r_tot = c_hit = 0
        for a in gold:
            h, t = recall(gold[a], emitted, scored, tolerance)
            r_hit, r_tot = r_hit + h, r_tot + t
            c_hit += recall(gold[a], emitted, scored, tolerance, cumulative=True)[0]
        p_hit, p_tot = precision(emitted, pool, labelled, tolerance)
        s_hit, s_tot = fact_support(((f.day, f.keys) for f in facts), pool, labelled, tolerance)
        seen: set[str] = set()
        repeats = emitted_total = 0
        for d in sorted(emitted):
            repeats += len(emitted[d] & seen)
            emitted_total += len(emitted[d])
            seen |= emitted[d]
        facts_per_day: Counter[Day] = Counter(f.day for f in facts)
        predicted = set(facts_per_day)  # wirewatch-dev: the days with a development event
        dp, dr, df1 = date_prf(predicted, timeline)
        systems[name] = {
            "recall_hits": r_hit,
            "recall_total": r_tot,
            "recall_cum_hits": c_hit,
            "precision_hits": p_hit,
            "precision_total": p_tot,
            "support_hits": s_hit,
            "support_total": s_tot,
            "repeats": repeats,
            "emitted_keys": emitted_total,
            "facts": len(facts),
            "date_tp": len(predicted & timeline),
            "date_predicted": len(predicted),
            "date_p": round(dp, 4),
            "date_r": round(dr, 4),
            "date_f1": round(df1, 4),
            "date_p_at_k": round(precision_at_k(facts_per_day, timeline, len(timeline)), 4),
        }
    sizes = sorted(run.story_sizes.values(), reverse=True)
    return {
        "stream": stream.name,
        "event": stream.event,
        "articles": len(stream.articles),
        "empty_skipped": stream.empty,
        "first_day": iso(first),
        "last_day": iso(last),
        "article_days": len(article_days),
        "update_days_scored": len(scored),
        "labelled_days": len(labelled),
        "timeline_days": len(timeline),
        "statuses": dict(run.statuses),
        "stories": len(sizes),
        "largest_story": sizes[0] if sizes else 0,
        "single_article_stories": sum(1 for n in sizes if n == 1),
        "pipeline_seconds": round(run.seconds, 2),
        "systems": systems,
        "_gold": gold,
        "_pool": pool,
        "_scored": scored,
        "_labelled": labelled,
    }


MISS_REASONS = {
    "absent": "not among the units of any article of d+-T",
    "held_as_unit": "its story already held it as a name, number or date (an earlier article)",
    "held_as_word": "its story held it only as an ordinary word or another word's 6-letter "
    "prefix (names and words share the w: keys)",
    "capped": "in a development article whose event dropped facts to respect the caps",
    "beyond_lede": "only in new-story articles, beyond the 3-sentence lede of story.created",
    "below_threshold": "only in articles that joined a story without a development event",
    "rejected": "only in rejected articles",
}


def diagnose_misses(
    stream: Stream, run: Run, ev: dict[str, Any], tolerance: int
) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Why each gold key (per day, any annotator) that wirewatch did not emit was missed."""
    emitted = by_day(run.facts["wirewatch"])
    by_day_idx: dict[Day, list[int]] = defaultdict(list)
    by_story: dict[str, list[int]] = defaultdict(list)
    for i, rec in enumerate(run.records):
        by_day_idx[rec.day].append(i)
        if rec.story:
            by_story[rec.story].append(i)

    def held(i: int, key: str) -> str | None:
        """How article i's story already held the key, from its earlier articles."""
        earlier = [run.records[j] for j in by_story[run.records[i].story or ""] if j < i]
        if any(key in r.keys for r in earlier):
            return "held_as_unit"
        if any(key in r.vocabulary for r in earlier):
            return "held_as_word"
        return None

    reasons: Counter[str] = Counter()
    examples = []
    for d in ev["_scored"]:
        near = window(emitted, d, tolerance)
        idx = [i for k in range(-tolerance, tolerance + 1) for i in by_day_idx.get(d + k, [])]
        missed = {k for a in ev["_gold"] for k in ev["_gold"][a].get(d, ()) if k not in near}
        for key in sorted(missed):
            holders = [i for i in idx if key in run.records[i].keys]
            devs = [i for i in holders if run.records[i].status == "development"]
            statuses = {run.records[i].status for i in holders}
            if not holders:
                reason = "absent"
            elif devs:
                how = [held(i, key) for i in devs]
                reason = next((h for h in how if h), None) or (
                    "capped" if any(run.records[i].truncated for i in devs) else "held_as_unit"
                )
            elif "new_story" in statuses:
                reason = "beyond_lede"
            elif "duplicate" in statuses:
                reason = "below_threshold"
            else:
                reason = "rejected"
            reasons[reason] += 1
            if reason != "absent":
                examples.append(
                    {
                        "stream": stream.name,
                        "day": iso(d),
                        "key": key,
                        "reason": reason,
                        "update": _update_sentence(stream, d, key),
                    }
                )
    return reasons, examples


def _update_sentence(stream: Stream, day: Day, key: str) -> str:
    for a in ANNOTATORS:
        text = stream.updates[a].get(day, "")
        for s in sentences_of_text(text, stream.context):
            if key in keys_of_sentences([s]):
                return f"[annotator {a}] {s.text}"
    return ""


def false_new(run: Run, ev: dict[str, Any], tolerance: int) -> list[dict[str, Any]]:
    """wirewatch facts on labelled days none of whose keys the updates of d+-T name as new."""
    out = []
    for f in run.facts["wirewatch"]:
        if f.day in ev["_labelled"] and not f.keys & window(ev["_pool"], f.day, tolerance):
            out.append(
                {
                    "stream": ev["stream"],
                    "day": iso(f.day),
                    "story": f.story,
                    "text": f.text[:300],
                    "new_units": f.units,
                }
            )
    return out


def totals(per_stream: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Micro-averaged figures over the streams."""
    out = {}
    for name in SYSTEMS:
        s = Counter[str]()
        for ev in per_stream:
            for k, v in ev["systems"][name].items():
                if isinstance(v, int):
                    s[k] += v
        p = ratio(s["precision_hits"], s["precision_total"])
        r = ratio(s["recall_hits"], s["recall_total"])
        gold_days = sum(ev["timeline_days"] for ev in per_stream)
        dp = ratio(s["date_tp"], s["date_predicted"])
        dr = ratio(s["date_tp"], gold_days)
        out[name] = {
            "recall": r,
            "recall_cumulative": ratio(s["recall_cum_hits"], s["recall_total"]),
            "precision": p,
            "f1": f1(p, r),
            "fact_support": ratio(s["support_hits"], s["support_total"]),
            "repeat_share": ratio(s["repeats"], s["emitted_keys"]),
            "facts": s["facts"],
            "facts_per_article": ratio(s["facts"], sum(ev["articles"] for ev in per_stream)),
            "date_p": dp,
            "date_r": dr,
            "date_f1": f1(dp, dr),
            "date_p_at_k_macro": round(
                sum(ev["systems"][name]["date_p_at_k"] for ev in per_stream) / len(per_stream), 4
            )
            if per_stream
            else None,
            "recall_counts": [s["recall_hits"], s["recall_total"]],
            "precision_counts": [s["precision_hits"], s["precision_total"]],
            "support_counts": [s["support_hits"], s["support_total"]],
        }
    return out


# --------------------------------------------------------------------------- output


def _print(report: dict[str, Any], examples: int) -> None:
    m = report["machine"]
    print(f"machine: {m['platform']} | {m['cpu']} x{m['cpus']} | load {m['load_avg_1m']}")
    print(f"python {m['python']} | commit {m['commit']} | {m['date']}")
    print(
        f"streams: {len(report['streams'])} ({report['articles']} articles), "
        f"tolerance +-{report['tolerance']} day(s), limit {report['limit']}, "
        f"settings overrides {report['settings_overrides'] or 'none'}"
    )
    print(
        f"\n{'stream':<22}{'arts':>6}{'stories':>8}{'top':>5}{'days':>6}{'upd':>5}"
        f"{'tl':>4}{'R ww':>7}{'R fm':>7}{'P ww':>7}{'P fm':>7}{'s':>7}"
    )
    for ev in report["streams"]:
        ww, fm = ev["systems"]["wirewatch"], ev["systems"]["first-mention"]
        print(
            f"{ev['stream']:<22}{ev['articles']:>6}{ev['stories']:>8}{ev['largest_story']:>5}"
            f"{ev['article_days']:>6}{ev['update_days_scored']:>5}{ev['timeline_days']:>4}"
            f"{_fmt(ratio(ww['recall_hits'], ww['recall_total'])):>7}"
            f"{_fmt(ratio(fm['recall_hits'], fm['recall_total'])):>7}"
            f"{_fmt(ratio(ww['precision_hits'], ww['precision_total'])):>7}"
            f"{_fmt(ratio(fm['precision_hits'], fm['precision_total'])):>7}"
            f"{ev['pipeline_seconds']:>7.1f}"
        )
    print(
        f"\n{'system':<17}{'R':>7}{'Rcum':>7}{'P':>7}{'F1':>7}{'support':>9}{'repeat':>8}{'facts':>8}"
        f"{'f/art':>7}{'dateP':>7}{'dateR':>7}{'dateF1':>7}{'P@k':>7}"
    )
    for name, t in report["totals"].items():
        print(
            f"{name:<17}{_fmt(t['recall']):>7}{_fmt(t['recall_cumulative']):>7}"
            f"{_fmt(t['precision']):>7}{_fmt(t['f1']):>7}"
            f"{_fmt(t['fact_support']):>9}{_fmt(t['repeat_share']):>8}{t['facts']:>8}"
            f"{_fmt(t['facts_per_article']):>7}{_fmt(t['date_p']):>7}{_fmt(t['date_r']):>7}"
            f"{_fmt(t['date_f1']):>7}{_fmt(t['date_p_at_k_macro']):>7}"
        )
    for name, note in SYSTEM_NOTES.items():
        print(f"  {name}: {note}")
    print(f"\nwirewatch misses by reason (gold keys per day, {report['misses_total']}):")
    for reason, n in report["miss_reasons"].items():
        print(f"  {n:>6}  {reason}: {MISS_REASONS[reason]}")
    print(
        f"statuses: {report['statuses']}; pipeline {report['pipeline_articles_per_s']} "
        f"articles/s; wall {report['wall_seconds']} s"
    )
    print(f"novelty score of development events: {report['development_novelty_quantiles']}")
    u = report["emitted_units"]
    n_units = sum(u.get(k, 0) for k in ("entity", "number", "date", "quote"))
    print(
        f"wirewatch emitted units: {n_units} ("
        + ", ".join(f"{k} {u.get(k, 0)}" for k in ("entity", "number", "date", "quote"))
        + "); suspicious: "
        + ", ".join(f"{k} {u.get(k, 0)}" for k in SUSPICIONS)
    )
    if examples:
        print("\nfalse 'new' facts (wirewatch, labelled days, no key in the updates of d+-T):")
        for e in report["examples"]["false_new"]:
            print(f"  {e['stream']} {e['day']}: {e['text'][:160]!r} new={e['new_units'][:5]}")
        print("\nmissed update keys (present in the day's articles):")
        for e in report["examples"]["missed"]:
            print(f"  {e['stream']} {e['day']} {e['key']} ({e['reason']}): {e['update'][:160]!r}")


def quantiles(values: list[float]) -> dict[str, float] | None:
    """p10, median and p90 of the novelty score of development events."""
    if not values:
        return None
    v = sorted(values)
    pick = {"p10": 0.1, "median": 0.5, "p90": 0.9}
    return {k: round(v[min(len(v) - 1, int(q * len(v)))], 4) for k, q in pick.items()}


def settings_from(overrides: list[str]) -> Settings:
    """Settings(db_path=":memory:") with NAME=VALUE overrides, typed like their defaults."""
    base = Settings(db_path=":memory:")
    changes: dict[str, Any] = {}
    for item in overrides:
        name, _, value = item.partition("=")
        if not hasattr(base, name) or name in ("db_path", "redis_url"):
            raise SystemExit(f"--set {item!r}: no such setting")
        changes[name] = type(getattr(base, name))(value)
    return dataclasses.replace(base, **changes)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help=f"labelled data folder (default: {DEFAULT_DATASETS})",
    )
    parser.add_argument(
        "--topics",
        help="comma-separated streams or prefixes (default: all 16), e.g. haiti_bbc,bpoil",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="replay only the first N articles of each stream"
    )
    parser.add_argument("--tolerance", type=int, default=1, help="days either side (default 1)")
    parser.add_argument(
        "--examples",
        type=int,
        default=0,
        help="print N false 'new' facts and N missed update keys (seeded)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a pipeline setting (worker/config.py), e.g. "
        "story_min_similarity=0.1; repeatable",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    settings = settings_from(args.set)

    t17, bsu = args.datasets / T17, args.datasets / BSU / "events"
    if not t17.is_dir() or not bsu.is_dir():
        raise SystemExit(
            f"{t17} or {bsu} not found: pass --datasets PATH "
            "(the shared datasets folder, read-only; never copy it into the project)"
        )
    available = sorted(
        p.parent.name for p in t17.glob("*/articles.json.gz") if event_of(p.parent.name)
    )
    names = available
    if args.topics:
        wanted = [t.strip() for t in args.topics.split(",") if t.strip()]
        names = [n for n in available if any(n == w or n.startswith(w) for w in wanted)]
        if not names:
            raise SystemExit(f"no stream matches {args.topics!r}; streams: {', '.join(available)}")
    logging.disable(logging.ERROR)

    rng = random.Random(0)
    per_stream, reasons, misses, wrong = [], Counter[str](), [], []
    statuses: Counter[str] = Counter()
    units: Counter[str] = Counter()
    novelty: list[float] = []
    pipeline_s, wall0 = 0.0, time.perf_counter()
    for name in names:
        stream = load_stream(args.datasets, name, args.limit)
        if not stream.articles:
            continue
        run = replay(stream, settings)
        ev = evaluate(stream, run, args.tolerance)
        r, ex = diagnose_misses(stream, run, ev, args.tolerance)
        reasons.update(r)
        misses.extend(ex)
        wrong.extend(false_new(run, ev, args.tolerance))
        statuses.update(run.statuses)
        units.update(run.units)
        novelty.extend(run.development_novelty)
        pipeline_s += run.seconds
        per_stream.append({k: v for k, v in ev.items() if not k.startswith("_")})
        if not args.json:
            print(
                f"  {name}: {len(stream.articles)} articles, {ev['stories']} stories, "
                f"{run.seconds:.1f} s",
                file=sys.stderr,
            )
    n_articles = sum(ev["articles"] for ev in per_stream)
    report = {
        "machine": machine_info(),
        "command": "bench/novelty.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "tolerance": args.tolerance,
        "limit": args.limit,
        "articles": n_articles,
        "settings_overrides": args.set,
        "statuses": dict(statuses),
        "development_novelty_quantiles": quantiles(novelty),
        "emitted_units": dict(units.most_common()),
        "pipeline_articles_per_s": round(n_articles / pipeline_s, 1) if pipeline_s else None,
        "wall_seconds": round(time.perf_counter() - wall0, 1),
        "totals": totals(per_stream),
        "systems": SYSTEM_NOTES,
        "miss_reasons": dict(reasons.most_common()),
        "misses_total": sum(reasons.values()),
        "streams": per_stream,
        "examples": {
            "false_new": rng.sample(wrong, min(args.examples, len(wrong))),
            "missed": rng.sample(misses, min(args.examples, len(misses))),
        },
    }
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        _print(report, args.examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
