"""Small module trees built the same way with torch and with ember, and error comparison."""
import types

import pytest
import torch

import ember


def build_classes(lib):
    """Custom modules written against ``lib`` (torch or ember) with identical structure."""
    nn = lib.nn

    class Affine(nn.Module):
        def __init__(self, n_in, n_out, bias=True):
            super().__init__()
            self.in_features, self.out_features = n_in, n_out
            self.weight = nn.Parameter(lib.zeros(n_out, n_in))
            if bias:
                self.bias = nn.Parameter(lib.zeros(n_out))
            else:
                self.register_parameter("bias", None)

        def forward(self, x):
            y = x.mm(self.weight.t())
            return y + self.bias if self.bias is not None else y

        def extra_repr(self):
            return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

    class Scale(nn.Module):
        """A parameter, a persistent buffer and a non-persistent one; a two-line extra_repr."""

        def __init__(self, n):
            super().__init__()
            self.weight = nn.Parameter(lib.ones(n))
            self.register_buffer("running_mean", lib.zeros(n))
            self.register_buffer("steps", lib.zeros((), dtype=lib.int64))
            self.register_buffer("scratch", lib.zeros(n), persistent=False)

        def forward(self, x):
            return x * self.weight

        def extra_repr(self):
            return f"{self.weight.shape[0]}\nscaled"

    class Tanh(nn.Module):
        def forward(self, x):
            return x.tanh()

    class Block(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.fc = Affine(n, n)
            self.scale = Scale(n)
            self.act = Tanh()
            self.empty = None
            self.register_module("missing", None)

        def forward(self, x):
            return self.act(self.scale(self.fc(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = Affine(3, 4)
            self.blocks = nn.Sequential(Block(4), Block(4))
            self.head = nn.ModuleList([Affine(4, 2, bias=False), Affine(4, 2, bias=False), Tanh()])
            self.extra = nn.ModuleDict({"b": Scale(2), "a": Tanh()})

        def forward(self, x):
            x = self.blocks(self.inp(x))
            return self.head[2](self.head[0](x) + self.head[1](x))

    return types.SimpleNamespace(Affine=Affine, Scale=Scale, Tanh=Tanh, Block=Block, Net=Net)


TORCH = build_classes(torch)
EMBER = build_classes(ember)


def both(fn):
    """fn(lib, classes) for torch and ember."""
    return fn(torch, TORCH), fn(ember, EMBER)


def as_ember_text(s):
    return s.replace("torch", "ember")


def same_error(fn):
    """fn(lib, classes) raises the same exception type and message (torch -> ember) in both."""
    with pytest.raises(Exception) as t_err:
        fn(torch, TORCH)
    with pytest.raises(type(t_err.value)) as e_err:
        fn(ember, EMBER)
    assert type(e_err.value) is type(t_err.value)
    assert str(e_err.value) == as_ember_text(str(t_err.value))
    return e_err.value


def copy_params(src_torch, dst_ember):
    """Copies a torch module's parameters and buffers into the same-shaped ember module."""
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in src_torch.state_dict().items()}
    dst_ember.load_state_dict(sd)


@pytest.fixture(scope="module")
def torch_single_thread():
    """torch on one thread for a module's tests: its OpenMP threads spin badly on a busy machine."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
