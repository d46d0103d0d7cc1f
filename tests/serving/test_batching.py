"""The batching parameters file: TF Serving's BatchingParameters, written and read back."""

from __future__ import annotations

import pytest

from serving.batching import BatchingParameters, BatchingParametersProto, parse, to_text
from serving.errors import ServingError


def test_text_round_trip_keeps_every_value():
    params = BatchingParameters(max_batch_size=64, batch_timeout_micros=0, max_enqueued_batches=7,
                                num_batch_threads=3)
    text = to_text(params)
    assert "max_batch_size {\n  value: 64\n}" in text
    assert "batch_timeout_micros {\n}" in text  # a set wrapper holding 0, as proto3 prints it
    assert parse(text) == params


def test_the_wire_format_is_tf_servings():
    """Field 1 (max_batch_size) is an Int64Value wrapper holding 128: tag 0x0a, 3 bytes, 08 80 01."""
    proto = BatchingParametersProto()
    proto.max_batch_size.value = 128
    proto.num_batch_threads.value = 2
    assert proto.SerializeToString() == b"\x0a\x03\x08\x80\x01" + b"\x22\x02\x08\x02"
    fields = {f.name: f.number for f in BatchingParametersProto.DESCRIPTOR.fields}
    assert fields == {"max_batch_size": 1, "batch_timeout_micros": 2, "max_enqueued_batches": 3,
                      "num_batch_threads": 4, "thread_pool_name": 5, "allowed_batch_sizes": 6,
                      "pad_variable_length_inputs": 7}


def test_fields_we_do_not_set_keep_defaults_and_unknown_fields_fail():
    assert parse("max_batch_size { value: 16 }\npad_variable_length_inputs: true") == \
        BatchingParameters(max_batch_size=16)
    with pytest.raises(ServingError, match='has no field named "max_batch_sise"'):
        parse("max_batch_sise { value: 16 }")


@pytest.mark.parametrize("field,value", [("max_batch_size", 0), ("num_batch_threads", -1),
                                         ("batch_timeout_micros", -5), ("max_enqueued_batches", 2.5)])
def test_bad_values_are_refused(field, value):
    with pytest.raises(ServingError, match=f"batching {field}: got {value}"):
        BatchingParameters(**{field: value})
