"""A method made without a config, for the method tests."""

from again_tf.attacks import PGDSettings

ATTACK = PGDSettings(eps=0.1, step_size=0.025, steps=2)


def make(cls, beta_aux=2.0, attack_aux=True, **kwargs):
    return cls(ATTACK, beta_aux, attack_aux, **kwargs)
