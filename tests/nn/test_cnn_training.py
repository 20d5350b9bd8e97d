"""The seed-style convolutional networks train next to torch from the same weights.

Each network is written once against a library (torch or ember), torch's initial weights are
copied into ember's copy, and both train for 20 steps of SGD on the same batches: the losses
must agree step for step. Dropout masks come from different generators (ember's streams are
its own), so the net with Dropout2d trains side by side with p set to 0, and its channel
dropout is pinned by its own test.
"""
import numpy as np
import pytest
import torch

import ember


def mnist_cnn(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
            self.mp = nn.MaxPool2d(2)
            self.fc = nn.Linear(320, 10)

        def forward(self, x):
            n = x.size(0)
            x = lib.relu(self.mp(self.conv1(x)))
            x = lib.relu(self.mp(self.conv2(x)))
            return self.fc(x.view(n, -1))

    return Net()


def inception_net(lib):
    nn, F = lib.nn, lib.nn.functional

    class InceptionA(nn.Module):
        def __init__(self, in_channels):
            super().__init__()
            self.branch1x1 = nn.Conv2d(in_channels, 16, kernel_size=1)
            self.branch5x5_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
            self.branch5x5_2 = nn.Conv2d(16, 24, kernel_size=5, padding=2)
            self.branch3x3dbl_1 = nn.Conv2d(in_channels, 16, kernel_size=1)
            self.branch3x3dbl_2 = nn.Conv2d(16, 24, kernel_size=3, padding=1)
            self.branch3x3dbl_3 = nn.Conv2d(24, 24, kernel_size=3, padding=1)
            self.branch_pool = nn.Conv2d(in_channels, 24, kernel_size=1)

        def forward(self, x):
            b1 = self.branch1x1(x)
            b5 = self.branch5x5_2(self.branch5x5_1(x))
            b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
            bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1))
            return lib.cat([b1, b5, b3, bp], 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
            self.conv2 = nn.Conv2d(88, 20, kernel_size=5)
            self.incept1 = InceptionA(in_channels=10)
            self.incept2 = InceptionA(in_channels=20)
            self.mp = nn.MaxPool2d(2)
            self.fc = nn.Linear(1408, 10)

        def forward(self, x):
            n = x.size(0)
            x = F.relu(self.mp(self.conv1(x)))
            x = self.incept1(x)
            x = F.relu(self.mp(self.conv2(x)))
            x = self.incept2(x)
            return self.fc(x.view(n, -1))

    return Net()


def residual_net(lib):
    nn, F = lib.nn, lib.nn.functional

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)

        def forward(self, x):
            y = F.relu(self.conv1(x))
            y = self.conv2(y)
            return F.relu(x + y)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
            self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
            self.rblock1 = ResidualBlock(16)
            self.rblock2 = ResidualBlock(32)
            self.mp = nn.MaxPool2d(2)
            self.fc = nn.Linear(512, 10)

        def forward(self, x):
            n = x.size(0)
            x = self.rblock1(self.mp(F.relu(self.conv1(x))))
            x = self.rblock2(self.mp(F.relu(self.conv2(x))))
            return self.fc(x.view(n, -1))

    return Net()


def batchnorm_net(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Dropout2d(0.25),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def copy_weights(src, dst):
    """torch module -> ember module, through the state_dict (parameters and buffers)."""
    state = {k: ember.tensor(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


def train_side_by_side(build, steps=20, batch=16, size=28, lr=0.05, dropout_off=False, seed=0):
    torch.manual_seed(seed)
    t_model, e_model = build(torch), build(ember)
    copy_weights(t_model, e_model)
    rng = np.random.RandomState(seed)
    # A few batches seen repeatedly, so that the loss has something to learn in 20 steps.
    xs = np.tile(rng.rand(2, batch, 1, size, size).astype(np.float32), (steps // 2, 1, 1, 1, 1))
    ys = np.tile(rng.randint(0, 10, size=(2, batch)).astype(np.int64), (steps // 2, 1))
    losses = {"torch": [], "ember": []}
    for lib, model in ((torch, t_model), (ember, e_model)):
        model.train()
        if dropout_off:
            for m in model.modules():
                if type(m).__name__.startswith("Dropout"):
                    m.p = 0.0
        opt = lib.optim.SGD(model.parameters(), lr=lr, momentum=0.5)
        loss_fn = lib.nn.CrossEntropyLoss()
        for i in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(lib.tensor(xs[i])), lib.tensor(ys[i]))
            loss.backward()
            opt.step()
            losses[lib.__name__].append(loss.item())
    return t_model, e_model, losses


@pytest.mark.parametrize("build", [mnist_cnn, inception_net, residual_net], ids=["mnist_cnn", "inception", "residual"])
def test_seed_cnn_trains_with_the_same_losses_as_torch(build):
    t_model, e_model, losses = train_side_by_side(build)
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=2e-4, atol=1e-5)
    assert losses["ember"][-1] < losses["ember"][0]
    for (name, tp), (ename, ep) in zip(t_model.named_parameters(), e_model.named_parameters()):
        assert name == ename
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-3, atol=1e-4, err_msg=name)


def test_batchnorm_dropout2d_net_trains_with_the_same_losses_and_running_stats_as_torch():
    t_model, e_model, losses = train_side_by_side(batchnorm_net, size=16, dropout_off=True)
    np.testing.assert_allclose(losses["ember"], losses["torch"], rtol=2e-4, atol=1e-5)
    for (name, tb), (ename, eb) in zip(t_model.named_buffers(), e_model.named_buffers()):
        assert name == ename
        np.testing.assert_allclose(eb.numpy(), tb.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    # Eval mode uses the running statistics and no dropout: outputs agree.
    x = np.random.RandomState(3).rand(4, 1, 16, 16).astype(np.float32)
    t_model.eval()
    e_model.eval()
    with torch.no_grad(), ember.no_grad():
        np.testing.assert_allclose(e_model(ember.tensor(x)).numpy(), t_model(torch.tensor(x)).numpy(),
                                   rtol=1e-4, atol=1e-5)


def test_dropout2d_in_training_zeroes_whole_channels_of_the_batchnorm_net():
    e_model = batchnorm_net(ember)
    e_model.train()
    ember.manual_seed(0)
    drop = e_model[7]
    x = ember.ones(4, 16, 8, 8)
    y = drop(x)
    per_channel = y.sum((2, 3)).numpy()
    kept = per_channel[per_channel != 0]
    np.testing.assert_allclose(kept, 64 / 0.75, rtol=1e-6)
    assert (per_channel == 0).any() and (per_channel > 0).any()
