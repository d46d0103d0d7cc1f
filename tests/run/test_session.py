"""The session set-up train and tune share."""

import pytest

from again_tf.errors import ConfigError
from again_tf.run.session import check_replicas
from tests.engine.helpers import tiny_config


def test_batch_not_divisible_by_replicas_is_a_clear_error():
    with pytest.raises(ConfigError, match="not divisible by the 2 replicas"):
        check_replicas(tiny_config(**{"data.batch_size": "33"}), 2)
