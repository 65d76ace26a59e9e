"""Entry script of the packaged app: the same start-up as ``python main.py``.

``freeze_support`` must run first in a frozen program, or any library that
starts a multiprocessing worker would re-launch the whole editor instead.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from qil_editor.app import main

    sys.exit(main(sys.argv[1:]))
