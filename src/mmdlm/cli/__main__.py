"""`python -m mmdlm.cli`."""

from mmdlm.cli.app import main

main()
