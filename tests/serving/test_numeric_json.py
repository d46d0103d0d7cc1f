"""The JSON fast path for one numeric tensor: the same array as the general parse on every
valid body, and None (the general parse then words the error) on every malformed one."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from serving.numeric_json import decode

SHAPES = [((2,), np.dtype(np.float64))]
X = np.random.default_rng(0).uniform(size=(3, 28, 28, 1)).astype(np.float32)

VALID = [
    json.dumps({"instances": X.tolist()}).encode(),
    json.dumps({"signature_name": "serving_default", "inputs": X.tolist()}, indent=1).encode(),
    json.dumps({"instances": X[:1].tolist(), "signature_name": "s"}, separators=(",", ":")).encode(),
    orjson.dumps({"instances": X}, option=orjson.OPT_SERIALIZE_NUMPY),
    b'{"instances": [[[[1]]], [[[0]]]]}',
    b'{"signature_name": "\\"instances\\": [", "instances": [[[[1e-3]]], [[[-2E+1]]]]}',
]


@pytest.mark.parametrize("body", VALID, ids=range(len(VALID)))
def test_valid_bodies_give_the_general_parse_as_an_array(body):
    shapes = [((28, 28, 1), np.dtype(np.float32)), ((1, 1, 1), np.dtype(np.float32))]
    fast, general = decode(body, shapes), orjson.loads(body)
    key = "instances" if "instances" in general else "inputs"
    np.testing.assert_array_equal(fast[key], np.asarray(general[key]).astype(np.float32))
    assert fast[key].dtype == np.float32
    assert {k: v for k, v in fast.items() if k != key} == {k: v for k, v in general.items() if k != key}


MALFORMED = [
    b'{"instances": [[1,2],[3]]}',  # ragged
    b'{"instances": [[1,2],[3,4,5]]}',
    b'{"instances": [[1,2],[],[3,4]]}',
    b'{"instances": [[],1,2,[3,4]]}',  # numbers outside the innermost lists, brackets and commas in order
    b'{"instances": [[1,2]3,[4]]}',
    b'{"instances": [[1 2],[3,4]]}',
    b'{"instances": [[1,2][3,4]]}',
    b'{"instances": [[1,2],[3,4]]]}',
    b'{"instances": [[01,2],[3,4]]}',  # not JSON numbers
    b'{"instances": [[.5,2],[3,4]]}',
    b'{"instances": [[1,2],[3,4e]]}',
    b'{"instances": [[1,2],[3,4]],}',  # the rest is not JSON
    b'{"instances": [[1,2],[3,4]], "instances": null}',  # a later duplicate wins in JSON parsers
    b'[{"instances": [[1,2],[3,4]]}]',
    b'{"instances": [[true,2],[3,4]]}',
    b'{"instances": [["1",2],[3,4]]}',
    b'{"instances": [[1,2],[3,4]], "x": [1]}',
    b'{"instances": []}',
    b'{"inputs": {"images": [[1,2],[3,4]]}}',
]


@pytest.mark.parametrize("body", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_bodies_fall_back_to_the_general_parse(body):
    assert decode(body, SHAPES) is None


def test_a_duplicate_key_however_spelled_is_left_to_the_general_parse():
    for later in (b"0", b"1", b"false"):
        assert decode(b'{"instances": [[1,2]], "\\u0069nstances": ' + later + b"}", SHAPES) is None
    assert decode(b'{"instances": [[1,2]]}', SHAPES)["instances"].tolist() == [[1, 2]]


def test_an_empty_place_with_a_number_outside_is_refused_for_innermost_size_one():
    one = [((1,), np.dtype(np.int64))]
    for body in (b'{"instances": [[]1,[2]]}', b'{"instances": [[ ] 1, [2]]}', b'{"instances": [1[],[2]]}'):
        assert decode(body, one) is None, body
    assert decode(b'{"instances": [[1] , [ 2 ]]}', one)["instances"].tolist() == [[1], [2]]
