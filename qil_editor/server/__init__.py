"""The QIL model server on Ray Serve (``qil serve``) and its wire protocol.

``protocol`` is stdlib + numpy + Pillow and is shared with the remote engine
(``engines/remote.py``) in every build; ``service`` is the Ray-free replica
logic; ``app`` builds the Ray Serve application and is the only module here
that imports Ray.
"""
