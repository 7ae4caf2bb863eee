"""Local stand-ins for Deezer's chart API and Apple Music's most-played RSS, for trying the Trends
area without the network (development and demos only; every title and artist is made up).

    .venv/bin/python tools/fake_platforms.py --port 8710
    STUDIO_DEEZER_URL=http://127.0.0.1:8710 STUDIO_APPLE_MUSIC_URL=http://127.0.0.1:8710 .venv/bin/studio

Both speak the real wire formats (see shared/notes/connectors.md). Every read of a chart moves it
one step: a few tracks climb, others fall, so growth and rank velocity have something to show.
Previews are short click loops at a tempo the chart does not state (Deezer's `bpm` is 0 for some
tracks), so the Deezer source's "analyse previews" setting has something to measure.
"""

from __future__ import annotations

import argparse
import io
import random
import zlib

import numpy as np
import soundfile as sf
from aiohttp import web

WORDS = ["Midnight", "Paper", "Neon", "Rain", "Velvet", "Static", "Golden", "Echo", "Lantern", "Drift",
         "Satellite", "Honey", "Glass", "Summer", "Ghost", "River", "Electric", "Slow", "Cherry", "Orbit"]
ARTISTS = ["Mira Vale", "The Low Hours", "Kato Reyes", "Juniper Fox", "Sable & Co", "Nadia Blue",
           "Otis Grey", "Lumen Park", "Ivo Marsh", "Tessa Moon"]
GENRES = ["Pop", "Hip-Hop/Rap", "Electronic", "R&B/Soul", "Alternative", "Dance", "Rock", "Lo-Fi"]


class Charts:
    def __init__(self, size: int = 40, seed: int = 7) -> None:
        rng = random.Random(seed)
        self.rng = rng
        self.tracks = [{"id": 900000 + i, "title": f"{rng.choice(WORDS)} {rng.choice(WORDS)}",
                        "artist": rng.choice(ARTISTS), "genre": rng.choice(GENRES),
                        "duration": rng.randint(120, 240), "bpm": rng.choice([0, 82, 90, 100, 120, 128, 140]),
                        "popularity": rng.randint(200_000, 900_000),
                        "groove_bpm": rng.choice([78, 86, 94, 104, 118, 126, 140])} for i in range(size)]
        self.order = list(range(size))

    def step(self) -> list[dict]:
        # A few climb two or three places, the rest drift; popularity follows.
        for _ in range(4):
            i = self.rng.randrange(2, len(self.order))
            j = max(0, i - self.rng.randint(2, 3))
            self.order.insert(j, self.order.pop(i))
        for pos, index in enumerate(self.order):
            self.tracks[index]["popularity"] += (len(self.order) - pos) * self.rng.randint(50, 150)
        return [self.tracks[i] for i in self.order]


def preview_wav(bpm: float, seconds: float = 8.0, rate: int = 22050) -> bytes:
    """A short click-and-bass loop at `bpm`: what the studio's tempo analysis of a preview measures."""
    t = np.arange(int(seconds * rate)) / rate
    beat = 60.0 / bpm
    phase = t % beat
    clicks = np.exp(-phase * 60.0) * np.sin(2 * np.pi * 1800 * t) * 0.6
    bass = np.where((t // beat) % 2 == 0, 0.3, 0.2) * np.sin(2 * np.pi * 55 * t) * np.exp(-phase * 6.0)
    out = io.BytesIO()
    sf.write(out, (clicks + bass).astype(np.float32), rate, format="WAV")
    return out.getvalue()


def deezer_track(track: dict, position: int | None = None, base_url: str = "") -> dict:
    out = {"id": track["id"], "title": track["title"], "title_short": track["title"], "link": f"https://www.deezer.com/track/{track['id']}",
           "duration": track["duration"], "rank": track["popularity"], "explicit_lyrics": False,
           "preview": f"{base_url}/preview/{track['id']}.wav" if base_url else "",
           "artist": {"id": zlib.crc32(track["artist"].encode()) % 10**6, "name": track["artist"]},
           "album": {"id": track["id"] + 1, "title": track["title"]}, "type": "track"}
    if position is not None:
        out["position"] = position
    return out


def build_app(charts: Charts) -> web.Application:
    by_id = {t["id"]: t for t in charts.tracks}

    async def deezer_chart(request: web.Request) -> web.Response:
        limit = int(request.query.get("limit", 100))
        ranked = charts.step()[:limit]
        base = f"{request.scheme}://{request.host}"
        return web.json_response({"data": [deezer_track(t, i + 1, base) for i, t in enumerate(ranked)],
                                  "total": len(ranked)})

    async def deezer_track_detail(request: web.Request) -> web.Response:
        track = by_id.get(int(request.match_info["id"]))
        if track is None:  # Deezer answers errors with HTTP 200
            return web.json_response({"error": {"type": "DataException", "message": "no data", "code": 800}})
        base = f"{request.scheme}://{request.host}"
        return web.json_response({**deezer_track(track, base_url=base), "isrc": f"ZZX{track['id']:09d}", "bpm": track["bpm"],
                                  "gain": -9.1, "release_date": "2026-11-20"})

    async def preview(request: web.Request) -> web.Response:
        track = by_id.get(int(request.match_info["id"]))
        if track is None:
            raise web.HTTPNotFound()
        return web.Response(body=preview_wav(track["groove_bpm"]), content_type="audio/wav")

    async def deezer_genres(_request: web.Request) -> web.Response:
        return web.json_response({"data": [{"id": 0, "name": "All"}, {"id": 116, "name": "Rap/Hip Hop"}]})

    async def apple_most_played(request: web.Request) -> web.Response:
        size = int(request.match_info["size"])
        ranked = sorted(charts.tracks, key=lambda t: -t["popularity"])[:size]
        results = [{"artistName": t["artist"], "id": str(t["id"]), "name": t["title"], "releaseDate": "2026-11-20",
                    "kind": "songs", "contentAdvisoryRating": "Explict",
                    "genres": [{"genreId": "14", "name": t["genre"], "url": ""}, {"genreId": "34", "name": "Music", "url": ""}],
                    "url": f"https://music.apple.com/us/song/{t['id']}"} for t in ranked]
        return web.json_response({"feed": {"title": "Top Songs", "country": request.match_info["storefront"],
                                           "updated": "Fri, 4 Dec 2026 12:00:00 +0000", "results": results}})

    app = web.Application()
    app.router.add_get("/chart/{genre}/tracks", deezer_chart)
    app.router.add_get("/track/{id}", deezer_track_detail)
    app.router.add_get("/genre", deezer_genres)
    app.router.add_get("/preview/{id}.wav", preview)
    app.router.add_get("/api/v2/{storefront}/music/most-played/{size}/songs.json", apple_most_played)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8710)
    parser.add_argument("--size", type=int, default=40, help="tracks on the made-up charts")
    args = parser.parse_args()
    web.run_app(build_app(Charts(args.size)), host="127.0.0.1", port=args.port, print=lambda *_: print(
        f"fake Deezer + Apple Music on http://127.0.0.1:{args.port} (made-up data)", flush=True))


if __name__ == "__main__":
    main()
