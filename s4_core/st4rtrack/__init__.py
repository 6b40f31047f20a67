"""St4RTrack: the DUSt3R-family network that tracks and reconstructs in one anchor frame.

Public entry points: :class:`St4RTrackConfig`, :class:`St4RTrackNet`, :func:`load_st4rtrack`,
:class:`St4RTrackPredictor`, :class:`St4RTrackTracker`, :class:`St4RTrackBackend` (the
streaming tracker's backend, on the shipped weights by default), :func:`adapt` (test-time
adaptation) and :func:`adapt_with_geometric_labels`. Training: :mod:`s4_core.st4rtrack.training`.
"""

from s4_core.st4rtrack.backend import DEFAULT_WEIGHTS, BackendConfig, St4RTrackBackend, default_predictor
from s4_core.st4rtrack.checkpoint import CheckpointError, load_st4rtrack, save_official_pth, save_safetensors
from s4_core.st4rtrack.checkpoint_args import config_from_args, config_to_args
from s4_core.st4rtrack.config import St4RTrackConfig
from s4_core.st4rtrack.inference import PairPredictor, St4RTrackPredictor, WindowPointmaps
from s4_core.st4rtrack.model import PairPrediction, St4RTrackNet
from s4_core.st4rtrack.preprocess import InputCrop, images_to_input, plan_input_crop
from s4_core.st4rtrack.pseudo_labels import adapt_with_geometric_labels, geometric_pseudo_labels
from s4_core.st4rtrack.tracker import St4RTrackTracker, TrackerConfig
from s4_core.st4rtrack.tta import PseudoLabels, TTAConfig, TTALoss, TTAWindow, adapt, tta_loss

__all__ = [
    "DEFAULT_WEIGHTS",
    "BackendConfig",
    "CheckpointError",
    "InputCrop",
    "PairPrediction",
    "PairPredictor",
    "PseudoLabels",
    "St4RTrackBackend",
    "St4RTrackConfig",
    "St4RTrackNet",
    "St4RTrackPredictor",
    "St4RTrackTracker",
    "TTAConfig",
    "TTALoss",
    "TTAWindow",
    "TrackerConfig",
    "WindowPointmaps",
    "adapt",
    "adapt_with_geometric_labels",
    "config_from_args",
    "config_to_args",
    "default_predictor",
    "geometric_pseudo_labels",
    "images_to_input",
    "load_st4rtrack",
    "plan_input_crop",
    "save_official_pth",
    "save_safetensors",
    "tta_loss",
]
