"""conal: learning from crowds on a fast Rust core.

- :mod:`conal.aggregation` — crowd-kit compatible label aggregation (``MajorityVote``,
  ``DawidSkene``, ``GLAD``): change only the import.
- :mod:`conal.learning` — scikit-learn shaped estimators that train a classifier from crowd
  labels (``CoNAL``, ``CrowdLayer``, ``AnnotMix``, ``AggregatedClassifier``).
- :func:`load` — read a checkpoint directory written by ``conal train --save-dir`` or by an
  estimator's ``save``.
"""

from . import aggregation, learning
from ._conal import __version__
from .learning import load

__all__ = ["aggregation", "learning", "load", "__version__"]
