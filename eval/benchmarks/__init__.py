"""Built-in benchmarks, one file each; importing this package registers them all."""

from . import cvbench, fewshot_cls, geometry3k, geoqa, lisa, mathvista, refcoco, superclevr  # noqa: F401
