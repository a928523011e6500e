"""Feed entries whose links differ only by #fragment: when the fragment is identity, and when not.

A fragment that names a part of a page (a comment, a section of a log) makes entries
different; one that carries parameters (`#xtor=RSS-3`) or names page furniture (`#more-12`)
does not, and the article stays ingested once across feeds.
"""

from __future__ import annotations

import pytest

from tests.conftest import SEEDS
from tests.feeds.conftest import Site, rss, seed_articles
from tests.feeds.test_polling import _env, _runner
from worker.pipeline.feeds import FeedEntry, identifying_fragment
from worker.polling import entry_keys


@pytest.fixture
def cli(tmp_path):
    return _runner(_env(tmp_path))


def _paragraphs() -> list[str]:
    return [p for p in SEEDS[2].read_text(encoding="utf-8").split("\n") if len(p) > 120]


def _feed(site: Site, path: str, items: list[dict[str, str]]) -> str:
    return site.route(path, rss(path, items), content_type="application/rss+xml")


def test_fragment_entries_with_their_own_text_give_one_result_each(site, cli):
    # Given a comments feed: three GUIDs whose links differ only by #comment-N, each with text
    texts = _paragraphs()[:3]
    items = [
        {"title": f"Comment {n}", "link": site.url(f"/post.html#comment-{n}"),
         "guid": f"comment-{n}", "summary": texts[n - 1]}
        for n in (1, 2, 3)
    ]  # fmt: skip
    site.route("/post.html", seed_articles()[0].page)
    cli("feeds", "add", _feed(site, "/comments.rss", items))
    # When it is polled twice
    code, lines, _ = cli("poll", "--once", "--json")
    _, again, _ = cli("poll", "--once", "--force", "--json")
    # Then the three entries give three results, each from its own text, and nothing twice
    assert code == 0, lines
    assert len(lines) == 3 and all(x["status"] != "rejected" for x in lines)
    inputs = sorted(x["input"] for x in lines)  # undated: oldest (last listed) first
    for n, given in enumerate(inputs, 1):
        assert f"#comment-{n} (feed summary: #comment-{n} is one of 3 parts" in given
    assert site.asked("/post.html") == []  # the whole page is not any one comment
    assert again == []


def test_fragment_entries_without_text_read_the_page_once_each(site, cli):
    # Given a log's feed: three GUIDs linking sections of one page, without any text
    site.route("/now.html", seed_articles()[1].page)
    items = [
        {"title": f"Now {d}", "link": site.url(f"/now.html#2025-05-1{d}"), "guid": f"now-{d}"}
        for d in (3, 4, 5)
    ]
    cli("feeds", "add", _feed(site, "/now.rss", items))
    # When it is polled
    code, lines, _ = cli("poll", "--once", "--json")
    # Then each entry has its result: the page, then the same page again (a duplicate)
    assert code == 0, lines
    assert [x["status"] for x in lines] == ["new_story", "duplicate", "duplicate"]
    assert len({x["story_id"] for x in lines}) == 1


def test_tracking_and_furniture_fragments_are_not_identity(site, cli):
    # Given two feeds listing the same two articles, one with #xtor=... and #more-N links
    arts = seed_articles()
    site.route("/a.html", arts[0].page)
    site.route("/b.html", arts[3].page)
    plain = [
        {"title": "A", "link": site.url("/a.html"), "guid": "x-a"},
        {"title": "B", "link": site.url("/b.html"), "guid": "x-b"},
    ]
    decorated = [
        {"title": "A", "link": site.url("/a.html#xtor=RSS-3"), "guid": "y-a"},
        {"title": "B", "link": site.url("/b.html#more-12"), "guid": "y-b"},
    ]
    cli("feeds", "add", _feed(site, "/x.rss", plain))
    cli("feeds", "add", _feed(site, "/y.rss", decorated))
    # When both are polled
    code, lines, _ = cli("poll", "--once", "--json", "--concurrency", "1")
    # Then each article is ingested once across the feeds, as before
    assert code == 0, lines
    assert len(lines) == 2 and all(x["status"] != "rejected" for x in lines)
    assert sorted(x["input"].rsplit("/", 1)[1] for x in lines) == ["a.html", "b.html"]
    assert len(site.asked("/a.html")) == 1 and len(site.asked("/b.html")) == 1


def test_identifying_fragment_rule_and_entry_keys():
    # Parts of a page are identity; parameters, furniture and nothing are not
    assert identifying_fragment("https://w.example/post#comment-12") == "comment-12"
    assert identifying_fragment("https://w.example/now.html#2025-05-15") == "2025-05-15"
    assert identifying_fragment("https://w.example/app#!/story/9") == "!/story/9"
    for url in ("https://w.example/a", "https://w.example/a#", "https://w.example/a#xtor=RSS-3",
                "https://w.example/a#utm_source=feed", "https://w.example/a#more-12",
                "https://w.example/a#comments", "https://w.example/a#main", None):  # fmt: skip
        assert identifying_fragment(url) is None, url
    entry = FeedEntry(
        guid="c1", link="https://w.example/post#comment-1",
        raw_link="https://www.w.example/post/?utm_source=x#comment-1", title="C",
        published_at=None, fragment="comment-1",
    )  # fmt: skip
    assert entry_keys("https://w.example/rss", entry) == [
        "guid:https://w.example/rss#c1",
        "url:https://w.example/post#comment-1",
    ]
