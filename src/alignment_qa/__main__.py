"""Allow ``python -m alignment_qa``: runs the command-line interface."""

from alignment_qa.app.cli import main

if __name__ == "__main__":
    main()
