"""Trends over the wire: a scan's new item above the threshold reaches a `/ws` client as seed 000's
`trend_detected` event, and the Deezer source's `analyse_previews` setting goes through
`PUT /api/trending/sources/deezer`. The source is a fake fetcher: no network."""

from __future__ import annotations

from studio.connectors.charts import ChartEntry


async def _json(resp, status=200):
    data = await resp.json()
    assert resp.status == status, data
    return data


async def test_trend_detected_reaches_a_websocket_client(api, running_services):
    h = api.auth_headers

    async def fetch(config):
        return [ChartEntry(source="deezer", chart="deezer:chart:0", item_id="d1", title="Paper Lanterns",
                           artist="Mira Vale", rank=1)]
    running_services.trends.sources.fetchers["deezer"] = fetch
    await _json(await api.put("/api/trending/sources/deezer", headers=h, json={"enabled": True}))

    async with api.ws_connect("/ws") as ws:
        await ws.send_json({"type": "auth", "token": api.key})
        assert (await ws.receive_json(timeout=5))["event"] == "authenticated"
        await ws.send_json({"type": "subscribe", "events": ["trend_detected"]})
        assert (await ws.receive_json(timeout=5))["event"] == "subscribed"

        scan = await _json(await api.post("/api/trending/scan", headers=h, json={}))
        assert scan["new_items"] == 1 and len(scan["detected"]) == 1

        msg = await ws.receive_json(timeout=5)

    assert msg["event"] == "trend_detected"
    trend = msg["data"]
    assert trend["id"] == scan["detected"][0] and trend["title"] == "Paper Lanterns"
    # #1 of 1 on one source, first scan: 100 x (0.40 x 1.0 + 0.15 x 1/3) / 0.55 = 81.8, above the default 70
    assert trend["viral_score"] == 81.8
    current = await _json(await api.get("/api/trending/current", headers=h))
    assert [(t["id"], t["viral_score"]) for t in current["trends"]] == [(trend["id"], trend["viral_score"])]


async def test_analyse_previews_is_set_through_the_api(api):
    h = api.auth_headers
    listed = await _json(await api.get("/api/trending/sources", headers=h))
    deezer = next(s for s in listed["sources"] if s["name"] == "deezer")
    assert deezer["config"]["analyse_previews"] is False  # off until the user allows it
    changed = await _json(await api.put("/api/trending/sources/deezer", headers=h,
                                        json={"config": {"analyse_previews": True}}))
    assert changed["source"]["config"]["analyse_previews"] is True
    assert changed["source"]["config"]["genre_ids"] == [0]  # the other settings kept
    bad = await _json(await api.put("/api/trending/sources/deezer", headers=h,
                                    json={"config": {"analyse_previews": "yes"}}), 422)
    assert bad["error"]["details"]["parameter"] == "config" and "analyse_previews" in bad["error"]["message"]
