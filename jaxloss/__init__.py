"""jaxloss: pure, jittable loss functions for JAX.

Every loss takes its data first and its options as keywords, and shares ``reduction``,
``where`` and ``weights``; see [`reduce_loss`][jaxloss.reduce_loss] for the rule.
[`names`][jaxloss.names] lists the losses, [`get`][jaxloss.get] looks one up by name or
alias, ``python -m jaxloss`` prints the catalogue.
"""

# The shared machinery, the registry and composition.
from jaxloss._compose import Combined as Combined
from jaxloss._compose import combine as combine
from jaxloss._compose import make_fenchel_young_loss as make_fenchel_young_loss
from jaxloss._core import Range as Range
from jaxloss._core import checked as checked
from jaxloss._core import reduce_loss as reduce_loss
from jaxloss._registry import Loss as Loss
from jaxloss._registry import LossInfo as LossInfo
from jaxloss._registry import aliases as aliases
from jaxloss._registry import get as get
from jaxloss._registry import info as info
from jaxloss._registry import names as names

# Public helpers that are not losses.
from jaxloss._classification import smooth_labels as smooth_labels  # isort: skip
from jaxloss._large_vocab import default_chunk_size as default_chunk_size  # isort: skip
from jaxloss._large_vocab import linear_log_probs as linear_log_probs  # isort: skip
from jaxloss._metric import pairwise_distance as pairwise_distance  # isort: skip
from jaxloss._preference import sequence_log_probs as sequence_log_probs  # isort: skip
from jaxloss._sequence import (  # isort: skip
    ctc_loss_with_forward_probs as ctc_loss_with_forward_probs,
)

__version__ = "0.1.0"

__all__ = [
    "Combined",
    "Loss",
    "LossInfo",
    "Range",
    "aliases",
    "checked",
    "combine",
    "ctc_loss_with_forward_probs",
    "default_chunk_size",
    "get",
    "info",
    "linear_log_probs",
    "make_fenchel_young_loss",
    "names",
    "pairwise_distance",
    "reduce_loss",
    "sequence_log_probs",
    "smooth_labels",
]

# Every registered loss, under its name and each of its aliases. Importing a family module
# registers its losses; the registry is the one list, and this block is written from it.
# --- generated from the registry by `python docs/gen_pages.py`: do not edit ---
from jaxloss._binary import binary_cross_entropy as binary_cross_entropy
from jaxloss._binary import binary_focal_loss as binary_focal_loss
from jaxloss._binary import sigmoid_binary_cross_entropy as sigmoid_binary_cross_entropy
from jaxloss._binary import sigmoid_focal_loss as sigmoid_focal_loss
from jaxloss._classification import categorical_cross_entropy as categorical_cross_entropy
from jaxloss._classification import categorical_focal_loss as categorical_focal_loss
from jaxloss._classification import (
    categorical_generalized_cross_entropy as categorical_generalized_cross_entropy,
)
from jaxloss._classification import nll_loss as negative_log_likelihood
from jaxloss._classification import nll_loss as nll_loss
from jaxloss._classification import poly_loss_cross_entropy as poly_loss_cross_entropy
from jaxloss._classification import (
    poly_loss_cross_entropy_with_integer_labels as poly_loss_cross_entropy_with_integer_labels,
)
from jaxloss._classification import softmax_cross_entropy as safe_softmax_cross_entropy
from jaxloss._classification import softmax_cross_entropy as softmax_cross_entropy
from jaxloss._classification import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_indices,
)
from jaxloss._classification import (
    softmax_cross_entropy_with_integer_labels as softmax_cross_entropy_with_integer_labels,
)
from jaxloss._classification import (
    softmax_cross_entropy_with_integer_labels as sparse_softmax_cross_entropy,
)
from jaxloss._classification import softmax_focal_loss as softmax_focal_loss
from jaxloss._classification import (
    softmax_focal_loss_with_integer_labels as softmax_focal_loss_with_integer_labels,
)
from jaxloss._classification import z_loss as z_loss
from jaxloss._detection import complete_box_iou_loss as complete_box_iou_loss
from jaxloss._detection import distance_box_iou_loss as distance_box_iou_loss
from jaxloss._detection import generalized_box_iou_loss as generalized_box_iou_loss
from jaxloss._divergence import generalized_kl_divergence as convex_kl_divergence
from jaxloss._divergence import generalized_kl_divergence as generalized_kl_divergence
from jaxloss._divergence import jensen_shannon_divergence as jensen_shannon_divergence
from jaxloss._divergence import kl_divergence as kl_divergence
from jaxloss._divergence import kl_divergence_with_log_targets as kl_divergence_with_log_targets
from jaxloss._large_vocab import (
    linear_jensen_shannon_divergence as linear_jensen_shannon_divergence,
)
from jaxloss._large_vocab import linear_kl_divergence as linear_kl_divergence
from jaxloss._large_vocab import (
    linear_softmax_cross_entropy_with_integer_labels as linear_softmax_cross_entropy_with_integer_labels,
)
from jaxloss._margin import categorical_hinge_loss as categorical_hinge_loss
from jaxloss._margin import hinge_loss as hinge_loss
from jaxloss._margin import multi_margin_loss as multi_margin_loss
from jaxloss._margin import multiclass_hinge_loss as multiclass_hinge_loss
from jaxloss._margin import multiclass_perceptron_loss as multiclass_perceptron_loss
from jaxloss._margin import multilabel_margin_loss as multilabel_margin_loss
from jaxloss._margin import multilabel_soft_margin_loss as multilabel_soft_margin_loss
from jaxloss._margin import perceptron_loss as perceptron_loss
from jaxloss._margin import soft_margin_loss as soft_margin_loss
from jaxloss._margin import squared_hinge_loss as squared_hinge_loss
from jaxloss._metric import contrastive_loss as contrastive_loss
from jaxloss._metric import cosine_embedding_loss as cosine_embedding_loss
from jaxloss._metric import hinge_embedding_loss as hinge_embedding_loss
from jaxloss._metric import margin_ranking_loss as margin_ranking_loss
from jaxloss._metric import triplet_margin_loss as triplet_margin_loss
from jaxloss._metric import triplet_margin_with_distance_loss as triplet_margin_with_distance_loss
from jaxloss._preference import cpo_loss as cpo_loss
from jaxloss._preference import dpo_loss as dpo_loss
from jaxloss._preference import kto_loss as kto_loss
from jaxloss._preference import orpo_loss as orpo_loss
from jaxloss._preference import simpo_loss as simpo_loss
from jaxloss._ranking import listmle_loss as listmle_loss
from jaxloss._ranking import pairwise_hinge_loss as pairwise_hinge_loss
from jaxloss._ranking import pairwise_logistic_loss as pairwise_logistic_loss
from jaxloss._ranking import pairwise_mse_loss as pairwise_mse_loss
from jaxloss._ranking import pairwise_qr_loss as pairwise_qr_loss
from jaxloss._ranking import pairwise_soft_zero_one_loss as pairwise_soft_zero_one_loss
from jaxloss._ranking import pointwise_mse_loss as pointwise_mse_loss
from jaxloss._ranking import pointwise_sigmoid_loss as pointwise_sigmoid_loss
from jaxloss._ranking import poly1_softmax_loss as poly1_softmax_loss
from jaxloss._ranking import ranking_softmax_loss as ranking_softmax_loss
from jaxloss._ranking import unique_softmax_loss as unique_softmax_loss
from jaxloss._regression import absolute_error as absolute_error
from jaxloss._regression import absolute_error as mae
from jaxloss._regression import absolute_percentage_error as absolute_percentage_error
from jaxloss._regression import absolute_percentage_error as mape
from jaxloss._regression import cosine_distance as cosine_distance
from jaxloss._regression import cosine_similarity as cosine_similarity
from jaxloss._regression import gaussian_nll_loss as gaussian_nll_loss
from jaxloss._regression import huber_loss as huber_loss
from jaxloss._regression import l2_loss as l2_loss
from jaxloss._regression import log_cosh as log_cosh
from jaxloss._regression import poisson_loss as poisson_loss
from jaxloss._regression import poisson_nll_loss as poisson_nll_loss
from jaxloss._regression import quantile_loss as pinball_loss
from jaxloss._regression import quantile_loss as quantile_loss
from jaxloss._regression import smooth_l1_loss as smooth_l1_loss
from jaxloss._regression import squared_error as mse
from jaxloss._regression import squared_error as squared_error
from jaxloss._regression import squared_logarithmic_error as msle
from jaxloss._regression import squared_logarithmic_error as squared_logarithmic_error
from jaxloss._segmentation import binary_dice_loss as binary_dice_loss
from jaxloss._segmentation import dice_loss as dice_loss
from jaxloss._segmentation import generalized_dice_loss as generalized_dice_loss
from jaxloss._segmentation import (
    multiclass_generalized_dice_loss as multiclass_generalized_dice_loss,
)
from jaxloss._segmentation import tversky_loss as tversky_loss
from jaxloss._self_supervised import circle_loss as circle_loss
from jaxloss._self_supervised import clip_loss as clip_loss
from jaxloss._self_supervised import ntxent as ntxent
from jaxloss._self_supervised import siglip_loss as siglip_loss
from jaxloss._sequence import ctc_loss as ctc_loss
from jaxloss._sparsemax import multiclass_sparsemax_loss as multiclass_sparsemax_loss
from jaxloss._sparsemax import sparsemax_loss as sparsemax_loss

__all__ += [
    "absolute_error",
    "absolute_percentage_error",
    "binary_cross_entropy",
    "binary_dice_loss",
    "binary_focal_loss",
    "categorical_cross_entropy",
    "categorical_focal_loss",
    "categorical_generalized_cross_entropy",
    "categorical_hinge_loss",
    "circle_loss",
    "clip_loss",
    "complete_box_iou_loss",
    "contrastive_loss",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cpo_loss",
    "ctc_loss",
    "dice_loss",
    "distance_box_iou_loss",
    "dpo_loss",
    "gaussian_nll_loss",
    "generalized_box_iou_loss",
    "generalized_dice_loss",
    "generalized_kl_divergence",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "jensen_shannon_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "kto_loss",
    "l2_loss",
    "linear_jensen_shannon_divergence",
    "linear_kl_divergence",
    "linear_softmax_cross_entropy_with_integer_labels",
    "listmle_loss",
    "log_cosh",
    "mae",
    "mape",
    "margin_ranking_loss",
    "mse",
    "msle",
    "multi_margin_loss",
    "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "negative_log_likelihood",
    "nll_loss",
    "ntxent",
    "orpo_loss",
    "pairwise_hinge_loss",
    "pairwise_logistic_loss",
    "pairwise_mse_loss",
    "pairwise_qr_loss",
    "pairwise_soft_zero_one_loss",
    "perceptron_loss",
    "pinball_loss",
    "pointwise_mse_loss",
    "pointwise_sigmoid_loss",
    "poisson_loss",
    "poisson_nll_loss",
    "poly1_softmax_loss",
    "poly_loss_cross_entropy",
    "poly_loss_cross_entropy_with_integer_labels",
    "quantile_loss",
    "ranking_softmax_loss",
    "safe_softmax_cross_entropy",
    "siglip_loss",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "simpo_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_indices",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal_loss",
    "softmax_focal_loss_with_integer_labels",
    "sparse_softmax_cross_entropy",
    "sparsemax_loss",
    "squared_error",
    "squared_hinge_loss",
    "squared_logarithmic_error",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "tversky_loss",
    "unique_softmax_loss",
    "z_loss",
]
# --- end of the generated exports ---
