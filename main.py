"""Start QIL Editor from a source checkout.

    python main.py [FILE...] [--decompose] [--engine E] [--layers N] [--screenshot OUT.png]

Same as the installed ``qil-editor`` command (see ``qil_editor.app``).
"""

import sys

from qil_editor.app import main

if __name__ == "__main__":
    sys.exit(main())
