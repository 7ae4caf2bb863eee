"""A browser of the generation templates (resources/music/templates.toml, through `services.music.templates`).

Cards with name, category / style, description, whether it sings, and how often it was used here
(counted from real generations by `TemplateService.usage()`; nothing when it was never used). A
category filter and a search box narrow the list; "Use" emits `use_requested(template_id)`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.ui.theme import COLORS, icon
from studio.ui.widgets.debounce import debounce_timer

SEARCH_DELAY_MS = 200


def _escape(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def usage_text(used: dict[str, Any] | None) -> str:
    """'Used 3 times here (2 finished)' from a usage() entry; '' when never used."""
    if not used or not used.get("generations"):
        return ""
    n = int(used["generations"])
    done = int(used.get("completed") or 0)
    text = f"Used {n} time{'s' if n != 1 else ''} here"
    return f"{text} ({done} finished)" if done != n else text


class TemplateCard(QFrame):
    def __init__(self, gallery: TemplateGallery, template: Any, style_name: str, used: dict[str, Any] | None) -> None:
        super().__init__()
        self.setObjectName("Card")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # scroll, never squash
        self.template_id = template.id
        self.template_name = template.name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(3)
        top = QHBoxLayout()
        top.setSpacing(8)
        self.name_label = QLabel(_escape(template.name))
        self.name_label.setStyleSheet("font-weight: 600;")
        self.name_label.setWordWrap(True)
        self.use_button = QPushButton(icon("mdi6.arrow-left-bold-box-outline"), "Use")
        self.use_button.setToolTip(f"Fill the form with “{template.name}” (you can change anything before generating)")
        self.use_button.clicked.connect(lambda: gallery.use_requested.emit(self.template_id))
        top.addWidget(self.name_label, 1)
        top.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(top)
        vocals = "sung lyrics" if template.has_lyrics else "instrumental"
        self.meta_label = QLabel(
            f"<span style='color:{COLORS['accent']}'>{_escape(template.category)}</span>"
            f" · {_escape(style_name)} · {vocals}")
        layout.addWidget(self.meta_label)
        self.description_label = QLabel(_escape(template.description))
        self.description_label.setObjectName("Muted")
        self.description_label.setWordWrap(True)
        layout.addWidget(self.description_label)
        self.usage_label = QLabel(usage_text(used))
        self.usage_label.setObjectName("Muted")
        self.usage_label.setVisible(bool(self.usage_label.text()))
        layout.addWidget(self.usage_label)
        self.setToolTip(", ".join(template.tags))

    def set_in_use(self, in_use: bool) -> None:
        self.in_use = in_use
        self.name_label.setText(_escape(self.template_name) + (
            f" <span style='color:{COLORS['accent']}'>· in use</span>" if in_use else ""))
        self.use_button.setText("Use again" if in_use else "Use")


class TemplateGallery(QWidget):
    use_requested = Signal(str)  # template id
    close_requested = Signal()

    def __init__(self, templates_service: Any, style_names: dict[str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = templates_service
        self.style_names = style_names or {}
        self.cards: dict[str, TemplateCard] = {}
        self.in_use: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        row = QHBoxLayout()
        row.setSpacing(6)
        title = QLabel("Templates")
        title.setStyleSheet("font-weight: 600;")
        self.category_combo = QComboBox()
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("Search templates")
        self.search_edit.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("Muted")
        self.close_button = QPushButton(icon("mdi6.close"), "")
        self.close_button.setToolTip("Hide the templates")
        self.close_button.clicked.connect(self.close_requested.emit)
        row.addWidget(title)
        row.addWidget(self.category_combo)
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.count_label)
        row.addWidget(self.close_button)
        layout.addLayout(row)
        content = QWidget()
        self.cards_layout = QVBoxLayout(content)
        self.cards_layout.setContentsMargins(0, 0, 4, 0)
        self.cards_layout.setSpacing(6)
        self.empty_label = QLabel("No template matches.")
        self.empty_label.setObjectName("Muted")
        self.cards_layout.addWidget(self.empty_label)
        self.cards_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        layout.addWidget(self.scroll, 1)

        self.search_timer = debounce_timer(self, SEARCH_DELAY_MS, self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self.search_timer.start())
        self.category_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self._fill_categories()
        self.refresh()

    def _fill_categories(self) -> None:
        self.category_combo.blockSignals(True)
        self.category_combo.clear()
        categories = self.service.categories()
        self.category_combo.addItem(f"All categories ({sum(c['count'] for c in categories)})", None)
        for category in categories:
            self.category_combo.addItem(f"{category['name'].capitalize()} ({category['count']})", category["name"])
        self.category_combo.blockSignals(False)

    def set_category(self, category: str | None) -> None:
        self.category_combo.setCurrentIndex(max(0, self.category_combo.findData(category)))

    def template_ids(self) -> list[str]:
        return list(self.cards)

    def refresh(self) -> None:
        """Re-read the templates matching the category and search, with their usage."""
        self.search_timer.stop()
        found = self.service.search(category=self.category_combo.currentData(),
                                    search=self.search_edit.text().strip() or None)
        usage = self.service.usage()
        for card in self.cards.values():
            self.cards_layout.removeWidget(card)
            card.hide()  # gone at once, not when the deferred delete runs
            card.deleteLater()
        self.cards = {}
        for index, template in enumerate(found):
            style_name = self.style_names.get(template.subcategory, template.subcategory.replace("_", " "))
            card = TemplateCard(self, template, style_name, usage.get(template.id))
            card.set_in_use(template.id == self.in_use)
            self.cards_layout.insertWidget(1 + index, card)
            self.cards[template.id] = card
        self.empty_label.setVisible(not found)
        total = len(self.service.templates)
        self.count_label.setText(f"{len(found)} of {total}" if len(found) != total else f"{total}")

    def set_in_use(self, template_id: str | None) -> None:
        self.in_use = template_id
        for tid, card in self.cards.items():
            card.set_in_use(tid == template_id)
