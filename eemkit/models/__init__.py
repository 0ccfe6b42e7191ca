"""Models: the backbone registry and the two-stream KTN / STSN networks."""

from eemkit.artifact import Checkpoint
from eemkit.errors import UsageError
from eemkit.models.backbones import BACKBONES, backbone_names, create_backbone
from eemkit.models.eem import EEMNet, ExportWrapper, ModelSpec, TwoStreamHead

STUDENT_BACKBONES = ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                     "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5",
                     "shufflenet_v2_x2_0", "squeezenet1_1")


def create_model(spec: ModelSpec, pretrained: bool = False) -> EEMNet:
    """Build the network a ModelSpec describes (the registry entry point)."""
    return EEMNet(spec, pretrained=pretrained)


def build_model(ckpt: Checkpoint) -> EEMNet:
    """The network of a loaded checkpoint with its weights, in eval mode. Raises UsageError when the weights
    do not match the stored architecture."""
    try:
        model = create_model(ModelSpec.from_dict(ckpt.model_spec))
        model.load_state_dict(ckpt.state)
    except (TypeError, KeyError, RuntimeError) as err:
        raise UsageError(f"{ckpt.path}: weights do not match the stored architecture ({str(err).splitlines()[0]})") from None
    return model.eval()


__all__ = ["BACKBONES", "STUDENT_BACKBONES", "EEMNet", "ExportWrapper", "ModelSpec", "TwoStreamHead",
           "backbone_names", "build_model", "create_backbone", "create_model"]
