"""Trainable model families for hpo, each behind one Trainer interface (see hpo.objective)."""
