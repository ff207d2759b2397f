"""jaxloss: pure, jittable loss functions for JAX.

Every loss takes its data first and its options as keywords, and shares ``reduction``,
``where`` and ``weights``; see :func:`reduce_loss` for the rule. :func:`names` lists the
losses, :func:`get` looks one up by name or alias, ``python -m jaxloss`` prints the
catalogue.
"""

# The shared machinery, the registry and composition.
from jaxloss._compose import Combined as Combined
from jaxloss._compose import combine as combine
from jaxloss._core import Range as Range
from jaxloss._core import checked as checked
from jaxloss._core import reduce_loss as reduce_loss
from jaxloss._registry import Loss as Loss
from jaxloss._registry import LossInfo as LossInfo
from jaxloss._registry import aliases as aliases
from jaxloss._registry import get as get
from jaxloss._registry import info as info
from jaxloss._registry import names as names

# Each family module lists its public names (aliases included) in __all__ and registers
# its losses on import.
from jaxloss._binary import *  # isort: skip
from jaxloss._classification import *  # isort: skip
from jaxloss._divergence import *  # isort: skip
from jaxloss._large_vocab import *  # isort: skip
from jaxloss._margin import *  # isort: skip
from jaxloss._metric import *  # isort: skip
from jaxloss._ranking import *  # isort: skip
from jaxloss._regression import *  # isort: skip
from jaxloss._segmentation import *  # isort: skip
from jaxloss._sequence import *  # isort: skip
from jaxloss._self_supervised import *  # isort: skip
from jaxloss._sparsemax import *  # isort: skip

__version__ = "0.1.0"
