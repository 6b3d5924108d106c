"""One module per ``rft`` command: ``add_parser(subparsers)`` declares its flags, ``run(args, ctx)`` calls the
library (``rft/*.py``) and prints. ``rft.cli`` registers them in ``COMMANDS`` order (the ``--help`` order)."""
