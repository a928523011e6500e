"""Operator corrections over the API: merge, split, "not new" (embedded store)."""

from __future__ import annotations

from tests.api.test_api import _is_error, _post_seeds


def test_operator_not_new_records_and_stops_the_development(api):
    # Given the seeds as one story with three developments
    results = _post_seeds(api)
    h = api.auth()
    story_id = results[0]["story_id"]
    dev = next(r for r in results if r["status"] == "development")
    # When the operator marks 002's development not new
    r = api.client.post(f"/v1/events/{dev['event']['id']}/not-new", headers=h)
    assert r.status_code == 200 and r.json()["already_marked"] is False
    # Then the article counts as a duplicate and the story has one development fewer
    story = api.client.get(f"/v1/stories/{story_id}", headers=h).json()["story"]
    assert {a["id"]: a["status"] for a in story["articles"]}[dev["article_id"]] == "duplicate"
    assert story["development_count"] == 2
    # and the same facts, sent again in a copy, do not fire
    again = api.client.post(
        "/v1/articles",
        json={"text": dev["event"]["novel_facts"][0]["text"] * 3, "url": "https://x.example/c"},
        headers=h,
    )
    assert again.json()["status"] in ("duplicate", "new_story")
    assert again.json()["status"] != "development"
    assert api.client.post(f"/v1/events/{dev['event']['id']}/not-new", headers=h).json()[
        "already_marked"
    ]
    created = results[0]["event"]["id"]
    _is_error(api.client.post(f"/v1/events/{created}/not-new", headers=h), 422)
    _is_error(api.client.post("/v1/events/evt_nope/not-new", headers=h), 404)
    actions = api.client.get("/v1/operator/actions", headers=h).json()["actions"]
    assert [a["action"] for a in actions] == ["not_new"]


def test_operator_split_then_merge_back(api):
    results = _post_seeds(api)
    h = api.auth()
    story_id, art = results[0]["story_id"], results[3]["article_id"]
    # When an article is split into its own story
    r = api.client.post(f"/v1/articles/{art}/split", headers=h)
    assert r.status_code == 200, r.text
    new_id = r.json()["story"]
    stories = {s["id"]: s for s in api.client.get("/v1/stories", headers=h).json()["stories"]}
    assert stories[new_id]["article_count"] == 1 and stories[story_id]["article_count"] == 4
    _is_error(api.client.post(f"/v1/articles/{art}/split", headers=h), 409)
    # And merged back
    r = api.client.post("/v1/stories/merge", json={"source": new_id, "target": story_id}, headers=h)
    assert r.status_code == 200 and r.json()["articles_moved"] == 1
    stories = api.client.get("/v1/stories", headers=h).json()["stories"]
    assert [s["id"] for s in stories] == [story_id] and stories[0]["article_count"] == 5
    detail = api.client.get(f"/v1/stories/{story_id}", headers=h).json()["story"]
    assert [a["id"] for a in detail["articles"]] == [r["article_id"] for r in results]
    _is_error(
        api.client.post(
            "/v1/stories/merge", json={"source": story_id, "target": story_id}, headers=h
        ),
        422,
    )
    _is_error(
        api.client.post("/v1/stories/merge", json={"source": "s_x", "target": story_id}, headers=h),
        404,
    )
    _is_error(api.client.post("/v1/articles/a_nope/split", headers=h), 404)
    _is_error(api.client.post(f"/v1/articles/{art}/split"), 401)
