"""The run store: where every file lives (``layout``), how it is written (``atomic``, ``results``) and what produced it
(``provenance``). May import: ``errors`` only (and pyarrow); every other stage writes through here.
"""
