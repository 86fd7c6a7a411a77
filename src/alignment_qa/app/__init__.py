"""User-facing surfaces: the command line (``cli``) and its terminal output (``render``).

The web UI and HTTP API will live here too; they call the same core as the CLI.
"""
