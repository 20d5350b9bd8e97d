"""Trains an nn.Module classifier on three interleaved spirals with Adam and a OneCycle schedule.

An MLP (2-64-64-3, ReLU) learns to separate three noisy spiral arms: mini-batches drawn with
ember.randperm, CrossEntropyLoss, Adam, OneCycleLR stepped per batch. Prints the loss, the
learning rate and the accuracy on a held-out split per epoch, then the final metrics.

Run: python -m ember.examples.spirals [--epochs 30] [--seed 0]
"""
import argparse
import math
import time

import numpy as np

import ember
from ember import nn


def spirals(n_per_class, classes, rng, noise=0.2):
    """Points on `classes` spiral arms with Gaussian noise; returns float32 x[n, 2], int64 y[n]."""
    xs, ys = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        theta = np.linspace(c * 2 * math.pi / classes, c * 2 * math.pi / classes + 4.0, n_per_class)
        theta = theta + rng.randn(n_per_class) * noise
        xs.append(np.stack([r * np.sin(theta), r * np.cos(theta)], 1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int64)


class SpiralNet(nn.Module):
    def __init__(self, hidden=64, classes=3):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.head(self.body(x))


def accuracy(model, x, y):
    with ember.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(epochs=30, batch_size=64, lr=0.01, seed=0, verbose=True):
    ember.manual_seed(seed)
    rng = np.random.RandomState(seed)
    xs, ys = spirals(1000, 3, rng)
    order = rng.permutation(len(xs))
    split = int(0.8 * len(xs))
    x_train, y_train = ember.tensor(xs[order[:split]]), ember.tensor(ys[order[:split]])
    x_test, y_test = ember.tensor(xs[order[split:]]), ember.tensor(ys[order[split:]])

    model = SpiralNet()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = math.ceil(split / batch_size)
    scheduler = ember.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                                    steps_per_epoch=steps_per_epoch)
    if verbose:
        print(model)
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = ember.randperm(split)
        total = 0.0
        for i in range(0, split, batch_size):
            idx = perm[i:i + batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(idx)
        model.eval()
        test_acc = accuracy(model, x_test, y_test)
        if verbose and (epoch % 5 == 0 or epoch == epochs - 1):
            print(f"epoch {epoch + 1:3d}  loss {total / split:.4f}  lr {scheduler.get_last_lr()[0]:.5f}  "
                  f"test accuracy {test_acc:.3f}")
    elapsed = time.perf_counter() - start
    train_acc = accuracy(model, x_train, y_train)
    if verbose:
        print(f"final: train accuracy {train_acc:.3f}, test accuracy {test_acc:.3f}, "
              f"{elapsed:.1f} s for {epochs} epochs")
    return train_acc, test_acc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train(epochs=args.epochs, seed=args.seed)


if __name__ == "__main__":
    main()
