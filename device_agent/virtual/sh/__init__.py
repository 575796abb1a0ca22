"""Parts of the virtual phone's shell, one module per concern or command family.

shell.py holds the parser and evaluator and the registry (`COMMANDS`, `@command`); the
modules here add to that registry when imported (shell.py imports them at its end), so the
benchmark tool, dumpsys and the device can be reached from commands without an import circle.
"""
