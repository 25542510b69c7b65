"""Guided lessons: the study notes' claims, set up on the playground and checked live.

A lesson is data (``app/lessons/data/<name>.toml``, read by :mod:`app.lessons.model`): the
config it starts from, then steps, each with what to do, which panel to watch, and checks that
compare the live numbers (:mod:`app.lessons.facts`) with the claim (:mod:`app.lessons.progress`).
The page draws the current step as the ``lesson`` region; scripts read the same verdicts from
``GET /api/sessions/{id}/lesson`` (:mod:`app.lessons.routes`).
"""
