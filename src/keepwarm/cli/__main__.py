"""`python -m keepwarm.cli`: the same as the `keepwarm` command."""

from keepwarm.cli.app import main

main()
