"""The editor's side of the model server: Preferences fields, where the token is kept, remote engines.

Preferences → Model server holds the server URL and token. The token goes
to the system keyring when the ``keyring`` package and a working backend are
there; otherwise into the settings file, and the Preferences section says so
in plain words. With a URL set, the window's engine registry gets the
``remote`` engine (the Decompose dialog lists it as "Remote: HOST"), and
Re-prompt runs on the server when "Re-prompt on the server" is ticked or
when this computer has no edit weights.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QLabel, QLineEdit

KEY_URL = "server/url"
KEY_TOKEN = "server/token"
KEY_REPROMPT = "server/reprompt"
KEYRING_SERVICE = "qil-editor model server"

PLAINTEXT_WARNING = ("No system keyring is available: the token is stored in the settings file "
                     "in plain text. Protect that file, or use a keyring.")


def system_keyring():
    """The ``keyring`` module when it has a working backend, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        if isinstance(keyring.get_keyring(), fail.Keyring):
            return None
    except Exception:  # noqa: BLE001 - a broken backend is the same as none
        return None
    return keyring


class ServerPrefs:
    """URL and token from QSettings and the keyring (``keyring=None``: settings only)."""

    _DEFAULT = object()

    def __init__(self, qsettings, keyring=_DEFAULT) -> None:
        self.q = qsettings
        self.keyring = system_keyring() if keyring is ServerPrefs._DEFAULT else keyring

    @property
    def url(self) -> str:
        return str(self.q.value(KEY_URL, "") or "").strip()

    @property
    def reprompt_on_server(self) -> bool:
        return str(self.q.value(KEY_REPROMPT, "false")).lower() in ("true", "1")

    @property
    def token_in_settings(self) -> bool:
        return bool(self.q.value(KEY_TOKEN, ""))

    def token(self) -> str | None:
        if self.keyring is not None and self.url:
            try:
                value = self.keyring.get_password(KEYRING_SERVICE, self.url)
                if value:
                    return value
            except Exception:  # noqa: BLE001 - fall back to the settings file
                pass
        return str(self.q.value(KEY_TOKEN, "") or "") or None

    def save(self, url: str, token: str | None, reprompt_on_server: bool = False) -> str:
        """Store the settings; returns a warning to show ('' when the token is safe or absent)."""
        from ..engines.remote import RemoteClient

        url = url.strip()
        if url:
            RemoteClient(url)  # UsageError for something that is not an http(s) URL
        self.q.setValue(KEY_URL, url)
        self.q.setValue(KEY_REPROMPT, "true" if reprompt_on_server else "false")
        token = (token or "").strip()
        if self.keyring is not None and url:
            try:
                if token:
                    self.keyring.set_password(KEYRING_SERVICE, url, token)
                self.q.remove(KEY_TOKEN)
                return ""
            except Exception:  # noqa: BLE001 - keyring refused: keep it in the settings, say so
                pass
        if token:
            self.q.setValue(KEY_TOKEN, token)
            return PLAINTEXT_WARNING
        self.q.remove(KEY_TOKEN)
        return ""


def register_remote_engines(registry, qsettings, keyring=ServerPrefs._DEFAULT) -> None:
    """Add (or replace, or take away) the ``remote`` engine for the configured server."""
    from ..engines.remote import register_remote

    prefs = ServerPrefs(qsettings, keyring)
    if prefs.url:
        register_remote(registry, prefs.url, prefs.token())
    elif "remote" in registry.names:
        registry.register("remote", _NoServer)


class _NoServer:
    """Stands in for a removed server until the registry is rebuilt."""

    name = "remote"
    label = "Remote (no server set)"

    def availability(self, options=None):
        from ..engines.base import Availability

        return Availability(False, "no model server is set in Preferences.")

    def decompose(self, *args, **kwargs):
        from ..errors import UsageError

        raise UsageError("No model server is set.", "Set one in Edit > Preferences > Model server.")


def remote_editor(window):
    """The RemoteLayerEditor to re-prompt with, or None to edit on this computer."""
    from ..engines.remote import RemoteLayerEditor

    settings = getattr(window, "settings", None)
    qsettings = getattr(settings, "q", None)
    if qsettings is None:
        return None
    prefs = ServerPrefs(qsettings)
    if not prefs.url:
        return None
    cached = getattr(window, "_qil_remote_editor", None)
    if cached is not None and cached.client.url == prefs.url and cached.client.token == prefs.token():
        return cached
    editor = RemoteLayerEditor(prefs.url, prefs.token())
    window._qil_remote_editor = editor
    return editor


def after_preferences(window) -> None:
    """Preferences were accepted: the registry's remote engine follows the new server settings."""
    registry = getattr(window.jobs, "_registry", None)
    if registry is not None:
        register_remote_engines(registry, window.settings.q)
    window._qil_remote_editor = None


class ServerSection(QGroupBox):
    """Preferences → Model server: URL, token, re-prompt there, and where the token is kept."""

    def __init__(self, qsettings, parent=None) -> None:
        super().__init__("Model server (qil serve)", parent)
        self.prefs = ServerPrefs(qsettings)
        self.url = QLineEdit(self.prefs.url)
        self.url.setPlaceholderText("http://gpu-box:8790 (empty: this computer only)")
        self.token = QLineEdit(self.prefs.token() or "")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("the server's token")
        self.reprompt = QCheckBox("Re-prompt on the server")
        self.reprompt.setChecked(self.prefs.reprompt_on_server)
        self.note = QLabel()
        self.note.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Server URL", self.url)
        form.addRow("Token", self.token)
        form.addRow("", self.reprompt)
        form.addRow(self.note)
        self.token.textChanged.connect(self._update_note)
        self._update_note()

    def _update_note(self, *_args) -> None:
        plain = self.prefs.keyring is None and bool(self.token.text().strip())
        self.note.setText(PLAINTEXT_WARNING if plain else
                          ("The token is kept in the system keyring." if self.token.text().strip() else ""))
        self.note.setStyleSheet("color: #ffb74d;" if plain else "")

    def save(self) -> str:
        return self.prefs.save(self.url.text(), self.token.text(), self.reprompt.isChecked())
