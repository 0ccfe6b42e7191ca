"""Models: the backbone registry and the two-stream KTN / STSN networks."""

from eemkit.models.backbones import BACKBONES, backbone_names, create_backbone
from eemkit.models.eem import EEMNet, ExportWrapper, ModelSpec, TwoStreamHead

STUDENT_BACKBONES = ("resnet18", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                     "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "squeezenet1_1")


def create_model(spec: ModelSpec, pretrained: bool = False) -> EEMNet:
    """Build the network a ModelSpec describes (the registry entry point)."""
    return EEMNet(spec, pretrained=pretrained)


__all__ = ["BACKBONES", "STUDENT_BACKBONES", "EEMNet", "ExportWrapper", "ModelSpec", "TwoStreamHead",
           "backbone_names", "create_backbone", "create_model"]
