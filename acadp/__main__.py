"""``python -m acadp`` — the same command line as the ``acadp`` script (used as the Ray Jobs entry point)."""

from acadp.cli.main import main

if __name__ == "__main__":
    main()
