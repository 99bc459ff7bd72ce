"""The optional NumPy executor (``pip install 'tconvcalc[numpy]'``): runs a layer on numbers.

Nothing here is imported by the shape calculator itself; the commands in
:mod:`tconvcalc.cli.numeric` import these modules (and numpy) only when they run.
"""
