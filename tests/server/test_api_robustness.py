"""Requests that used to answer 500 (found by fuzzing, issue #19) now get a 4xx that says what is
wrong: JSON nested a thousand deep, a malformed header inside a multipart part, a docs asset with
a 256-character name; and HEAD is answered wherever GET is."""

from __future__ import annotations


async def test_deeply_nested_json_is_a_400_not_a_crash(api):
    body = "[" * 100_000 + "]" * 100_000
    for path in ("/api/auth/login", "/api/music/generate", "/api/v1/costs/limits"):
        method = "put" if path.endswith("limits") else "post"
        resp = await getattr(api, method)(path, data=body, headers={**api.auth_headers,
                                                                     "Content-Type": "application/json"})
        assert resp.status == 400, (path, await resp.text())
        assert "nested too deeply" in (await resp.json())["error"]["message"]


async def test_a_malformed_part_header_is_a_400(api):
    body = b"--b\r\n[]--b--\r\n"
    for path in ("/api/v1/predict", "/api/analytics/imports", "/api/community/import"):
        resp = await api.post(path, data=body, headers={**api.auth_headers,
                                                        "Content-Type": "multipart/form-data; boundary=b"})
        assert 400 <= resp.status < 500, (path, resp.status, await resp.text())


async def test_docs_assets_answer_only_their_own_names(api):
    assert (await api.get("/docs/assets/" + "a" * 256)).status == 404
    assert (await api.get("/docs/assets/../../studio.db")).status == 404
    swagger = await api.get("/docs/assets/swagger-ui/swagger-ui.css")
    assert swagger.status == 200 and len(await swagger.read()) > 1000


async def test_head_is_answered_wherever_get_is(api):
    health = await api.head("/api/health")
    assert health.status == 200 and await health.read() == b""
    status = await api.head("/api/status", headers=api.auth_headers)
    assert status.status == 200
    assert (await api.head("/api/status")).status == 401  # the same rules as GET
