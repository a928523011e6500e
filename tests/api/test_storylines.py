"""Storylines over the API on a real server, both stores: the list, one storyline, the
storyline corrections, the JSON Lines export, and their auth."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import Served
from tests.api.test_api import _is_error
from tests.test_cli_storylines import EXPORT_KEYS, dated_articles


@pytest.fixture(params=["sqlite", "redis"])
def api(request, serve) -> Served:
    """A server with a token and closed reads, on either store (embedded ingest)."""
    if request.param == "redis":
        namespace = request.getfixturevalue("make_redis_store").namespace  # dropped at teardown
        return serve(redis_url=request.getfixturevalue("redis_url"), redis_namespace=namespace)
    return serve()


def _post_dated(api: Served) -> dict[str, dict]:
    """The seeds (dated), an unrelated story and a follow-up two weeks on; results by name."""
    out = []
    for article in dated_articles():
        r = api.client.post("/v1/articles", json=article, headers=api.auth())
        assert r.status_code in (200, 201), r.text
        out.append(r.json())
    names = ["000", "001", "002", "003", "004", "flood", "follow_up"]
    return dict(zip(names, out, strict=True))


def _lines(api: Served, **params) -> list[dict]:
    r = api.client.get("/v1/storylines", params=params, headers=api.auth())
    assert r.status_code == 200, r.text
    return r.json()["storylines"]


def test_storylines_list_and_detail(api):
    # Given two unrelated topics, the first with a follow-up story two weeks on
    posted = _post_dated(api)
    seeds, flood, follow = posted["000"], posted["flood"], posted["follow_up"]
    assert follow["story_id"] != seeds["story_id"]
    # When the storylines are listed
    lines = _lines(api)
    # Then there are two, the latest first, with their story and article counts
    assert [line["id"] for line in lines] == [seeds["storyline_id"], flood["storyline_id"]]
    assert [(x["story_count"], x["article_count"]) for x in lines] == [(2, 6), (1, 1)]
    # and the filters work as /v1/stories' do
    assert [x["id"] for x in _lines(api, q="porto alegre")] == [flood["storyline_id"]]
    assert [x["id"] for x in _lines(api, limit=1)] == [seeds["storyline_id"]]
    since = lines[1]["last_seen_at"] + 1
    assert [x["id"] for x in _lines(api, since=since)] == [seeds["storyline_id"]]
    assert _lines(api, q="no such title") == []
    _is_error(api.client.get("/v1/storylines", params={"limit": 0}, headers=api.auth()), 422)
    # And one storyline lists its stories, oldest first, with their counts
    r = api.client.get(f"/v1/storylines/{seeds['storyline_id']}", headers=api.auth())
    assert r.status_code == 200
    detail = r.json()["storyline"]
    assert [s["id"] for s in detail["stories"]] == [seeds["story_id"], follow["story_id"]]
    assert [s["article_count"] for s in detail["stories"]] == [5, 1]
    assert detail["stories"][0]["development_count"] == 3
    # and /v1/stories rows name their storyline
    stories = api.client.get("/v1/stories", headers=api.auth()).json()["stories"]
    assert {s["id"]: s["storyline_id"] for s in stories} == {
        p["story_id"]: p["storyline_id"] for p in posted.values()
    }
    _is_error(api.client.get("/v1/storylines/l_0000000000000000", headers=api.auth()), 404,
              "not_found")  # fmt: skip


def test_storyline_corrections_over_the_api(api):
    posted = _post_dated(api)
    h = api.auth()
    talks, floods = posted["000"]["storyline_id"], posted["flood"]["storyline_id"]
    follow = posted["follow_up"]["story_id"]
    # When the flood's storyline is merged into the talks'
    body = {"source": floods, "target": talks}
    r = api.client.post("/v1/storylines/merge", json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json() == {"source": floods, "target": talks, "stories_moved": 1}
    # Then one storyline holds all three stories
    lines = _lines(api)
    assert [x["id"] for x in lines] == [talks] and lines[0]["story_count"] == 3
    _is_error(api.client.get(f"/v1/storylines/{floods}", headers=h), 404)
    # When the follow-up's story gets a storyline of its own
    r = api.client.post(f"/v1/stories/{follow}/split", headers=h)
    assert r.status_code == 200, r.text
    own = r.json()["storyline"]
    assert r.json() == {"story": follow, "from_storyline": talks, "storyline": own}
    # Then it is alone there, and the log shows both corrections
    detail = api.client.get(f"/v1/storylines/{own}", headers=h).json()["storyline"]
    assert [s["id"] for s in detail["stories"]] == [follow]
    assert {x["id"]: x["story_count"] for x in _lines(api)} == {talks: 2, own: 1}
    actions = api.client.get("/v1/operator/actions", headers=h).json()["actions"]
    assert [a["action"] for a in actions] == ["split_storyline", "merge_storylines"]
    # And nonsense is refused as the story corrections refuse it
    _is_error(api.client.post(f"/v1/stories/{follow}/split", headers=h), 409, "conflict")
    _is_error(api.client.post("/v1/stories/s_0000000000000000/split", headers=h), 404)
    _is_error(api.client.post("/v1/storylines/merge", json={"source": talks, "target": talks},
                              headers=h), 422, "invalid")  # fmt: skip
    _is_error(api.client.post("/v1/storylines/merge", json={"source": "l_x", "target": talks},
                              headers=h), 404, "not_found")  # fmt: skip
    _is_error(api.client.post("/v1/storylines/merge", json={"source": talks}, headers=h), 422)
    assert {x["id"] for x in _lines(api)} == {talks, own}


def test_export_streams_json_lines(api):
    posted = _post_dated(api)
    # When the articles are exported
    with api.client.stream("GET", "/v1/export", headers=api.auth()) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in r.iter_lines() if line]
    # Then one line per article, in ingest order, each with its story's storyline
    assert [x["id"] for x in rows] == [p["article_id"] for p in posted.values()]
    assert all(set(x) == EXPORT_KEYS for x in rows)
    want = {p["article_id"]: (p["story_id"], p["storyline_id"]) for p in posted.values()}
    assert {x["id"]: (x["story_id"], x["storyline_id"]) for x in rows} == want
    assert {x["time_source"] for x in rows} == {"published"}


def test_export_of_an_empty_store_is_empty(api):
    r = api.client.get("/v1/export", headers=api.auth())
    assert r.status_code == 200 and r.content == b""


def test_storyline_endpoints_follow_the_read_and_write_rules(serve):
    # Given a server with closed reads
    closed = serve()
    for path in ("/v1/storylines", "/v1/storylines/l_x", "/v1/export"):
        _is_error(closed.client.get(path), 401)
        _is_error(closed.client.get(path, headers=closed.auth("wrong")), 403)
    # And one with open reads: reads answer without a token, corrections still need it
    open_ = serve(api_open_reads=True, db_path=str(closed.app.state.ctx.settings.db_path) + "2")
    assert open_.client.get("/v1/storylines").json() == {"storylines": []}
    assert open_.client.get("/v1/export").status_code == 200
    _is_error(open_.client.post("/v1/storylines/merge", json={"source": "l_a", "target": "l_b"}),
              401)  # fmt: skip
    _is_error(open_.client.post("/v1/stories/s_x/split"), 401)
    _is_error(open_.client.post("/v1/stories/s_x/split", headers=open_.auth()), 404)
    # And without a token configured, writes are disabled
    tokenless = serve(api_token="", api_open_reads=True,
                      db_path=str(closed.app.state.ctx.settings.db_path) + "3")  # fmt: skip
    _is_error(tokenless.client.post("/v1/stories/s_x/split", headers=tokenless.auth()), 503,
              "writes_disabled")  # fmt: skip
