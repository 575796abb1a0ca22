"""Parts of the virtual phone's shell, one module per concern or command family.

api.py is the base (the `COMMANDS` registry, `@command`, IO, CmdError); the command families
here import it and register when imported (shell.py, the evaluator, imports them at its end),
and never import the evaluator back. programs.py says what runs when a file is executed (the
benchmark tool registers itself there), so the shell never imports the benchmark tool.
"""
