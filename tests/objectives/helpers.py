"""Logits the loss tests compute by hand."""

import numpy as np

CLEAN = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
ADV = np.array([[0.5, 1.0, -0.5], [1.0, 0.0, 2.0]], np.float32)
Y = np.array([0, 1])
GUIDE = np.array([[1.0, -1.0, 0.0], [0.0, 3.0, 1.0]], np.float32)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def ce(z, y):
    return -np.log(softmax(z)[np.arange(len(y)), y])
