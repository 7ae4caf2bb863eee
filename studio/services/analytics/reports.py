"""Reports: the analytics of a period written to a PDF, CSV or JSON file by an `analytics.report` job.

Sections (seed 000's names): `revenue_analysis`, `content_performance`, `system_health`,
`growth_projections`, plus `engagement` and `costs`. Every section is read from the same parts the
dashboard and the API answer from, so a report's figures are the panel's figures for that period.
Every figure carries its source: the PDF prints it under each table and chart, the CSV has a
`source` column, the JSON keeps each part's `sources` and `reasons`.

The PDF is drawn with fpdf2 and its charts with matplotlib's Agg canvas (no system libraries, no
GUI backend); the text font is the DejaVu Sans that matplotlib ships, so any title prints.

Public API (built by the entry object): `available()`, `generate(report_type=, period=, format=,
sections=) -> {"report_id", "status", "estimated_time", "download_url", ...}`, `get(report_id)`,
`list(limit=)`, `file(report_id) -> (path, filename, content_type)`, `job_handlers()`.
Report id = the id of the job that makes it.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from studio.db.models import AnalyticsReport, Job
from studio.db.store import new_id
from studio.jobs import JobHandler
from studio.services.analytics.common import AnalyticsError, Period, UnknownReport, parse_period
from studio.timeutil import iso, utcnow

if TYPE_CHECKING:
    from studio.context import Context
    from studio.jobs import JobContext

KIND = "analytics.report"
FORMATS = {"pdf": "application/pdf", "csv": "text/csv", "json": "application/json"}
SECTIONS = {
    "revenue_analysis": "Revenue analysis",
    "content_performance": "Content performance",
    "system_health": "System health",
    "growth_projections": "Growth projections",
    "engagement": "Engagement",
    "costs": "Costs",
}
REPORT_TYPES = {
    "comprehensive": ("Everything", tuple(SECTIONS)),
    "revenue": ("Revenue and projections", ("revenue_analysis", "growth_projections")),
    "content": ("What performs", ("content_performance", "engagement")),
    "system": ("System health and costs", ("system_health", "costs")),
}
ORIGIN_LABELS = {"music_generation": "generated tracks", "voice_empire": "voice characters",
                 "trending_hijacker": "trend answers", "community_empire": "community-promoted tracks",
                 "unattributed": "what is not linked"}
TOP_ROWS = 10
ENGAGEMENT_LABELS = {"views": "views", "streams": "streams", "listeners": "listeners", "subscribers": "subscribers gained",
                     "likes": "likes", "comments": "comments", "avg_watch_time": "average watch time (s)",
                     "likes_per_video": "likes per video", "comments_per_video": "comments per video"}
ESTIMATED_TIME_S = {"pdf": 5, "csv": 1, "json": 1}  # measured on 2 cores: a 90-day PDF takes ~2 s


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        text = f"{value:,.2f}"
    elif isinstance(value, int):
        text = f"{value:,}"
    else:
        text = str(value)
    return f"{text} {unit}".strip()


class Reports:
    def __init__(self, ctx: "Context", *, dashboard, revenue, content, usage, costs, engagement) -> None:
        self.ctx = ctx
        self.dashboard = dashboard
        self.revenue = revenue
        self.content = content
        self.usage = usage
        self.costs = costs
        self.engagement = engagement

    # --- catalogue and requests -------------------------------------------------------------------
    def available(self) -> dict[str, Any]:
        return {"report_types": [{"id": k, "title": t, "sections": list(s)} for k, (t, s) in REPORT_TYPES.items()],
                "sections": [{"id": k, "title": t} for k, t in SECTIONS.items()], "formats": list(FORMATS)}

    def generate(self, *, report_type: str = "comprehensive", period: str = "30d", format: str = "pdf",
                 sections: list[str] | None = None, end_day: str | None = None) -> dict[str, Any]:
        if report_type not in REPORT_TYPES:
            raise AnalyticsError(f"report_type must be one of {', '.join(REPORT_TYPES)}")
        fmt = (format or "pdf").lower()
        if fmt not in FORMATS:
            raise AnalyticsError(f"format must be one of {', '.join(FORMATS)}")
        chosen = list(dict.fromkeys(sections or REPORT_TYPES[report_type][1]))
        unknown = [s for s in chosen if s not in SECTIONS]
        if unknown:
            raise AnalyticsError(f"unknown section {unknown[0]!r}; known: {', '.join(SECTIONS)}")
        resolved = parse_period(period, end_day=end_day)  # the period is fixed when asked, not when run
        report_id = new_id("report")
        with self.ctx.db.session() as s:
            s.add(AnalyticsReport(id=report_id, job_id=report_id, status="processing", report_type=report_type,
                                  period=resolved.label, format=fmt, sections=chosen))
        params = {"report_id": report_id, "report_type": report_type, "period": resolved.label, "format": fmt,
                  "sections": chosen, "start": resolved.start_day.isoformat(), "end": resolved.end_day.isoformat()}
        self.ctx.jobs.submit(KIND, params, title=f"{REPORT_TYPES[report_type][0]} report ({resolved.label})",
                             job_id=report_id)
        return {**self.get(report_id), "estimated_time": ESTIMATED_TIME_S[fmt]}

    def _describe(self, row: AnalyticsReport, job: Job | None) -> dict[str, Any]:
        status, progress, error = row.status, 100.0, row.error
        if row.media_id is None:
            status = {"failed": "failed", "cancelled": "cancelled"}.get(job.status if job else "", "processing")
            progress = round(job.progress, 1) if job else 0.0
            error = job.error if job and job.error else error
        return {"report_id": row.id, "status": status, "progress": progress, "report_type": row.report_type,
                "period": row.period, "format": row.format, "sections": list(row.sections or []),
                "job_id": row.job_id, "created_at": iso(row.created_at), "finished_at": iso(row.finished_at),
                "download_url": f"/api/analytics/reports/{row.id}.{row.format}", "error": error}

    def get(self, report_id: str) -> dict[str, Any]:
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsReport, report_id)
            if row is None:
                raise UnknownReport(report_id)
            return self._describe(row, s.get(Job, row.job_id) if row.job_id else None)

    def list(self, *, limit: int = 50) -> list[dict[str, Any]]:
        with self.ctx.db.session() as s:
            rows = s.scalars(select(AnalyticsReport).order_by(AnalyticsReport.created_at.desc()).limit(limit)).all()
            jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_([r.job_id for r in rows if r.job_id])))}
            return [self._describe(r, jobs.get(r.job_id)) for r in rows]

    def file(self, report_id: str) -> tuple[Path, str, str]:
        """(path, download name, content type) of a finished report; UnknownReport when there is none yet."""
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsReport, report_id)
            if row is None or row.media_id is None or not self.ctx.store.exists(row.media_id):
                raise UnknownReport(report_id)
            name = f"studio-{row.report_type}-{row.period}-{row.created_at:%Y%m%d}.{row.format}"
            return self.ctx.store.path(row.media_id), name, FORMATS[row.format]

    # --- the job ----------------------------------------------------------------------------------
    def job_handlers(self) -> list[JobHandler]:
        return [JobHandler(kind=KIND, run=self._run, id_prefix="report")]

    def collect(self, period: Period, sections: list[str]) -> dict[str, Any]:
        """Each section's figures, read from the parts the API answers from."""
        out: dict[str, Any] = {}
        revenue = self.revenue.revenue(period) if {"revenue_analysis", "growth_projections"} & set(sections) else None
        for name in sections:
            if name == "revenue_analysis":
                out[name] = revenue
            elif name == "growth_projections":
                out[name] = {"projections": revenue["projections"], "growth_rate": revenue["growth_rate"],
                             "history_days": 180, "reasons": revenue["reasons"],
                             "sources": {"projections": "daily revenue of the last 180 days: linear trend + weekday "
                                                        "effects, 80% prediction interval"}}
            elif name == "content_performance":
                out[name] = {**self.content.content(period, limit=20),
                             "library": self.content.library_metrics(period)}
            elif name == "system_health":
                out[name] = {"health": self.usage.system_health(period), "api_usage": self.usage.api_usage(period)}
            elif name == "engagement":
                out[name] = self.engagement.engagement(period)
            elif name == "costs":
                out[name] = self.costs.summary(period)
        return out

    def _run(self, job: "JobContext") -> dict[str, Any]:
        p = job.params
        period = Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]), p["period"])
        job.progress(5, "reading the figures")
        data = self.collect(period, list(p["sections"]))
        job.progress(40, f"writing the {p['format'].upper()}")
        meta = {"report_id": p["report_id"], "report_type": p["report_type"], "period": p["period"],
                "start": p["start"], "end": p["end"], "generated_at": iso(utcnow())}
        if p["format"] == "json":
            body = json.dumps({**meta, "sections": data}, indent=2, default=str).encode()
        elif p["format"] == "csv":
            body = _csv(meta, data).encode("utf-8-sig")  # the BOM makes spreadsheet apps read UTF-8
        else:
            body = _pdf(meta, data, progress=lambda pct: job.progress(40 + pct * 0.55, "drawing the PDF"))
        job.check_cancelled()
        stored = self.ctx.store.write_bytes(body, prefix="report", extension="." + p["format"])
        with self.ctx.db.session() as s:
            row = s.get(AnalyticsReport, p["report_id"])
            if row is not None:
                row.media_id, row.status, row.finished_at = stored.id, "completed", utcnow()
        return {"report_id": p["report_id"], "media_id": stored.id, "size_bytes": stored.size_bytes,
                "download_url": f"/api/analytics/reports/{p['report_id']}.{p['format']}"}


# --- flat figures (CSV and the PDF's tables share them) --------------------------------------------
def figures(name: str, data: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(label, value, source) of one section's headline figures."""
    src = data.get("sources") or {}
    if name == "revenue_analysis":
        cur = data.get("currency") or ""
        rows = [("Total revenue", data.get("total_revenue"), src.get("revenue", "")),
                ("Growth vs previous period (%)", data.get("growth_rate"), "revenue, this period vs the one before")]
        for origin, value in (data.get("breakdown") or {}).items():
            rows.append((f"Revenue from {ORIGIN_LABELS.get(origin, origin)}", value, src.get("attribution", "")))
        for source, value in (data.get("by_source") or {}).items():
            rows.append((f"Revenue from {source}", value, "imported/connected rows of that source"))
        return [(f"{label} ({cur})" if cur and label.lower().startswith(("total revenue", "revenue")) else label,
                 value, source) for label, value, source in rows]
    if name == "growth_projections":
        proj = data.get("projections") or {}
        interval = proj.get("interval") or {}
        source = src.get("projections", "")
        return [("Next 30 days (projected)", proj.get("next_30d"), source),
                ("80% interval low", interval.get("low"), source),
                ("80% interval high", interval.get("high"), source),
                ("Confidence (%)", proj.get("confidence"), source),
                ("Days of history used", proj.get("days_used"), source)]
    if name == "content_performance":
        lib = data.get("library") or {}
        lib_src = (lib.get("sources") or {}).get("total_generated", "the library's tracks")
        rows = [("Tracks generated", lib.get("total_generated"), lib_src),
                ("Successful generations", lib.get("successful_generations"), "generation jobs that completed"),
                ("Total duration (h)", lib.get("total_duration_hours"), "sum of the tracks' durations"),
                ("Average quality score", lib.get("average_quality_score"), "the tracks' computed quality metrics")]
        return rows
    if name == "system_health":
        health = data.get("health") or {}
        api = data.get("api_usage") or {}
        basis = "the API server's start/stop records and its request log"
        return [("Uptime (%)", health.get("uptime_pct"), basis),
                ("Average response time (ms)", health.get("response_time_avg"), "request log"),
                ("Server error rate (%)", health.get("error_rate"), "request log (5xx / all)"),
                ("Requests", api.get("total_requests"), "request log"),
                ("Successful requests", api.get("successful_requests"), "request log (status < 400)")]
    if name == "engagement":
        overview = data.get("engagement_overview") or {}
        users = (data.get("sources") or {}).get("users", "community members")
        rows = [("Community members", overview.get("total_users"), users),
                ("Members who wrote in the period", overview.get("active_users"), users),
                ("Engagement rate (%)", overview.get("engagement_rate"), "(likes + comments + shares) / views × 100"),
                ("Retention rate (%)", overview.get("retention_rate"), "no supported source carries it")]
        source = (data.get("sources") or {}).get("platforms", "imported and connected counts")
        for platform in data.get("platform_engagement") or []:
            for k, label in ENGAGEMENT_LABELS.items():
                if platform.get(k) is not None:
                    rows.append((f"{platform.get('platform')}: {label}", platform[k], source))
        return rows
    if name == "costs":
        rows = [("Compute (s)", data.get("total_compute_seconds"), src.get("compute_seconds", "")),
                ("Jobs", data.get("jobs"), src.get("compute_seconds", "")),
                ("Total cost", data.get("total_cost"), src.get("total_cost", ""))]
        for kind, seconds in (data.get("compute_seconds") or {}).items():
            rows.append((f"Compute: {kind} (s)", seconds, src.get("compute_seconds", "")))
        for connector, units in (data.get("quota_units") or {}).items():
            rows.append((f"Quota units: {connector}", units, src.get("quota_units", "")))
        return rows
    return []


def _csv(meta: dict[str, Any], data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "figure", "value", "source"])
    writer.writerow(["report", "period", f"{meta['start']}..{meta['end']}", "as asked"])
    for name, section in data.items():
        for label, value, source in figures(name, section):
            writer.writerow([name, label, "" if value is None else value, source])
        for key, reason in (section.get("reasons") or {}).items():
            writer.writerow([name, f"why {key} is empty", "", reason])
        if name == "revenue_analysis":
            for row in section.get("daily_data") or []:
                writer.writerow([name, f"revenue on {row['date']}", row["revenue"], "daily revenue"])
        if name == "content_performance":
            source = (section.get("sources") or {}).get("figures", "")
            for entry in section.get("top_performing") or []:
                for figure in ("views", "engagement", "revenue"):
                    writer.writerow([name, f"{entry['title']}: {figure}", "" if entry.get(figure) is None
                                     else entry[figure], source])
    return out.getvalue()


# --- PDF --------------------------------------------------------------------------------------------
def _chart_png(kind: str, data: dict[str, Any]) -> bytes | None:
    """A chart of the section as PNG bytes, or None when the section has nothing to draw."""
    from matplotlib.figure import Figure  # Agg canvas below: no GUI backend, safe in a worker thread
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=(7.0, 2.6), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    if kind == "revenue_analysis":
        rows = data.get("daily_data") or []
        if not rows or not data.get("total_revenue"):
            return None
        xs = list(range(len(rows)))
        bottom = [0.0] * len(rows)
        for origin in (rows[0].get("by_origin") or {}):
            ys = [r["by_origin"].get(origin, 0.0) for r in rows]
            if any(ys):
                ax.bar(xs, ys, bottom=bottom, label=ORIGIN_LABELS.get(origin, origin), width=0.9)
                bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
        ax.set_ylabel(data.get("currency") or "revenue")
        ax.set_xticks(xs[:: max(1, len(xs) // 6)], [rows[i]["date"] for i in xs[:: max(1, len(xs) // 6)]],
                      fontsize=7)
        ax.legend(fontsize=7)
    elif kind == "content_performance":
        top = (data.get("top_performing") or [])[:10]
        figure = "revenue" if any(e.get("revenue") for e in top) else "views"
        if not any(e.get(figure) for e in top):
            return None
        ax.barh([(e["title"] or "–")[:30] for e in reversed(top)], [e.get(figure) or 0 for e in reversed(top)])
        ax.set_xlabel(figure)
        ax.tick_params(labelsize=7)
    elif kind == "system_health":
        endpoints = ((data.get("api_usage") or {}).get("endpoint_usage") or [])[:10]
        if not endpoints:
            return None
        ax.barh([e["endpoint"][:40] for e in reversed(endpoints)], [e["requests"] for e in reversed(endpoints)])
        ax.set_xlabel("requests")
        ax.tick_params(labelsize=6)
    else:
        return None
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _pdf(meta: dict[str, Any], data: dict[str, Any], *, progress=lambda pct: None) -> bytes:
    import matplotlib
    from fpdf import FPDF

    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_title(f"Studio analytics report {meta['report_id']}")
    pdf.set_creator("Studio")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 18)
    pdf.cell(0, 12, "Studio analytics report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 10)
    pdf.cell(0, 6, f"Period: {meta['start']} to {meta['end']} ({meta['period']})", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, f"Generated: {meta['generated_at']}  ·  report {meta['report_id']}", new_x="LMARGIN",
             new_y="NEXT")
    pdf.multi_cell(0, 5, "Every figure is computed from your imported files, connected accounts and the studio's "
                         "own records; 'n/a' means there is no data for it (the reason is printed below it).",
                   new_x="LMARGIN", new_y="NEXT")
    for index, (name, section) in enumerate(data.items()):
        pdf.ln(4)
        pdf.set_font("DejaVu", "B", 14)
        pdf.cell(0, 9, SECTIONS[name], new_x="LMARGIN", new_y="NEXT")
        rows = figures(name, section)
        if rows:
            pdf.set_font("DejaVu", "", 9)
            with pdf.table(col_widths=(70, 30, 90), text_align=("LEFT", "RIGHT", "LEFT"),
                           first_row_as_headings=True) as table:
                table.row(["Figure", "Value", "Source"])
                for label, value, source in rows:
                    table.row([label, _fmt(value), source or "—"])
        top = (section.get("top_performing") or [])[:TOP_ROWS] if name == "content_performance" else []
        if top:
            pdf.ln(2)
            pdf.set_font("DejaVu", "B", 10)
            pdf.cell(0, 6, "What performed best", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", "", 8)
            with pdf.table(col_widths=(70, 40, 25, 25, 30), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
                           first_row_as_headings=True) as table:
                table.row(["Title", "Made by", "Views", "Engagement %", "Revenue"])
                for entry in top:
                    table.row([entry["title"] or "–", ORIGIN_LABELS.get(entry["type"], entry["type"]),
                               _fmt(entry.get("views")), _fmt(entry.get("engagement")), _fmt(entry.get("revenue"))])
            pdf.set_font("DejaVu", "", 7)
            pdf.multi_cell(0, 4, "Source: " + str((section.get("sources") or {}).get("figures", "")) +
                           "; engagement = (likes + comments + shares) / views × 100", new_x="LMARGIN", new_y="NEXT")
        reasons = section.get("reasons") or {}
        if isinstance(section.get("health"), dict):
            reasons = {**reasons, **(section["health"].get("reasons") or {})}
        if reasons:
            pdf.set_font("DejaVu", "", 8)
            for key, reason in reasons.items():
                pdf.multi_cell(0, 4.5, f"Why {key.replace('_', ' ')} is empty: {reason}", new_x="LMARGIN",
                               new_y="NEXT")
        png = _chart_png(name, section)
        if png is not None:
            pdf.ln(2)
            pdf.image(io.BytesIO(png), w=180)
            pdf.set_font("DejaVu", "", 7)
            pdf.cell(0, 4, "Chart source: " + _chart_source(name, section), new_x="LMARGIN", new_y="NEXT")
        progress((index + 1) / max(1, len(data)) * 100.0)
    return bytes(pdf.output())


def _chart_source(name: str, section: dict[str, Any]) -> str:
    if name == "revenue_analysis":
        return "daily revenue by origin: " + str((section.get("sources") or {}).get("revenue", ""))
    if name == "content_performance":
        figure = "revenue" if any(e.get("revenue") for e in section.get("top_performing") or []) else "views"
        return f"{figure} per item: " + str((section.get("sources") or {}).get("figures", ""))
    return "requests per endpoint: the request log"
