"""Allow `python -m crisiswatch`."""

from crisiswatch.cli import main

main()
