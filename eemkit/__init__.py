"""eemkit: facial expression recognition with C-F labels and distillation, from training to the edge.

Implements Li et al., "Adaptively Learning Facial Expression Representation via C-F Labels and
Distillation" (IEEE TIP 2021). Importing the package is cheap: torch, onnxruntime, cv2 and
tensorrt are imported by the submodules that need them, never here.
"""

__version__ = "0.1.0"

from eemkit.errors import EemkitError

__all__ = ["EemkitError", "__version__"]
