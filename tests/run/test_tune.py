"""The search's library side: the searched fields, the trial seeds, the hold-out default."""

import keras_tuner as kt

from again_tf.config import get_preset
from again_tf.run.tune import AgainHyperModel, search_space, trial_seed, with_holdout


def test_the_search_space_and_trial_seeds():
    config = with_holdout(get_preset("quickstart"))
    assert config.data.holdout_examples == 5000
    hp = kt.HyperParameters()
    assert set(search_space(hp)) == {"again.alpha", "again.beta_aux", "again.hff_probability",
                                     "again.hff_concentration", "optim.lr", "optim.weight_decay"}
    assert AgainHyperModel(config, None, 1).config(hp).data.holdout_examples == 5000
    assert trial_seed(7, hp) == trial_seed(7, hp) != trial_seed(8, hp)
    other = kt.HyperParameters()
    other.Fixed("alpha", 0.6)
    assert trial_seed(7, other) != trial_seed(7, hp)
