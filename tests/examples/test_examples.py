"""The examples train: each reaches its accuracy, and the training loop matches torch's."""
import numpy as np
import pytest
import torch

import ember
from ember.examples import regression, spirals


def test_regression_example_fits_the_line_and_separates_the_moons(capsys):
    assert regression.linear_regression(steps=200) < 0.01
    assert regression.mlp_classifier(steps=300) < 0.2


def test_spirals_example_reaches_high_held_out_accuracy():
    train_acc, test_acc = spirals.train(epochs=12, verbose=False)
    assert train_acc > 0.95 and test_acc > 0.95


def test_spirals_training_loop_matches_torch_step_for_step():
    # The same model, data, optimizer and schedule in both libraries give the same losses.
    rng = np.random.RandomState(1)
    xs, ys = spirals.spirals(100, 3, rng)
    losses = {}
    for lib in (ember, torch):
        lib.manual_seed(0)
        model = lib.nn.Sequential(lib.nn.Linear(2, 16), lib.nn.ReLU(), lib.nn.Linear(16, 3))
        if lib is torch:
            with torch.no_grad():
                for p, q in zip(model.parameters(), ember_params):
                    p.copy_(torch.tensor(q))
        else:
            ember_params = [p.detach().numpy().copy() for p in model.parameters()]
        opt = lib.optim.Adam(model.parameters(), lr=0.01)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.01, total_steps=20)
        x, y = lib.tensor(xs), lib.tensor(ys)
        out = []
        for _ in range(20):
            opt.zero_grad()
            loss = lib.nn.CrossEntropyLoss()(model(x), y)
            loss.backward()
            opt.step()
            sched.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-4, atol=1e-6)
