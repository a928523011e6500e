"""Tests for worker.pipeline.extract: HTML -> Article with trafilatura."""

from __future__ import annotations

from pathlib import Path

import pytest
import trafilatura
from trafilatura.metadata import extract_metadata

from worker.errors import BadInput, NotAnArticle
from worker.pipeline import extract
from worker.pipeline.extract import extract_html, make_config, reset_caches

DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
ZYTE_DIR = DATASETS / "zyte-article-extraction"

PARAGRAPHS = [
    "Delegations from Russia and Ukraine met in Istanbul on Friday for their first direct talks "
    "in more than three years, officials from both sides confirmed after the session ended.",
    "The meeting at Dolmabahce Palace lasted less than two hours, according to a Turkish "
    "foreign ministry source who spoke on condition of anonymity because of the sensitivity.",
    "Ukraine's delegation was led by Defence Minister Rustem Umerov, while the Russian side was "
    "headed by presidential aide Vladimir Medinsky, who said Moscow was satisfied with the talks.",
    "Both sides agreed to exchange 1,000 prisoners of war each, Umerov told reporters, adding "
    "that Kyiv had also proposed a meeting between the two countries' presidents.",
]
RELATED = [
    "Korea Zinc shares slump after smelter fire halts production",
    "Jimmy Lai trial resumes in Hong Kong with new witness testimony",
    "Central bank holds rates steady as inflation cools further",
]
NEWS_PAGE = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
  <meta charset="utf-8">
  <title>Russia and Ukraine hold first direct talks in Istanbul | Example News</title>
  <meta property="og:title" content="Russia and Ukraine hold first direct talks in Istanbul">
  <meta property="og:site_name" content="Example News">
  <meta name="author" content="Jane Doe">
  <meta property="article:published_time" content="2025-05-16T14:30:00Z">
  <link rel="canonical" href="https://news.example.com/world/istanbul-talks">
</head>
<body>
  <header><nav><ul>
    <li><a href="/">Home</a></li><li><a href="/world">World news and analysis</a></li>
    <li><a href="/business">Business and markets today</a></li>
  </ul></nav></header>
  <main>
    <article>
      <h1>Russia and Ukraine hold first direct talks in Istanbul</h1>
      <p class="byline">By Jane Doe</p>
      <time datetime="2025-05-16T14:30:00Z">16 May 2025</time>
      <p>{PARAGRAPHS[0]}</p>
      <p>{PARAGRAPHS[1]}</p>
      <p>Read more: <a href="/world/korea-zinc">{RELATED[0]}</a></p>
      <p>{PARAGRAPHS[2]}</p>
      <p>{PARAGRAPHS[3]}</p>
    </article>
    <aside class="related-stories">
      <h2>Related stories</h2>
      <ul>{"".join(f'<li><a href="/s/{i}">{t}</a></li>' for i, t in enumerate(RELATED))}</ul>
    </aside>
  </main>
  <footer><p>Copyright 2025 Example News. All rights reserved. Terms of use and privacy policy.</p>
  </footer>
</body>
</html>"""

NO_ARTICLE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>Sign in</title></head>
<body>
  <nav><a href="/">Home</a> <a href="/login">Sign in</a> <a href="/help">Help</a></nav>
  <form><input name="user"><input name="password" type="password"><button>Go</button></form>
  <footer>Copyright 2025</footer>
</body></html>"""


@pytest.fixture(scope="module")
def config():
    return make_config()


def test_extract_html_news_page_gives_text_and_metadata(config):
    # Given a news page with nav, related links and a footer
    # When it is extracted
    article = extract_html(NEWS_PAGE, url="https://news.example.com/x?utm=1", config=config)

    # Then the text is the article's paragraphs, separated by blank lines
    assert article.paragraphs == PARAGRAPHS
    assert article.text == "\n\n".join(PARAGRAPHS)
    # And the metadata comes from the page
    assert article.title == "Russia and Ukraine hold first direct talks in Istanbul"
    assert article.author == "Jane Doe"
    assert article.published_at == "2025-05-16"
    assert article.site_name == "Example News"
    assert article.language == "en"
    assert article.url == "https://news.example.com/world/istanbul-talks"


def test_extract_html_boilerplate_stays_out(config):
    # Given a page whose body carries an inline "Read more" teaser (trafilatura #584)
    article = extract_html(NEWS_PAGE, config=config)

    # Then neither the teaser, the related list, the nav nor the footer reach the text
    for noise in [*RELATED, "Read more", "Related stories", "World news", "Copyright", "By Jane"]:
        assert noise not in article.text
    # And the headline is the title, not the first paragraph
    assert not article.text.startswith(article.title or "?")


def test_extract_html_page_without_article_raises_not_an_article(config):
    with pytest.raises(NotAnArticle) as excinfo:
        extract_html(NO_ARTICLE_PAGE, config=config)

    assert excinfo.value.reason == "no_article_text"
    assert "characters" in excinfo.value.message


def test_extract_html_text_below_min_chars_raises_not_an_article(config):
    # Given the news page (about 700 characters of text) and a higher bar
    with pytest.raises(NotAnArticle) as excinfo:
        extract_html(NEWS_PAGE, config=config, min_chars=5_000)

    # Then the message says how much was found
    assert excinfo.value.reason == "no_article_text"
    assert "found 7" in excinfo.value.message
    assert "5000" in excinfo.value.message


@pytest.mark.parametrize("body", ["", "   \n", "Plain text about the Istanbul talks, no markup."])
def test_extract_html_input_without_markup_raises_bad_input(config, body):
    with pytest.raises(BadInput) as excinfo:
        extract_html(body, config=config)

    assert excinfo.value.reason == "not_html"


def test_extract_html_fragment_without_html_tag_is_extracted(config):
    # Given the article's paragraphs pushed as a bare fragment (feed content:encoded)
    fragment = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)

    article = extract_html(fragment, config=config)

    assert article.paragraphs == PARAGRAPHS
    assert article.language is None


def _zyte_pages(n):
    if not (ZYTE_DIR / "ground-truth.json").is_file():
        pytest.skip(f"../shared/datasets absent: {ZYTE_DIR} not found")
    from bench.zyte_metric import load_ground_truth, load_html

    gold = dict(list(load_ground_truth(ZYTE_DIR).items())[:n])
    return gold, {page_id: load_html(ZYTE_DIR, page_id) for page_id in gold}


def _assert_same_metadata(html, url, config):
    # extract_html reads metadata with trafilatura's steps minus categories, tags and licence
    mine = extract._page_metadata(extract._parse(html), url, config)
    theirs = extract_metadata(trafilatura.load_html(html), url)
    for field in ("title", "author", "url", "date", "sitename"):
        assert getattr(mine, field) == getattr(theirs, field), field


def test_extract_html_metadata_is_trafilaturas(config):
    _assert_same_metadata(NEWS_PAGE, "https://news.example.com/x?utm=1", config)


@pytest.mark.dataset
def test_extract_html_metadata_is_trafilaturas_on_zyte_pages(config):
    # Given 40 real pages (og: and JSON-LD tags, handles as site names, no canonical link)
    _, htmls = _zyte_pages(40)

    # Then every kept field equals trafilatura's extract_metadata (pins it across upgrades)
    for html in htmls.values():
        _assert_same_metadata(html, None, config)


def test_make_config_disables_timeout_and_keeps_defaults():
    config = make_config()
    defaults = trafilatura.settings.use_config()

    assert config.getint("DEFAULT", "EXTRACTION_TIMEOUT") == 0
    for key in ("MIN_EXTRACTED_SIZE", "MIN_OUTPUT_SIZE", "MAX_REPETITIONS", "MIN_DUPLCHECK_SIZE"):
        assert config.get("DEFAULT", key) == defaults.get("DEFAULT", key)


def test_extract_html_does_not_deduplicate_across_calls(config):
    # Given the same page seen more often than trafilatura's MAX_REPETITIONS (2)
    texts = {extract_html(NEWS_PAGE, config=config).text for _ in range(4)}

    # Then every call returns the full text: no per-process dedup cache is used
    assert texts == {"\n\n".join(PARAGRAPHS)}


def test_reset_caches_keeps_extraction_working(config):
    reset_caches()

    assert extract_html(NEWS_PAGE, config=config).paragraphs == PARAGRAPHS


def test_extract_public_api():
    assert extract.__all__ == ["extract_html", "make_config", "reset_caches"]


@pytest.mark.dataset
def test_extract_html_f1_not_below_trafilatura_on_zyte_pages(config):
    from bench.zyte_metric import score

    # Given the first 20 pages of the Zyte article-extraction benchmark
    gold, htmls = _zyte_pages(20)

    def ours(html):
        try:
            return extract_html(html, config=config).text
        except NotAnArticle:
            return None

    # When both extractors run on them
    theirs = score((gold[p], trafilatura.extract(htmls[p], include_comments=False)) for p in gold)
    mine = score((gold[p], ours(htmls[p])) for p in gold)

    # Then our F1 is at least trafilatura's
    assert mine.f1 >= theirs.f1, f"ours {mine} vs trafilatura {theirs}"
