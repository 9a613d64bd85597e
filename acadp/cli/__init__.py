"""The ``acadp`` command line: thin Typer commands over the stages (``main`` holds the app and the trial/dataset
commands, ``sweep`` the sweep commands, ``lira`` the stand-alone audit). May import any stage; nothing imports it.
"""
