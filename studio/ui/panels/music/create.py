"""Create: describe a track (a prompt, and as many details as you like) and generate it.

What the prompt is understood as is shown live, before generating (`resolve_spec` is cheap and
renders nothing); after a job is queued its card shows what was actually rendered (the seed
included) and, when it finishes, what the analysis measured. Variations queue N jobs of the
same spec with different seeds.

`apply_fields(fields)` fills the form from GenerationSpec fields: the hook the template gallery
uses (Templates button); a generation started from a template records its id, so the gallery's
usage counts are real. Playlist mode plans N tracks from the form (`plan_playlist`), queues them
and their continuous mix (`submit_playlist`), follows them on a card and plays the mix.

The panel composes its parts: the form (`spec_form.SpecForm`), 'Understood as'
(`spec_preview.SpecPreview`), the job and playlist cards (`job_cards.JobsView`) and the template
gallery; it holds the mode, the generate bar and what talks to the services.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.services.music.common import GENERATE_KIND, PLAYLIST_KIND, InsufficientCredits, SingerError
from studio.services.music.credits import credits_for
from studio.services.music.playlists import plan_playlist
from studio.ui.panels.base import Panel, PanelHost
from studio.ui.panels.music.common import caption, escape, muted
from studio.ui.panels.music.job_cards import JobCard, JobsView
from studio.ui.panels.music.spec_form import FIELD_LABELS, SEED_MAX, SpecForm, describe_errors
from studio.ui.panels.music.spec_preview import SpecPreview
from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer
from studio.ui.widgets.jobs_dock import JOB_EVENTS
from studio.ui.widgets.playlist_widgets import PlaylistCard
from studio.ui.widgets.tasks import TaskRunner
from studio.ui.widgets.template_gallery import TemplateGallery

PREVIEW_DELAY_MS = 150
MAX_VARIATIONS = 8
SINGLE, PLAYLIST = "single", "playlist"


class CreatePanel(Panel):
    title = "Create"
    icon = "mdi6.music-note-plus"
    key = "create"
    area = "music"
    subtitle = "Describe a track in words, set as many details as you like, and generate it. Ctrl+Enter generates."

    def __init__(self, host: PanelHost, parent: QWidget | None = None) -> None:
        super().__init__(host, parent)
        self.last_jobs: list[dict[str, Any]] = []
        self.last_error: list[tuple[str, str]] = []
        self.preview_spec: dict[str, Any] | None = None
        self.mode = SINGLE
        self.template_id: str | None = None
        self.last_playlist: dict[str, Any] | None = None
        self.preview_plan: dict[str, Any] | None = None
        self.playlist_seed = secrets.randbelow(SEED_MAX)  # the next playlist's plan seed when unlocked
        self.mix_playlist_id: str | None = None  # the playlist whose mix the player bar holds
        self.tasks = TaskRunner(self)
        self.tasks.done.connect(self._task_done)
        self.tasks.failed.connect(self._task_failed)

        self.form = SpecForm(self.services)
        self.form.reset_requested.connect(self.reset_form)
        self.form.template_cleared.connect(lambda: self.set_template(None))
        form_scroll = QScrollArea()
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setWidget(self.form)
        self.form_scroll = form_scroll
        find_style = self.services.music.catalogue.find_style
        self.gallery = TemplateGallery(self.services.music.templates, {
            t.subcategory: (find_style(t.subcategory).name if find_style(t.subcategory) else t.subcategory)
            for t in self.services.music.templates.templates})
        self.gallery.use_requested.connect(self.use_template)
        self.gallery.close_requested.connect(lambda: self.show_gallery(False))
        self.gallery.setMinimumHeight(160)
        self.gallery.hide()
        self.form_splitter = QSplitter(Qt.Orientation.Vertical)
        self.form_splitter.setChildrenCollapsible(False)
        self.form_splitter.addWidget(self.gallery)
        self.form_splitter.addWidget(form_scroll)
        self.form_splitter.setStretchFactor(0, 2)
        self.form_splitter.setStretchFactor(1, 3)

        self.preview_box = SpecPreview()
        preview_scroll = QScrollArea()
        preview_scroll.setWidgetResizable(True)
        preview_scroll.setFrameShape(QFrame.Shape.NoFrame)
        preview_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        preview_scroll.setWidget(self.preview_box)
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 4)
        top_layout.setSpacing(8)
        top_layout.addWidget(preview_scroll, 1)
        top_layout.addWidget(self._build_generate_bar())
        self.jobs_view = JobsView()
        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.setChildrenCollapsible(False)
        self.side_splitter.addWidget(top)
        self.side_splitter.addWidget(self.jobs_view)
        self.side_splitter.setStretchFactor(0, 0)  # the preview takes what it needs, the jobs the rest
        self.side_splitter.setStretchFactor(1, 1)
        self.side_splitter.setMinimumWidth(300)
        self.side_splitter.setMaximumWidth(440)

        columns = QHBoxLayout()
        columns.setSpacing(16)
        columns.addWidget(self.form_splitter, 3)
        columns.addWidget(self.side_splitter, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 16)
        layout.setSpacing(14)
        layout.addLayout(self.header(*self._build_header_buttons()))
        layout.addLayout(columns, 1)

        self.preview_timer = debounce_timer(self, PREVIEW_DELAY_MS, self.update_preview)
        self.form.changed.connect(self._schedule_preview)
        self.variations_spin.valueChanged.connect(self._schedule_preview)
        host.bridge.event.connect(self._on_event)
        self.update_preview()

    # --- building -------------------------------------------------------------------------------
    def _build_header_buttons(self) -> list[QWidget]:
        self.templates_button = QPushButton(icon("mdi6.view-grid-outline"), "Templates")
        self.templates_button.setCheckable(True)
        self.templates_button.setToolTip("Browse the ready-made templates and fill the form from one")
        self.templates_button.toggled.connect(self.show_gallery)
        modes = QWidget()
        row = QHBoxLayout(modes)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        self.single_button = QPushButton(icon("mdi6.music-note"), "Single track")
        self.playlist_button = QPushButton(icon("mdi6.playlist-music"), "Playlist")
        self.single_button.setToolTip("Generate one track (or N variations of it)")
        self.playlist_button.setToolTip("Plan several tracks from this form and mix them into one continuous playlist")
        self.mode_group = QButtonGroup(self)
        for button in (self.single_button, self.playlist_button):
            button.setCheckable(True)
            self.mode_group.addButton(button)
            row.addWidget(button)
        self.single_button.setChecked(True)
        self.playlist_button.toggled.connect(lambda on: self.set_mode(PLAYLIST if on else SINGLE))
        checked = (f"QPushButton:checked {{ background: {COLORS['accent']}; color: {COLORS['accent_text']}; "
                   f"border-color: {COLORS['accent']}; }}")
        for button in (self.templates_button, self.single_button, self.playlist_button):
            button.setStyleSheet(checked)
        return [self.templates_button, modes]

    def _build_generate_bar(self) -> QWidget:
        bar = QWidget()
        layout = QVBoxLayout(bar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.cost_label = QLabel()
        self.cost_label.setObjectName("Muted")
        self.cost_label.setWordWrap(True)
        layout.addWidget(self.cost_label)
        row = QHBoxLayout()
        row.setSpacing(8)
        variations_caption = self.variations_caption = caption("Variations")
        self.variations_spin = QSpinBox()
        self.variations_spin.setRange(1, MAX_VARIATIONS)
        self.variations_spin.setToolTip("Generate this many tracks of the same spec, each with its own seed "
                                        "(a locked seed counts up: seed, seed+1, …)")
        variations_caption.setToolTip(self.variations_spin.toolTip())
        self.generate_button = QPushButton(icon("mdi6.creation", COLORS["accent_text"]), "Generate")
        self.generate_button.setObjectName("Primary")
        self.generate_button.setToolTip("Queue the generation (Ctrl+Enter)")
        self.generate_button.setMinimumWidth(140)
        self.generate_button.clicked.connect(self.generate)
        row.addWidget(variations_caption)
        row.addWidget(self.variations_spin)
        row.addStretch(1)
        row.addWidget(self.generate_button)
        layout.addLayout(row)
        return bar

    # --- state ----------------------------------------------------------------------------------
    def _schedule_preview(self, *_args) -> None:
        self.preview_timer.start()

    # --- the form -------------------------------------------------------------------------------
    def set_prompt(self, text: str) -> None:
        self.form.set_prompt(text)

    def fields(self) -> dict[str, Any]:
        """The GenerationSpec fields the form sets (Auto fields are left out, so the prompt decides)."""
        return self.form.fields()

    def apply_fields(self, fields: dict[str, Any], *, title: str | None = None) -> None:
        """Fill the form from GenerationSpec fields (see `SpecForm.apply_fields`); what `fields` leaves
        out goes back to Auto. The hook for a template gallery."""
        self._reset_own()
        self.form.apply_fields(fields, title=title)
        self.update_preview()

    def reset_form(self) -> None:
        self.form.reset()
        self._reset_own()

    def _reset_own(self) -> None:
        """What Reset form resets besides the form: the variations and the template."""
        self.variations_spin.setValue(1)
        self.set_template(None)

    # --- the live preview -----------------------------------------------------------------------
    def update_preview(self) -> dict[str, Any] | None:
        """Resolve the form as the engine would (no audio); show it or the field that is wrong."""
        self.preview_timer.stop()
        fields = self.fields()
        self.preview_plan = None
        try:
            if self.mode == PLAYLIST:
                _tracks, plan = self.plan_playlist()
                self.preview_plan = plan
                fields = {**self.playlist_base_fields(), "duration": plan["track_duration_s"]}
            resolved = self.services.music.generation.preview(fields)
        except ValidationError as exc:
            return self._preview_failed(describe_errors(exc))
        except SingerError as exc:  # the character was deleted meanwhile
            self.form.refresh_singers()
            return self._preview_failed([("Sung by", exc.message)])
        except ValueError as exc:  # an impossible playlist plan (it names the field)
            return self._preview_failed([("Playlist", str(exc))])
        self.last_error = []
        spec = resolved.model_dump(mode="json")
        self.preview_spec = spec
        title = self.form.title_edit.text().strip() or spec["title"]
        box = self.preview_box
        box.show_spec(spec, self.services.music.catalogue.vocals_verb)
        if self.mode == PLAYLIST:
            how = "locked" if self.form.seed_lock.isChecked() else "a new one after each playlist"
            box.show_html("seed", f"<b>{self.plan_seed()}</b> {muted('· the plan’s; ' + how)}")
        elif self.form.seed_lock.isChecked():
            seeds = self._seeds()
            box.show_value("seed", str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]} … {seeds[-1]}",
                           spec["sources"].get("seed", ""))
        else:
            box.show_html("seed", f"<b>random</b> {muted('· new each time; lock it to repeat a track')}")
        if self.mode == PLAYLIST and self.preview_plan is not None:
            plan = self.preview_plan
            title = f"{self.playlist_name()} - 01 … {len(plan['tracks']):02d}"
            box.show_value("duration_s", f"{spec['duration_s']:g} s a track, "
                                         f"{self.form.playlist_options.total_spin.value():g} s mixed",
                           spec["sources"].get("duration_s", ""))
        box.show_plan(self.preview_plan if self.mode == PLAYLIST else None)
        box.show_html("title", f"<b>{escape(title)}</b>")
        self._update_cost(spec["duration_s"])
        return spec

    def _preview_failed(self, errors: list[tuple[str, str]]) -> None:
        self.last_error = errors
        self.preview_box.show_errors(errors)
        self.preview_spec = None
        self.generate_button.setEnabled(True)  # generating says the same, in a dialog
        self._update_cost(None)
        return None

    def _update_cost(self, duration_s: float | None) -> None:
        n = self.form.playlist_options.count_spin.value() if self.mode == PLAYLIST else self.variations_spin.value()
        if duration_s is None:
            self.cost_label.setText("Fix the fields above to see the cost.")
            return
        cost = credits_for(duration_s) * n
        balance = self.services.music.credits.balance()
        left = "unlimited credits" if balance is None else f"{balance:g} credits left today"
        what = f"{n} tracks" if n > 1 else "This track"
        self.cost_label.setText(f"{what} of {duration_s:g} s: {cost:g} credits ({left}).")

    # --- generating -----------------------------------------------------------------------------
    def _seeds(self) -> list[int | None]:
        n = self.variations_spin.value()
        if not self.form.seed_lock.isChecked():
            return [None] * n
        start = self.form.seed_spin.value()
        return [(start + i) % (SEED_MAX + 1) for i in range(n)]

    def generate(self) -> list[dict[str, Any]]:
        """Queue one job, or N variations (same spec, N seeds); in Playlist mode, the playlist (its
        tracks' jobs are returned). Problems open a dialog naming the field."""
        if self.mode == PLAYLIST:
            playlist = self.generate_playlist()
            return playlist["jobs"] if playlist else []
        fields = self.fields()
        title = self.form.title_edit.text().strip() or None
        prompt = fields.get("prompt")
        jobs: list[dict[str, Any]] = []
        seeds = self._seeds()
        for i, seed in enumerate(seeds):
            spec_fields = dict(fields)
            if seed is not None:
                spec_fields["seed"] = seed
            job_title = f"{title} ({i + 1})" if title and len(seeds) > 1 else title
            try:
                job = self.services.music.generation.submit_generation(spec_fields, source="gui", title=job_title,
                                                                        extra=self._extra(prompt) or None)
            except ValidationError as exc:
                self._show_invalid(exc)
                break
            except InsufficientCredits as exc:
                done = f"{len(jobs)} of {len(seeds)} queued. " if jobs else ""
                QMessageBox.warning(self, "Not enough credits", f"{done}Not queued: {exc}.")
                break
            except Exception as exc:  # a service problem: say it, don't crash the window
                QMessageBox.warning(self, "Generation not started", str(exc))
                break
            jobs.append(job)
            self._add_card(job, spec_fields)
        if jobs:
            eta = max(j.get("estimated_time_s") or 0 for j in jobs)
            what = f"{len(jobs)} variations" if len(jobs) > 1 else f"“{jobs[0]['resolved_spec']['title']}”"
            self.host.show_status(f"Queued {what}; ready in about {eta:.0f} s. Progress is in the Jobs dock.", 8000)
        self.last_jobs = jobs
        self.update_preview()
        return jobs

    def _extra(self, prompt: str | None) -> dict[str, Any]:
        """What the jobs record besides the spec: the prompt, and the template the form came from."""
        extra: dict[str, Any] = {}
        if prompt:
            extra["prompt"] = prompt
        if self.template_id:
            extra["template_id"] = self.template_id
        return extra

    def primary_action(self) -> None:
        """Ctrl+Enter: generate."""
        self.generate()

    # --- templates ------------------------------------------------------------------------------
    def show_gallery(self, show: bool = True) -> None:
        if show:
            self.gallery.refresh()  # usage counts change as generations finish
        was_visible = self.gallery.isVisibleTo(self)
        self.gallery.setVisible(show)
        if show and not was_visible:
            total = max(400, sum(self.form_splitter.sizes()))
            self.form_splitter.setSizes([total * 11 // 20, total * 9 // 20])
        if self.templates_button.isChecked() != show:
            self.templates_button.blockSignals(True)
            self.templates_button.setChecked(show)
            self.templates_button.blockSignals(False)

    def use_template(self, template_id: str) -> None:
        """Fill the form with a template's parameters; later generations record the template."""
        template = self.services.music.templates.get(template_id)
        quality = self.form.quality_combo.currentData()
        formats = [k for k, check in self.form.format_checks.items() if check.isChecked()]
        self.apply_fields(template.parameters, title=None)
        if "audio_quality" not in template.parameters:  # the template does not say: keep the user's choice
            self.form.quality_combo.setCurrentIndex(self.form.quality_combo.findData(quality))
        if "output_formats" not in template.parameters:
            for key, check in self.form.format_checks.items():
                check.setChecked(key in formats)
        self.set_template(template_id)
        self.host.show_status(f"Form filled from the template “{template.name}”; change anything before generating.",
                              5000)

    def set_template(self, template_id: str | None) -> None:
        self.template_id = template_id
        if template_id:
            template = self.services.music.templates.get(template_id)
            self.form.show_template(template.name, template.category, template.description)
        else:
            self.form.show_template(None)
        if hasattr(self, "gallery"):
            self.gallery.set_in_use(template_id)

    # --- playlist mode --------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = mode
        playlist = mode == PLAYLIST
        (self.playlist_button if playlist else self.single_button).setChecked(True)
        self.form.playlist_options.setVisible(playlist)
        self.variations_spin.setVisible(not playlist)
        self.variations_caption.setVisible(not playlist)
        self.form.duration_spin.setEnabled(not playlist)
        self.form.duration_spin.setToolTip("In Playlist mode each track's length comes from the total length and "
                                           "the track count" if playlist else self.form.duration_tip())
        self.generate_button.setText("Generate playlist" if playlist else "Generate")
        self.generate_button.setToolTip("Queue the playlist's tracks and its mix (Ctrl+Enter)" if playlist
                                        else "Queue the generation (Ctrl+Enter)")
        self.update_preview()

    def plan_seed(self) -> int:
        return self.form.seed_spin.value() if self.form.seed_lock.isChecked() else self.playlist_seed

    def playlist_base_fields(self) -> dict[str, Any]:
        """The form as every track's base (its duration and seed come from the plan)."""
        return {k: v for k, v in self.fields().items() if k not in ("duration", "seed")}

    def playlist_name(self) -> str:
        return self.form.playlist_options.name(self.form.title_edit.text().strip() or
                                          (f"{self.preview_plan['style_name']} playlist" if self.preview_plan
                                           else "Playlist"))

    def plan_playlist(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """(tracks' spec fields, plan) for the form and the playlist options; raises ValidationError
        or ValueError (an impossible plan)."""
        return plan_playlist(self.playlist_base_fields(), **self.form.playlist_options.plan_arguments(self.plan_seed()))

    def generate_playlist(self) -> dict[str, Any] | None:
        """Plan and queue the playlist (tracks + continuous mix); a card follows it."""
        try:
            tracks, plan = self.plan_playlist()
        except ValidationError as exc:
            self._show_invalid(exc)
            return None
        except ValueError as exc:
            QMessageBox.warning(self, "Check the playlist", f"The playlist was not queued.\n\n{exc}")
            return None
        self.preview_plan = plan
        name = self.playlist_name()
        try:
            playlist = self.services.music.playlists.submit_playlist(name=name, description=None, tracks=tracks, plan=plan,
                                                      source="gui", extra=self._extra(self.fields().get("prompt")))
        except ValidationError as exc:
            self._show_invalid(exc)
            return None
        except InsufficientCredits as exc:
            QMessageBox.warning(self, "Not enough credits", f"The playlist was not queued: {exc}.")
            return None
        except Exception as exc:
            QMessageBox.warning(self, "Playlist not started", str(exc))
            return None
        card = PlaylistCard(playlist["playlist_id"], name, plan)
        card.play_requested.connect(self.play_mix)
        card.library_requested.connect(self.show_playlist_in_library)
        self.jobs_view.add_playlist_card(card)
        self._refresh_playlist(card.playlist_id)
        if not self.form.seed_lock.isChecked():
            self.playlist_seed = secrets.randbelow(SEED_MAX)
        self.last_playlist = playlist
        self.last_jobs = playlist["jobs"]
        eta = max((j.get("estimated_time_s") or 0) for j in playlist["jobs"])
        self.host.show_status(f"Queued the playlist “{name}”: {len(tracks)} tracks (about {eta:.0f} s each at "
                              "most), then their mix.", 8000)
        self.update_preview()
        return playlist

    def _refresh_playlist(self, playlist_id: str) -> None:
        card = self.jobs_view.playlist_cards.get(playlist_id)
        if card is None:
            return
        try:
            card.update_state(self.services.music.playlists.playlist(playlist_id))
        except KeyError:
            pass

    def play_mix(self, playlist_id: str) -> None:
        """Play the playlist's continuous mix in the player bar (decoded off the loop)."""
        card = self.jobs_view.playlist_cards.get(playlist_id)
        player = self.host.player
        if card is None or player is None:
            return
        files = (card.state.get("mix", {}).get("result") or {}).get("files") or {}
        media_id = files.get("wav") or files.get("mp3")
        if not media_id:
            self.host.show_status("This playlist has no mix yet.", 5000)
            return
        try:
            path, _row = self.services.music.library.media_file(media_id)
        except KeyError:
            self.host.show_status("The mix file is missing.", 6000)
            return
        title = f"{card.name} (mix)"
        self.host.show_status(f"Opening {title}…", 3000)

        decode = self.services.system.read_audio

        def read():
            audio, rate = decode(path)
            return playlist_id, title, audio, rate

        self.tasks.start("mix", read)

    def _task_done(self, name: str, result: Any) -> None:
        if name == "mix" and self.host.player is not None:
            playlist_id, title, audio, rate = result
            self.host.player.load_audio(audio, rate, title)
            self.mix_playlist_id = playlist_id
            self.host.player.play()

    def _task_failed(self, name: str, message: str) -> None:
        if name == "mix":
            self.host.show_status(f"Cannot play the mix: {message}", 8000)

    def show_playlist_in_library(self, playlist_id: str) -> None:
        card = self.jobs_view.playlist_cards.get(playlist_id)
        window = self.window()
        if card is None or not card.track_ids or not hasattr(window, "show_panel"):
            return
        library = window.show_panel("library")
        show = getattr(library, "show_tracks", None)
        if callable(show):
            show(card.track_ids, search=card.name)

    # --- cards and events -----------------------------------------------------------------------
    def _show_invalid(self, exc: ValidationError) -> None:
        errors = describe_errors(exc)
        self.last_error = errors
        first = errors[0][0] if errors else ""
        for key, label in FIELD_LABELS.items():
            if label == first and key in self.form.field_widgets:
                self.form.field_widgets[key].setFocus()
                break
        text = "\n".join(f"{field}: {message}" for field, message in errors)
        QMessageBox.warning(self, f"Check {first or 'the form'}", f"The track was not queued.\n\n{text}")

    def _add_card(self, job: dict[str, Any], fields: dict[str, Any]) -> JobCard:
        card = JobCard(job, fields)
        card.reuse_requested.connect(self.reuse)
        card.library_requested.connect(self.show_in_library)
        return self.jobs_view.add_card(card)

    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "characters_changed":
            self.form.refresh_singers()
            return
        if name in JOB_EVENTS and self.jobs_view.playlist_cards:
            playlist_id = (data.get("id") if data.get("kind") == PLAYLIST_KIND
                           else (data.get("params") or {}).get("playlist_id"))
            if playlist_id in self.jobs_view.playlist_cards:
                self._refresh_playlist(playlist_id)
                return
        if name in JOB_EVENTS and data.get("kind") == GENERATE_KIND and data.get("id") in self.jobs_view.cards:
            self.jobs_view.cards[data["id"]].update_job(data)
            if name == "job_completed":
                self._update_cost(self.preview_spec["duration_s"] if self.preview_spec else None)
        elif name == "generation_progress" and data.get("generation_id") in self.jobs_view.cards:
            self.jobs_view.cards[data["generation_id"]].set_remaining(data.get("estimated_remaining_s"))

    def reuse(self, card: JobCard) -> None:
        """Fill the form with what `card`'s job rendered (its seed locked)."""
        spec = card.spec
        fields = {
            "prompt": card.fields.get("prompt"), "style": spec.get("style"), "mood": spec.get("mood"),
            "tempo": spec.get("tempo_bpm"), "key": spec.get("key"), "duration": spec.get("duration_s"),
            "instrumental": spec.get("instrumental"), "lyrics": spec.get("lyrics") or card.fields.get("lyrics"),
            "primary_instruments": card.fields.get("primary_instruments") or [],
            "complexity": spec.get("complexity"), "creativity": spec.get("creativity"), "seed": spec.get("seed"),
            "tags": spec.get("tags") or [], "output_formats": card.fields.get("output_formats"),
            "audio_quality": card.fields.get("audio_quality"),
        }
        self.apply_fields(fields)

    def show_in_library(self, track_id: str | None) -> None:
        window = self.window()
        if not track_id or not hasattr(window, "show_panel"):
            return
        library = window.show_panel("library")
        select = getattr(library, "select_track", None)
        if callable(select):
            select(track_id)

    def focus_search(self) -> None:
        """Ctrl+F: the style search."""
        self.form.style_combo.setFocus()
        self.form.style_combo.lineEdit().selectAll()
