"""The search's library side: the searched fields and the trial seeds."""

import keras_tuner as kt

from again_tf.config import get_preset
from again_tf.run.tune import AgainHyperModel, search_space, trial_seed


def test_the_search_space_and_trial_seeds():
    config = get_preset("quickstart")
    hp = kt.HyperParameters()
    assert set(search_space(hp)) == {"again.alpha", "again.beta_aux", "again.hff_probability",
                                     "again.hff_concentration", "optim.lr", "optim.weight_decay"}
    assert AgainHyperModel(config, None, 1).config(hp).data == config.data
    assert trial_seed(7, hp) == trial_seed(7, hp) != trial_seed(8, hp)
    other = kt.HyperParameters()
    other.Fixed("alpha", 0.6)
    assert trial_seed(7, other) != trial_seed(7, hp)
