"""Trains two small models with raw ember tensors and autograd, printing the losses.

1. Linear regression y = 3x - 2 + noise, updated with ``w.data -= lr * w.grad.data``.
2. A two-layer MLP classifier (tanh hidden layer, softmax cross-entropy written with raw ops)
   on two interleaved half-moons.

Run: python -m ember.examples.regression
"""
import math
import time

import numpy as np

import ember


def linear_regression(steps=200, lr=0.1, seed=0):
    rng = np.random.RandomState(seed)
    x = ember.tensor(rng.rand(256, 1).astype(np.float32))
    y = x * 3.0 - 2.0 + ember.tensor(rng.randn(256, 1).astype(np.float32) * 0.05)
    w = ember.zeros(1, 1, requires_grad=True)
    b = ember.zeros(1, requires_grad=True)
    for step in range(steps):
        loss = ((ember.mm(x, w) + b - y) * (ember.mm(x, w) + b - y)).mean()
        loss.backward()
        w.data -= lr * w.grad.data
        b.data -= lr * b.grad.data
        w.grad.zero_()
        b.grad.zero_()
        if step % 40 == 0 or step == steps - 1:
            print(f"[linear] step {step:4d}  loss {loss.item():.5f}")
    print(f"[linear] w = {w.item():.3f} (true 3), b = {b.item():.3f} (true -2)")
    return loss.item()


def moons(n, rng):
    t = rng.rand(n) * math.pi
    top = np.stack([np.cos(t), np.sin(t)], 1)
    bottom = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1)
    x = np.concatenate([top, bottom]) + rng.randn(2 * n, 2) * 0.1
    y = np.concatenate([np.zeros(n), np.ones(n)])
    return x.astype(np.float32), y.astype(np.int64)


def mlp_classifier(steps=300, lr=0.5, hidden=32, seed=0):
    rng = np.random.RandomState(seed)
    xs, ys = moons(200, rng)
    x = ember.tensor(xs)
    onehot = ember.tensor(np.eye(2, dtype=np.float32)[ys])
    w1 = ember.tensor(rng.randn(2, hidden).astype(np.float32) * 0.5, requires_grad=True)
    b1 = ember.zeros(hidden, requires_grad=True)
    w2 = ember.tensor(rng.randn(hidden, 2).astype(np.float32) * 0.5, requires_grad=True)
    b2 = ember.zeros(2, requires_grad=True)
    params = [w1, b1, w2, b2]
    for step in range(steps):
        h = (ember.mm(x, w1) + b1).tanh()
        logits = ember.mm(h, w2) + b2
        # log-softmax with raw ops: logits - log(sum(exp(logits)))
        log_probs = logits - logits.exp().sum(1, keepdim=True).log()
        loss = -(log_probs * onehot).sum(1).mean()
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad
                p.grad.zero_()
        if step % 60 == 0 or step == steps - 1:
            pred = logits.detach().numpy().argmax(1)
            acc = (pred == ys).mean()
            print(f"[mlp]    step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    return loss.item()


def main():
    t0 = time.perf_counter()
    linear_regression()
    mlp_classifier()
    print(f"done in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
