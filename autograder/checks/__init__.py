"""Reusable checks for hidden tests: models, training logs, timing, statistics over seeds.

Each check raises AssertionError with a message written for the student:
what is wrong and what to look at, never the expected answer's code.
"""
