"""`python -m edumon`: the same as the `edumon` command."""

from edumon.cli import main

main()
