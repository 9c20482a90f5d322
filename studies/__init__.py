"""Example study files; installed as ``hpo.examples`` (``hpo examples`` lists them)."""
