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


def test_mnist_example_trains_to_95_percent_saves_a_torch_readable_checkpoint_and_resumes(tmp_path):
    from ember.examples import mnist
    history = mnist.train(epochs=6, workers=2, out=str(tmp_path), show_progress=False, plot=True)
    assert history["test_acc"][-1] >= 0.95
    assert (tmp_path / "mnist_cnn.png").stat().st_size > 0
    state = torch.load(str(tmp_path / "mnist_cnn.pt"), weights_only=True)
    assert state["epoch"] == 6 and set(state["model"]) == {"conv1.weight", "conv1.bias", "conv2.weight",
                                                          "conv2.bias", "fc.weight", "fc.bias"}
    resumed = mnist.train(epochs=7, workers=0, out=str(tmp_path), resume=True, show_progress=False, plot=False)
    assert len(resumed["test_acc"]) == 7 and resumed["test_acc"][:6] == history["test_acc"]


def test_mnist_example_reads_real_mnist_idx_files(tmp_path):
    import gzip
    from ember.examples import mnist
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.RandomState(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        with gzip.open(raw / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(np.array([2051, n, 28, 28], dtype=">i4").tobytes() + images.tobytes())
        with gzip.open(raw / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([2049, n], dtype=">i4").tobytes() + labels.tobytes())
    history = mnist.train(epochs=1, workers=0, data="mnist", root=str(tmp_path), out=str(tmp_path / "out"),
                          show_progress=False, plot=False)
    assert len(history["test_acc"]) == 1 and 0.0 <= history["test_acc"][0] <= 1.0


def test_mnist_example_one_epoch_matches_torch_loss_for_loss():
    # The same CNN, weights, batches (no shuffling) and SGD+StepLR in both libraries.
    from ember.examples import mnist
    train_set, _ = mnist.digits_datasets()
    x, y = train_set.tensors
    t_net = torch.nn.Sequential(torch.nn.Conv2d(1, 10, 5), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                                torch.nn.Conv2d(10, 20, 5), torch.nn.MaxPool2d(2), torch.nn.ReLU(),
                                torch.nn.Flatten(), torch.nn.Linear(320, 10))
    e_net = mnist.Net()
    names = ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc.weight", "fc.bias"]
    e_net.load_state_dict({k: ember.tensor(p.detach().numpy()) for k, p in zip(names, t_net.parameters())})
    losses = {}
    for lib, net, xs, ys in ((ember, e_net, x, y), (torch, t_net, torch.tensor(x.numpy()), torch.tensor(y.numpy()))):
        opt = lib.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        out = []
        for i in range(0, 640, 64):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(xs[i:i + 64]), ys[i:i + 64])
            loss.backward()
            opt.step()
            out.append(loss.item())
        losses[lib.__name__] = out
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=1e-3, atol=1e-5)
