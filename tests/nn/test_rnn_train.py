"""Small recurrent models trained next to torch from the same weights: equal losses step by step."""
import numpy as np
import pytest
import torch

import ember
from nn_helpers import torch_single_thread, copy_params  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def train_both(build, loss_fn, make_opt, steps=20, rtol=1e-4):
    """build(lib) -> model; loss_fn(lib, model) -> loss; both libraries, same weights."""
    torch.manual_seed(0)
    tm, em = build(torch), build(ember)
    copy_params(tm, em)
    losses = []
    for lib, m in ((torch, tm), (ember, em)):
        opt = make_opt(lib, m)
        ls = []
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(lib, m)
            loss.backward()
            opt.step()
            ls.append(float(loss.item()))
        losses.append(ls)
    np.testing.assert_allclose(losses[1], losses[0], rtol=rtol, atol=1e-6)
    assert losses[0][-1] < losses[0][0]
    return losses


def adam(lr):
    return lambda lib, m: lib.optim.Adam(m.parameters(), lr=lr)


def sgd(lr):
    return lambda lib, m: lib.optim.SGD(m.parameters(), lr=lr)


# 'hello' -> 'ohlol' with one-hot characters
CHARS = "helo"
X_IDX = [CHARS.index(c) for c in "hello"]
Y_IDX = [CHARS.index(c) for c in "ohlol"]


def test_hello_rnncell():
    x = np.eye(4, dtype=np.float32)[X_IDX].reshape(5, 1, 4)
    y = np.array(Y_IDX, dtype=np.int64).reshape(5, 1)

    def loss_fn(lib, cell):
        crit = lib.nn.CrossEntropyLoss()
        inputs, labels = lib.tensor(x), lib.tensor(y)
        hidden = lib.zeros(1, 5)
        loss = 0
        for t in range(5):
            hidden = cell(inputs[t], hidden)
            loss = loss + crit(hidden, labels[t])
        return loss

    train_both(lambda lib: lib.nn.RNNCell(4, 5), loss_fn, adam(0.1))


def test_hello_rnn():
    chars = "helo!"
    x = np.eye(5, dtype=np.float32)[[chars.index(c) for c in "hello"]].reshape(5, 1, 5)
    y = np.array([chars.index(c) for c in "ohlol"], dtype=np.int64)

    def loss_fn(lib, rnn):
        out, _ = rnn(lib.tensor(x))
        return lib.nn.CrossEntropyLoss()(out.view(-1, 5), lib.tensor(y))

    train_both(lambda lib: lib.nn.RNN(5, 5, num_layers=1), loss_fn, adam(0.1))


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_embedding_two_layer(cls):
    rng = np.random.RandomState(0)
    tokens = rng.randint(0, 10, size=(3, 6))
    targets = rng.randint(0, 10, size=(3, 6))

    def build(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.nn.Embedding(10, 6)
                self.rnn = getattr(lib.nn, cls)(6, 8, num_layers=2, batch_first=True)
                self.fc = lib.nn.Linear(8, 10)

            def forward(self, x):
                out, _ = self.rnn(self.emb(x))
                return self.fc(out)
        return Net()

    def loss_fn(lib, m):
        logits = m(lib.tensor(tokens))
        return lib.nn.CrossEntropyLoss()(logits.reshape(-1, 10), lib.tensor(targets).reshape(-1))

    train_both(build, loss_fn, adam(0.05))


def test_name_classifier_packed_bigru():
    rng = np.random.RandomState(1)
    lengths = [3, 7, 5, 2, 6, 4]
    names = np.zeros((6, 7), dtype=np.int64)
    for i, n in enumerate(lengths):
        names[i, :n] = rng.randint(1, 30, size=n)
    labels = rng.randint(0, 5, size=6)

    def build(lib):
        class Classifier(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = lib.nn.Embedding(30, 8)
                self.gru = lib.nn.GRU(8, 8, num_layers=2, bidirectional=True, batch_first=True)
                self.fc = lib.nn.Linear(16, 5)

            def forward(self, x, lengths):
                packed = lib.nn.utils.rnn.pack_padded_sequence(self.emb(x), lengths, batch_first=True,
                                                               enforce_sorted=False)
                _, h = self.gru(packed)
                return self.fc(lib.cat([h[-2], h[-1]], dim=1))
        return Classifier()

    def loss_fn(lib, m):
        return lib.nn.CrossEntropyLoss()(m(lib.tensor(names), lib.tensor(lengths)), lib.tensor(labels))

    train_both(build, loss_fn, sgd(0.5))
