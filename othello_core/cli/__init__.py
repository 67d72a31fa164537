"""``python -m othello_core`` / ``othello-gpt``: the board and generate commands (torch-free) and the
model commands (their modules imported when the command runs)."""
