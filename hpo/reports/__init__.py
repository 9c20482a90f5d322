"""What a person reads back: leaderboard tables, exports (:mod:`.tables`), figures (:mod:`.plots`).

Named ``reports`` (not ``reporting``) so it is not confused with ``Reporter.report()``,
the learning-curve call a running trial makes.
"""
