"""Every endpoint of the HTTP API against a real uvicorn server: success, auth, bad bodies."""

from __future__ import annotations

import json

from tests.api.conftest import TOKEN, Served
from tests.conftest import SEEDS


def _post_seeds(api: Served) -> list[dict]:
    out = []
    for path in SEEDS:
        r = api.client.post(
            "/v1/articles",
            content=path.read_bytes(),
            headers={**api.auth(), "Content-Type": "text/plain"},
        )
        assert r.status_code in (200, 201), r.text
        out.append(r.json())
    return out


def _is_error(r, status: int, code: str | None = None) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body["error"]) == {"code", "message"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code


def test_articles_seeds_make_one_story_with_developments(api):
    # Given the five seeds pushed as plain text
    results = _post_seeds(api)
    # Then they form one story: 002 and 004 are developments, 003 a duplicate
    assert len({r["story_id"] for r in results}) == 1
    by_input = {p.name: r for p, r in zip(SEEDS, results, strict=True)}
    statuses = {name[:3]: r["status"] for name, r in by_input.items()}
    assert statuses["002"] == "development" and statuses["004"] == "development"
    assert statuses["003"] == "duplicate"
    # and the read endpoints show it
    h = api.auth()
    stories = api.client.get("/v1/stories", headers=h).json()["stories"]
    assert len(stories) == 1 and stories[0]["article_count"] == 5
    last = stories[0]["last_development_at"]
    assert api.client.get("/v1/stories", params={"since": last}, headers=h).json()["stories"]
    later = api.client.get("/v1/stories", params={"since": last + 1}, headers=h).json()
    assert later == {"stories": []}
    found = lambda **p: api.client.get("/v1/stories", params=p, headers=h).json()["stories"]  # noqa: E731
    assert len(found(q="PEACE TALKS", developed="true")) == 1
    assert found(q="no such title") == []
    story = api.client.get(f"/v1/stories/{stories[0]['id']}", headers=h).json()["story"]
    assert [a["id"] for a in story["articles"]] == [r["article_id"] for r in results]
    assert any(f["new_units"] for a in story["articles"] for f in a["added_facts"])
    events = api.client.get("/v1/events", params={"story_id": story["id"]}, headers=h).json()
    types = [e["type"] for e in events["events"]]
    assert types[0] == "story.created" and types.count("story.new_development") == 3
    assert api.client.get("/v1/events", params={"limit": 1}, headers=h).json()["events"]


def test_articles_json_and_html_bodies(api):
    text = SEEDS[0].read_text()
    r = api.client.post(
        "/v1/articles",
        headers=api.auth(),
        json={"text": text, "url": "https://wire.example/a", "source": "Wire"},
    )
    assert r.status_code == 201 and r.json()["status"] == "new_story"
    html = (
        "<html><body><article>"
        + "".join(f"<p>{p}</p>" for p in SEEDS[1].read_text().split("\n\n"))
        + "</article></body></html>"
    )
    r = api.client.post(
        "/v1/articles",
        content=html.encode(),
        headers={**api.auth(), "Content-Type": "text/html; charset=utf-8"},
    )
    assert r.status_code in (200, 201), r.text
    assert r.json()["story_id"]


def test_articles_malformed_bodies_are_json_errors_and_recorded(api):
    h = {**api.auth(), "Content-Type": "application/json"}
    _is_error(api.client.post("/v1/articles", content=b"{not json", headers=h), 422, "bad_json")
    _is_error(api.client.post("/v1/articles", content=b"[1, 2]", headers=h), 422, "bad_json")
    _is_error(api.client.post("/v1/articles", json={"title": "no text"}, headers=api.auth()), 422)
    _is_error(
        api.client.post(
            "/v1/articles",
            content=b"\x00\x01\x02" * 50,
            headers={**api.auth(), "Content-Type": "text/plain"},
        ),
        422,
    )
    _is_error(
        api.client.post(
            "/v1/articles", content=b"", headers={**api.auth(), "Content-Type": "text/plain"}
        ),
        422,
    )
    _is_error(
        api.client.post(
            "/v1/articles", content=b"x", headers={**api.auth(), "Content-Type": "image/png"}
        ),
        415,
    )
    rejections = api.client.get("/v1/rejections", headers=api.auth()).json()["rejections"]
    assert {r["reason"] for r in rejections} >= {"bad_json", "binary", "empty"}


def test_articles_oversized_body_413(serve):
    api = serve(api_max_body_bytes=1000)
    body = b"word " * 1000
    r = api.client.post(
        "/v1/articles", content=body, headers={**api.auth(), "Content-Type": "text/plain"}
    )
    _is_error(r, 413, "too_large")

    def chunks():  # no Content-Length: refused while streaming
        yield from (body[i : i + 500] for i in range(0, len(body), 500))

    r = api.client.post(
        "/v1/articles", content=chunks(), headers={**api.auth(), "Content-Type": "text/plain"}
    )
    _is_error(r, 413, "too_large")


def test_auth_writes_need_the_token(api):
    r = api.client.post("/v1/articles", content=b"x", headers={"Content-Type": "text/plain"})
    _is_error(r, 401, "unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"
    r = api.client.post("/v1/articles", content=b"x", headers=api.auth("wrong"))
    _is_error(r, 403, "forbidden")
    _is_error(
        api.client.post(
            "/v1/feeds", json={"url": "https://x.example/f"}, headers={"Authorization": "Basic abc"}
        ),
        401,
    )
    _is_error(api.client.delete("/v1/webhooks/ep_x", headers=api.auth("nope")), 403)


def test_auth_reads_closed_unless_opened(serve):
    closed = serve()
    _is_error(closed.client.get("/v1/stories"), 401)
    _is_error(closed.client.get("/v1/events", headers=closed.auth("bad")), 403)
    assert closed.client.get("/v1/stories", headers=closed.auth()).status_code == 200
    opened = serve(api_open_reads=1, db_path=closed.app.state.ctx.settings.db_path + "2")
    assert opened.client.get("/v1/stories").status_code == 200
    _is_error(opened.client.post("/v1/articles", content=b"x"), 401)  # writes still closed


def test_auth_no_token_configured_refuses_writes_503(serve):
    api = serve(api_token="", api_open_reads=1)
    r = api.client.post("/v1/articles", content=b"x", headers=api.auth())
    _is_error(r, 503, "writes_disabled")
    assert "WIREWATCH_API_TOKEN" in r.json()["error"]["message"]
    assert api.client.get("/v1/stories").status_code == 200


def test_not_found_and_validation_are_json(api):
    h = api.auth()
    _is_error(api.client.get("/v1/stories/s_nope", headers=h), 404, "not_found")
    _is_error(api.client.get("/v1/nothing-here", headers=h), 404, "not_found")
    _is_error(api.client.get("/v1/stories", params={"limit": 0}, headers=h), 422, "invalid")
    _is_error(api.client.get("/v1/events", params={"limit": "x"}, headers=h), 422, "invalid")
    _is_error(api.client.delete("/v1/webhooks/ep_nope", headers=h), 404)
    _is_error(
        api.client.delete("/v1/feeds", params={"url": "https://no.example/f"}, headers=h), 404
    )
    _is_error(api.client.put("/v1/stories", headers=h), 405)


def test_feeds_add_list_remove(api):
    h = api.auth()
    r = api.client.post("/v1/feeds", json={"url": "https://wire.example/world.rss"}, headers=h)
    assert r.status_code == 201 and r.json()["created"] is True
    assert r.json()["feed"]["status"] == "new"
    again = api.client.post(
        "/v1/feeds", json={"url": "https://wire.example/world.rss", "interval_s": 900}, headers=h
    )
    assert again.json()["created"] is False and again.json()["feed"]["interval_s"] == 900
    _is_error(api.client.post("/v1/feeds", json={"url": "ftp://x"}, headers=h), 422)
    feeds = api.client.get("/v1/feeds", headers=h).json()["feeds"]
    assert [f["url"] for f in feeds] == ["https://wire.example/world.rss"]
    r = api.client.delete("/v1/feeds", params={"url": "https://wire.example/world.rss"}, headers=h)
    assert r.status_code == 200
    assert api.client.get("/v1/feeds", headers=h).json()["feeds"] == []


def test_webhooks_add_list_remove_deliveries(api):
    h = api.auth()
    r = api.client.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/ww", "events": ["story.created"]},
        headers=h,
    )
    assert r.status_code == 201, r.text
    hook = r.json()["webhook"]
    assert hook["secret"].startswith("whsec_") and hook["event_types"] == ["story.created"]
    listed = api.client.get("/v1/webhooks", headers=h).json()["webhooks"]
    assert [w["id"] for w in listed] == [hook["id"]] and listed[0]["secret"].endswith("…")
    _is_error(
        api.client.post(
            "/v1/webhooks", json={"url": "https://h.example", "events": ["x"]}, headers=h
        ),
        422,
    )
    _is_error(api.client.post("/v1/webhooks", json={"url": "not a url"}, headers=h), 422)
    deliveries = api.client.get("/v1/webhooks/deliveries", headers=h).json()
    assert deliveries == {"deliveries": []}
    assert api.client.delete(f"/v1/webhooks/{hook['id']}", headers=h).status_code == 200
    assert api.client.get("/v1/webhooks", headers=h).json()["webhooks"] == []


def test_healthz_and_dashboard_pages(api):
    r = api.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "mode": "embedded"}
    page = api.client.get("/")
    assert page.status_code == 200 and 'id="stories"' in page.text
    assert "/static/dashboard.js" in page.text
    assert api.client.get("/static/dashboard.js").headers["content-type"].startswith("text/java")
    assert api.client.get("/static/nope.js").status_code == 404
    story = api.client.get("/stories/s_x%22%3E")
    assert story.status_code == 200 and 's_x"&gt;' not in story.text and "&quot;" in story.text


def test_distributed_mode_answers_202_with_the_task_id(serve):
    # Given an app whose enqueue is a recording stub (tasks/api.py passes Celery's sender)
    sent: list[dict] = []

    def enqueue(doc: dict) -> str:
        sent.append(doc)
        return f"task-{len(sent)}"

    api = serve(enqueue=enqueue)
    r = api.client.post(
        "/v1/articles", json={"text": SEEDS[0].read_text(), "title": "T"}, headers=api.auth()
    )
    assert r.status_code == 202 and r.json()["task_id"] == "task-1"
    assert sent[0]["kind"] == "text" and sent[0]["title"] == "T"
    assert json.loads(json.dumps(sent[0])) == sent[0]  # JSON primitives only
    assert api.client.get("/v1/stories", headers=api.auth()).json()["stories"] == []


def test_openapi_document_lists_every_endpoint(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/v1/articles",
        "/v1/stories",
        "/v1/stories/{story_id}",
        "/v1/events",
        "/v1/rejections",
        "/v1/feeds",
        "/v1/webhooks",
        "/healthz",
        "/metrics",
    }
    assert set(paths["/v1/articles"]["post"]["requestBody"]["content"]) == {
        "application/json",
        "text/plain",
        "text/html",
    }
    assert TOKEN not in json.dumps(paths)


def test_healthz_503_when_the_store_fails(api):
    # Given a store that stops answering under the running server
    class Unreachable:
        def doc_count(self) -> int:
            raise ConnectionError("store gone")

    ctx = api.app.state.ctx
    assert api.client.get("/healthz").status_code == 200
    real, ctx._store = ctx._store, Unreachable()
    try:
        # Then healthz says so, as a JSON error
        r = api.client.get("/healthz")
        _is_error(r, 503, "store_unreachable")
        assert "store gone" in r.json()["error"]["message"]
    finally:
        ctx._store = real


def test_body_cap_applies_to_management_bodies(serve):
    api = serve(api_max_body_bytes=200)
    r = api.client.post(
        "/v1/feeds", json={"url": "https://x.example/" + "a" * 300}, headers=api.auth()
    )
    _is_error(r, 413, "too_large")


def test_store_away_answers_503_with_retry_after(serve, tmp_path):
    from tests.redis_server import _start_server

    # Given an API on a Redis store, and that Redis then stopping
    proc, url = _start_server(tmp_path)
    try:
        api = serve(redis_url=url, redis_namespace="away")
        assert api.client.get("/healthz").status_code == 200
        h = api.auth()
        assert api.client.get("/v1/stories", headers=h).status_code == 200
    finally:
        proc.kill()
        proc.wait()
    # Then reads and writes say the store is away and when to try again; health says so too
    r = api.client.get("/v1/stories", headers=h)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["code"] == "store_unavailable"
    r = api.client.post("/v1/articles", content=b"Some words.", headers={
        **h, "Content-Type": "text/plain"})  # fmt: skip
    assert r.status_code == 503 and r.json()["error"]["code"] == "store_unavailable"
    assert api.client.get("/healthz").status_code == 503
