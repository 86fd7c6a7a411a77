"""The Discord bot (``alignment-qa discord``): formatting, answer sources, limits, thread history, the client.

Only ``bot`` imports discord.py; the other modules are plain Python and unit-tested as such.
"""
