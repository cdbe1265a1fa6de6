"""conal: learning from crowds on a fast Rust core.

- :mod:`conal.aggregation` — crowd-kit compatible label aggregation (``MajorityVote``,
  ``DawidSkene``, ``GLAD`` and eight more, ``BinaryRelevance`` for multi-label answers among
  them): change only the import.
- :mod:`conal.learning` — scikit-learn shaped estimators that train a classifier from crowd
  labels (``CoNAL``, ``CrowdLayer``, ``AnnotMix``, ``MaDL``, ``AggregatedClassifier``); every
  fitted one pickles, and the crowd models report each annotator's confusion.
- :mod:`conal.metrics` — crowd-kit's agreement metrics and a spammer score.
- :mod:`conal.postprocessing` — crowd-kit's ``entropy_threshold``.
- :func:`load` — read a checkpoint directory written by ``conal train --save-dir`` or by an
  estimator's ``save``.
"""

from . import aggregation, learning, metrics, postprocessing
from ._conal import __version__
from .learning import load

__all__ = ["aggregation", "learning", "metrics", "postprocessing", "load", "__version__"]
