"""Typed access to the editor's QSettings.

The QSettings object is passed in (the app makes one with the organisation
and application names; tests make one on a temporary ini file), so nothing
here reads the user's settings behind a caller's back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from ..errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .worker import DecomposeRequest

ORGANIZATION = "QIL"
APPLICATION = "QIL Editor"
MAX_RECENT = 10
DEFAULT_AUTOSAVE_S = 60


def user_settings() -> QSettings:
    """The real user's settings (an ini file in the user's config folder)."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION)


def _bool(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _int(value, default: int | None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


class AppSettings:
    def __init__(self, qsettings: QSettings) -> None:
        self.q = qsettings

    def _get(self, key: str, default=None):
        return self.q.value(key, default)

    def sync(self) -> None:
        self.q.sync()

    # ----- engine / model ----------------------------------------------------------------
    @property
    def model_dir(self) -> str:
        return str(self._get("model/folder", "") or "")

    @model_dir.setter
    def model_dir(self, value: str) -> None:
        self.q.setValue("model/folder", value or "")

    @property
    def edit_model_dir(self) -> str:
        """Qwen-Image-Edit's folder for Re-prompt ("" = search the usual places)."""
        return str(self._get("model/edit_folder", "") or "")

    @edit_model_dir.setter
    def edit_model_dir(self, value: str) -> None:
        self.q.setValue("model/edit_folder", value or "")

    @property
    def device(self) -> str:
        return str(self._get("model/device", "auto") or "auto")

    @device.setter
    def device(self, value: str) -> None:
        self.q.setValue("model/device", value)

    @property
    def memory(self) -> str:
        return str(self._get("model/memory", "auto") or "auto")

    @memory.setter
    def memory(self, value: str) -> None:
        self.q.setValue("model/memory", value)

    @property
    def engine(self) -> str:
        return str(self._get("decompose/engine", "auto") or "auto")

    @engine.setter
    def engine(self, value: str) -> None:
        self.q.setValue("decompose/engine", value)

    @property
    def decompose_on_open(self) -> bool:
        return _bool(self._get("decompose/on_open"), False)

    @decompose_on_open.setter
    def decompose_on_open(self, value: bool) -> None:
        self.q.setValue("decompose/on_open", bool(value))

    def decompose_request(self) -> DecomposeRequest:
        """The last used (or default) engine and options, with the model settings applied."""
        # the engines' module (and the document model it imports) is not needed for the window
        from ..engines.base import DecomposeOptions
        from .worker import DecomposeRequest

        base = DecomposeOptions()
        layers_raw = self._get("decompose/layers", base.layers)
        layers = None if str(layers_raw).lower() in ("auto", "none", "") else _int(layers_raw, base.layers)
        seed_raw = self._get("decompose/seed", "")
        seed = None if seed_raw in (None, "", "random") else _int(seed_raw, None)
        try:
            options = DecomposeOptions(
                layers=layers,
                resolution=_int(self._get("decompose/resolution"), base.resolution),
                steps=_int(self._get("decompose/steps"), base.steps),
                cfg_scale=_float(self._get("decompose/cfg"), base.cfg_scale),
                seed=seed,
                prompt=str(self._get("decompose/prompt", "") or ""),
                device=self.device,
                memory=self.memory,
                model_dir=self.model_dir or None,
            )
        except UsageError:  # a hand-edited settings file: fall back to defaults
            options = base.with_changes(device=self.device, memory=self.memory,
                                        model_dir=self.model_dir or None)
        return DecomposeRequest(self.engine, options)

    def remember_request(self, request: DecomposeRequest) -> None:
        o = request.options
        self.engine = request.engine
        self.q.setValue("decompose/layers", "auto" if o.layers is None else int(o.layers))
        self.q.setValue("decompose/resolution", int(o.resolution))
        self.q.setValue("decompose/steps", int(o.steps))
        self.q.setValue("decompose/cfg", float(o.cfg_scale))
        self.q.setValue("decompose/seed", "" if o.seed is None else int(o.seed))
        self.q.setValue("decompose/prompt", o.prompt)

    # ----- files ----------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        value = self._get("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str) -> None:
        files = [path] + [p for p in self.recent_files if p != path]
        self.q.setValue("files/recent", files[:MAX_RECENT])

    def remove_recent(self, path: str) -> None:
        self.q.setValue("files/recent", [p for p in self.recent_files if p != path])

    @property
    def last_folder(self) -> str:
        return str(self._get("files/last_folder", "") or "")

    @last_folder.setter
    def last_folder(self, value: str) -> None:
        self.q.setValue("files/last_folder", value)

    @property
    def last_save_folder(self) -> str:
        """Where the last save or export went (save dialogs start there)."""
        return str(self._get("files/last_save_folder", "") or "")

    @last_save_folder.setter
    def last_save_folder(self, value: str) -> None:
        self.q.setValue("files/last_save_folder", value)

    @property
    def autosave_seconds(self) -> int:
        return max(5, _int(self._get("files/autosave_s"), DEFAULT_AUTOSAVE_S) or DEFAULT_AUTOSAVE_S)

    @autosave_seconds.setter
    def autosave_seconds(self, value: int) -> None:
        self.q.setValue("files/autosave_s", int(value))

    # ----- window -------------------------------------------------------------------
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self._get("window/geometry"), self._get("window/state")

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)
