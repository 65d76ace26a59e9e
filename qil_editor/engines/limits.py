"""How many layers a decomposition may ask for (the engines, the dialog and both command lines).

A module of its own, with no imports, so the editor's command line can state the range
without loading the engines' module (and the document model it imports) at start-up.
"""

MIN_LAYERS, MAX_LAYERS = 2, 10
