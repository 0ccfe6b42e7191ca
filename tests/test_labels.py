import pytest

from eemkit.errors import UsageError
from eemkit.labels import COARSE_CLASSES, DATASET_CLASSES, FINE_TO_COARSE, LabelSpace, canonical_name


def test_coarse_map_matches_method():
    assert COARSE_CLASSES == ("positive", "negative", "neutral", "surprise")
    assert FINE_TO_COARSE["happiness"] == "positive"
    for c in ("fear", "disgust", "sadness", "anger", "contempt"):
        assert FINE_TO_COARSE[c] == "negative"
    assert FINE_TO_COARSE["neutral"] == "neutral" and FINE_TO_COARSE["surprise"] == "surprise"


@pytest.mark.parametrize("fmt", list(DATASET_CLASSES))
def test_every_dataset_gets_coarse_labels(fmt):
    ls = LabelSpace.for_dataset(fmt)
    assert len(ls.coarse_index) == ls.n_fine
    assert ls.neutral_last_order[-1] == ls.neutral_index
    assert sorted(ls.neutral_last_order) == list(range(ls.n_fine))


def test_ferplus_and_rafdb_orders():
    assert LabelSpace.for_dataset("ferplus").n_fine == 8
    raf = LabelSpace.for_dataset("rafdb")
    assert raf.fine[0] == "surprise" and raf.neutral_index == 6
    assert raf.coarse_index[3] == COARSE_CLASSES.index("positive")


def test_aliases_and_unknown_names():
    assert canonical_name("Happy") == "happiness"
    with pytest.raises(UsageError, match="known class names"):
        canonical_name("bored")
    with pytest.raises(UsageError):
        LabelSpace(("neutral", "neutral"))
