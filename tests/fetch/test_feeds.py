"""parse_feed: RSS and Atom, hostile and broken bodies, and feedparser's own test suite."""

from __future__ import annotations

import collections
import re
import time
from pathlib import Path

import pytest

from tests.fetch.conftest import RSS
from worker.errors import BadInput, NotAnArticle, PermanentError
from worker.fetch import FEED_ACCEPT, fetch
from worker.pipeline.feeds import FeedEntry, entry_document, parse_feed

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="html">Wire &lt;b&gt;World&lt;/b&gt;</title>
  <link href="https://wire.example/"/>
  <id>urn:wire</id><updated>2025-05-15T09:30:00Z</updated>
  <entry>
    <title>Delegations meet at Dolmabahce Palace</title>
    <link rel="alternate" href="/world/talks-2?fbclid=abc"/>
    <id>urn:wire:talks-2</id>
    <updated>2025-05-15T11:30:00+02:00</updated>
    <author><name>A. Reporter</name></author>
    <summary>Talks began at 0930 GMT.</summary>
    <content type="html">&lt;p&gt;Talks began at 0930 GMT, led by Rustem Umerov.&lt;/p&gt;</content>
    <source><title>Partner Agency</title><id>urn:partner</id></source>
  </entry>
</feed>"""

CONTENT_ENCODED = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Wire</title><link>https://wire.example/</link>
<item><title>Long story</title><link>https://wire.example/long</link>
<description>Short teaser.</description>
<content:encoded><![CDATA[<p>The whole story, <b>with</b> markup.</p>]]></content:encoded>
</item></channel></rss>"""


def _laughs(levels: int = 9, encoding: str = "utf-8") -> str:
    decls = "".join(
        f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "lol") * 10}">\n'
        for i in range(1, levels + 1)
    )
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<!DOCTYPE rss [\n{decls}]>\n'
        '<rss version="2.0"><channel>'
        f"<title>&lol{levels};</title><item><title>x</title><description>&lol{levels};"
        "</description></item></channel></rss>"
    )


def _quadratic() -> str:
    # one 100 KB entity referenced 20,000 times: feedparser's lenient parser made this 2 GB
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "x" * 100_000 + '">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>x</title><description>'
        + "&a;" * 20_000
        + "</description></item></channel></rss>"
    )


def test_parse_feed_rss():
    # When
    feed = parse_feed(RSS, url="http://wire.example/feed.xml", content_type="application/rss+xml")
    # Then
    assert (feed.title, feed.link, feed.ttl_s, feed.version) == (
        "Wire",
        "http://wire.example/",
        900,
        "rss20",
    )
    assert feed.bozo is None and not feed.ill_formed
    [entry] = feed.entries
    assert entry.raw_link == "http://wire.example/a?utm_source=rss"
    assert entry.link == "https://wire.example/a"  # canonical: tracking parameter gone
    assert entry.title == "Talks open"
    assert entry.published_at == "2025-05-15T07:45:00Z"
    assert entry.summary == "Delegations met."
    assert entry.source == "Wire"
    assert entry.guid and entry.guid.endswith("wire-a")


def test_parse_feed_atom():
    feed = parse_feed(ATOM, url="https://wire.example/atom.xml")
    assert feed.version == "atom10"
    assert feed.title == "Wire World"  # declared HTML: tags stripped for the plain title
    assert feed.ttl_s is None
    [entry] = feed.entries
    assert entry.guid == "urn:wire:talks-2"
    assert entry.raw_link == "https://wire.example/world/talks-2?fbclid=abc"  # made absolute
    assert entry.link == "https://wire.example/world/talks-2"
    assert entry.published_at == "2025-05-15T09:30:00Z"  # updated, in UTC
    assert entry.author == "A. Reporter"
    assert entry.summary == "Talks began at 0930 GMT."
    assert entry.content == "<p>Talks began at 0930 GMT, led by Rustem Umerov.</p>"
    assert entry.source == "Partner Agency"


def test_parse_feed_prefers_full_content_and_keeps_the_summary():
    [entry] = parse_feed(CONTENT_ENCODED, url="https://wire.example/rss").entries
    assert entry.content == "<p>The whole story, <b>with</b> markup.</p>"
    assert entry.summary == "Short teaser."
    assert entry.published_at is None


def test_entry_document_falls_back_on_content_then_summary():
    # Given an entry with HTML content, and one with only a plain-text summary
    [full] = parse_feed(ATOM, url="https://wire.example/atom.xml").entries
    [teaser] = parse_feed(RSS, url="http://wire.example/feed.xml").entries
    # When
    doc = entry_document(full)
    plain = entry_document(teaser, origin="feed:wire#a")
    # Then
    assert (doc.kind, doc.body) == ("html", full.content)
    assert doc.url == full.raw_link and doc.origin == full.raw_link
    assert (doc.title, doc.published_at, doc.source) == (
        full.title,
        "2025-05-15T09:30:00Z",
        "Partner Agency",
    )
    assert (plain.kind, plain.body, plain.origin) == ("text", "Delegations met.", "feed:wire#a")


def test_entry_document_without_content_or_summary_is_not_an_article():
    entry = FeedEntry(guid="g1", link=None, raw_link=None, title="Headline", published_at=None)
    with pytest.raises(NotAnArticle) as info:
        entry_document(entry)
    assert info.value.reason == "feed_entry_empty" and info.value.origin == "g1"


@pytest.mark.parametrize(
    ("document", "encoding"),
    [
        (_laughs(), "utf-8"),
        (_laughs(encoding="utf-16"), "utf-16"),
        (_quadratic(), "utf-8"),
        (_laughs(3), "utf-8"),
    ],
)
def test_parse_feed_entity_bomb_is_refused_fast(document, encoding):
    # Given a document declaring entities (billion laughs, or one big entity used often)
    body = document.encode(encoding)
    started = time.monotonic()
    # When / Then it is refused before feedparser expands anything
    with pytest.raises(BadInput) as info:
        parse_feed(body, url="https://bomb.example/feed")
    assert info.value.reason == "feed_entities"
    assert "(<!ENTITY)" in str(info.value) and "feed bomb" in str(info.value)
    assert time.monotonic() - started < 1


def test_parse_feed_never_opens_a_path_or_url_given_as_bytes(tmp_path, server):
    # Given bodies that feedparser.parse(bytes) would open as a file or fetch as a URL
    path = tmp_path / "secret.xml"
    path.write_bytes(RSS)
    for body in (str(path).encode(), server.url("/feed.xml").encode()):
        # When / Then they are parsed as the (non-feed) text they are
        with pytest.raises(BadInput) as info:
            parse_feed(body, url="https://wire.example/feed")
        assert info.value.reason == "not_a_feed"
    assert server.requests == []


def test_parse_feed_binary_body_from_the_server(server, make_settings):
    # Given a binary body served as a feed
    result = fetch(server.url("/binary"), settings=make_settings(), accept=FEED_ACCEPT)
    assert server.requests[0].headers["accept"] == FEED_ACCEPT
    # When / Then
    with pytest.raises(BadInput) as info:
        parse_feed(result.body, url=result.url, content_type=result.headers.get("content-type"))
    assert info.value.reason == "binary" and str(info.value) == "binary: binary data, not a feed"


def test_parse_feed_wrong_declared_charset_is_a_recorded_warning(server, make_settings):
    # Given a UTF-8 feed served as text/xml; charset=us-ascii
    result = fetch(server.url("/wrong-charset"), settings=make_settings())
    # When
    feed = parse_feed(result.body, url=result.url, content_type=result.headers["content-type"])
    # Then the entries are kept, read as UTF-8, and the override recorded
    assert feed.bozo == "encoding_override" and not feed.ill_formed
    assert feed.bozo_message == "document declared as us-ascii, but parsed as utf-8"
    assert feed.entries[0].title == "Talks open in Dolmabah\u00e7e"


def test_parse_feed_fetched_from_the_server(server, make_settings):
    result = fetch(server.url("/feed.xml"), settings=make_settings(), accept=FEED_ACCEPT)
    feed = parse_feed(result.body, url=result.url, content_type=result.headers["content-type"])
    assert [e.link for e in feed.entries] == ["https://wire.example/a"]


def test_parse_feed_ill_formed_keeps_entries_and_records_why():
    # Given an undefined entity and an unclosed element after two good items
    body = RSS.replace(b"Delegations met.", b"Delegations&nbsp;met.").replace(
        b"</channel></rss>", b"<item><title>Second</title><link>http://wire.example/b</link>"
    )
    # When
    feed = parse_feed(body, url="http://wire.example/feed.xml")
    # Then
    assert feed.ill_formed and feed.bozo == "ill_formed"
    assert feed.bozo_message == "undefined entity at line 5, column 24"
    assert [e.title for e in feed.entries] == ["Talks open", "Second"]


def test_parse_feed_ill_formed_without_entries_is_malformed():
    with pytest.raises(BadInput) as info:
        parse_feed(b'<rss version="2.0"><channel><title>x &bogus; y', url="https://w.example/")
    assert info.value.reason == "feed_malformed"
    assert "not well-formed XML and yields no entries: undefined entity at line" in str(info.value)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"<!doctype html><html><body><p>Not a feed</p></body></html>", "not_a_feed"),
        (b'{"items": []}', "not_a_feed"),
        (bytes(range(256)) * 4, "binary"),
    ],
)
def test_parse_feed_non_feeds_are_bad_input(body, reason):
    with pytest.raises(BadInput) as info:
        parse_feed(body, url="https://w.example/feed")
    assert info.value.reason == reason


def test_parse_feed_empty_channel_is_a_feed():
    feed = parse_feed(b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', url="u")
    assert (feed.title, feed.entries, feed.bozo) == ("Quiet", (), None)


@pytest.mark.dataset
def test_parse_feed_survives_feedparsers_test_suite(datasets: Path):
    # Given every file of feedparser's own test suite, with the Content-Type it describes
    root = datasets / "feeds" / "feedparser-testsuite"
    if not root.is_dir():
        pytest.skip(f"feedparser test suite absent: {root} not found")
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and p.name != "LICENSE"]
    outcomes: collections.Counter[str] = collections.Counter()
    by_file: dict[str, str] = {}
    started = time.monotonic()
    # When
    for path in files:
        data = path.read_bytes()
        header = re.search(rb"Header:\s*Content-type:\s*([^\r\n]+)", data, re.I)
        content_type = header.group(1).decode("latin-1").strip() if header else None
        try:
            feed = parse_feed(
                data, url=f"https://feeds.example/{path.name}", content_type=content_type
            )
            outcome = f"parsed:{feed.bozo or 'clean'}"
        except PermanentError as exc:  # anything else fails the test
            outcome = f"refused:{exc.reason}"
        outcomes[outcome] += 1
        by_file[str(path.relative_to(root))] = outcome
    elapsed = time.monotonic() - started
    # Then every file gave a ParsedFeed or one of our PermanentErrors
    parsed = sum(n for k, n in outcomes.items() if k.startswith("parsed:"))
    print(f"\nfeedparser test suite: {len(files)} files in {elapsed:.1f} s, {parsed} parsed")
    for outcome, n in outcomes.most_common():
        print(f"  {n:5d}  {outcome}")
    assert sum(outcomes.values()) == len(files) > 2000
    assert parsed / len(files) > 0.85
    assert set(outcomes) <= {
        "parsed:clean", "parsed:ill_formed", "parsed:encoding_override",
        "parsed:encoding_unknown", "parsed:non_xml_content_type", "refused:feed_malformed",
        "refused:not_a_feed", "refused:binary", "refused:feed_entities", "refused:empty",
    }  # fmt: skip
    assert by_file["wellformed/rss/entity_in_doctype.xml"] == "refused:feed_entities"
    assert by_file["compression/gzip.gz"] == "refused:binary"  # compressed, never inflated
    assert by_file["illformed/aaa_illformed.xml"] == "refused:feed_malformed"
    # every well-formed sample parses, except two declaring entities and six bare CDF channels
    wellformed_refused = {
        f: o for f, o in by_file.items() if f.startswith("wellformed/") and o.startswith("refused")
    }
    assert len(wellformed_refused) <= 8, wellformed_refused
    assert elapsed < 30
