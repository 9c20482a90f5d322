"""Trainable model families for hpo, each behind one Trainer interface (see hpo.objective).

This folder sits at the repository's top level but is installed as ``hpo.models``
(``package-dir`` in pyproject.toml): import it as ``hpo.models``, never as ``models``,
which would collide with the many other projects that have a ``models`` package.
"""

if __name__ != "hpo.models":  # imported from a checkout as the bare top-level ``models``
    raise ImportError(
        f"hpo's model families are the package 'hpo.models', not {__name__!r}: "
        "write 'from hpo.models... import ...'."
    )
