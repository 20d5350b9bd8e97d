"""ember vs torch in one run: median times and the ratio ember/torch (lower is better).

    python bench/run.py                 # all suites, 1 and 2 threads
    python bench/run.py --filter matmul --threads 2 --json out.json

Each case builds the same inputs for both libraries, then alternates timing samples of ember
and torch (so drift and background load hit both alike) and reports the median time per call.
Measure on an otherwise idle machine: a second busy process slows OpenMP code several times.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# numpy only builds the inputs here; its OpenBLAS worker threads would otherwise compete with
# the OpenMP threads of the two libraries being timed on a machine with few cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np  # noqa: E402


def _libs():
    import ember
    import torch
    return ember, torch


def timeit(fn, min_time=0.02, samples=7):
    """Median seconds per call of fn over `samples` samples of about min_time each."""
    fn()
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        t = time.perf_counter() - t0
        if t >= min_time / 4 or n >= 1 << 20:
            break
        n *= 4
    n = max(1, int(n * (min_time / max(t, 1e-9))))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def paired(make_ember, make_torch, rounds=3, **kw):
    """Alternates ember and torch timings; returns (median ember, median torch)."""
    fe, ft = make_ember(), make_torch()
    te, tt = [], []
    for _ in range(rounds):
        te.append(timeit(fe, **kw))
        tt.append(timeit(ft, **kw))
    return statistics.median(te), statistics.median(tt)


# ---- cases: each yields (suite, name, make_ember, make_torch) ------------------------------------

def case_overhead(em, th):
    for n in (1, 1000):
        for rg in (False, True):
            a_np = np.random.rand(n).astype(np.float32)
            b_np = np.random.rand(n).astype(np.float32)

            def mk(lib, a_np=a_np, b_np=b_np, rg=rg):
                a = lib.tensor(a_np, requires_grad=rg)
                b = lib.tensor(b_np, requires_grad=rg)
                return lambda: a + b
            yield "overhead", f"a + b, {n} el{', requires_grad' if rg else ''}", \
                (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))


def case_tiny_mlp(em, th):
    rng = np.random.RandomState(0)
    x_np = rng.rand(4, 8).astype(np.float32)
    y_np = rng.rand(4, 1).astype(np.float32)
    w1_np = rng.randn(8, 8).astype(np.float32) * 0.3
    w2_np = rng.randn(8, 1).astype(np.float32) * 0.3

    def mk(lib):
        x, y = lib.tensor(x_np), lib.tensor(y_np)
        w1 = lib.tensor(w1_np, requires_grad=True)
        b1 = lib.zeros(8, requires_grad=True)
        w2 = lib.tensor(w2_np, requires_grad=True)
        b2 = lib.zeros(1, requires_grad=True)
        params = [w1, b1, w2, b2]

        def step():
            h = (x.mm(w1) + b1).relu()
            d = h.mm(w2) + b2 - y
            loss = (d * d).mean()
            loss.backward()
            with lib.no_grad():
                for p in params:
                    p -= 0.01 * p.grad
                    p.grad = None
        return step
    yield "tiny_mlp", "train step 8-8-1, batch 4", (lambda: mk(em)), (lambda: mk(th))


def case_elementwise(em, th):
    x_np = np.random.rand(4 << 20).astype(np.float32)
    y_np = np.random.rand(4 << 20).astype(np.float32)
    ops = {
        "add": lambda lib, a, b: (lambda: a + b),
        "mul": lambda lib, a, b: (lambda: a * b),
        "exp": lambda lib, a, b: (lambda: a.exp()),
        "sigmoid": lambda lib, a, b: (lambda: lib.sigmoid(a)),
    }
    for name, op in ops.items():
        def mk(lib, op=op):
            a, b = lib.tensor(x_np), lib.tensor(y_np)
            return op(lib, a, b)
        yield "elementwise", f"{name} 4M", (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))


def case_reduce(em, th):
    x_np = np.random.rand(4 << 20).astype(np.float32)
    m_np = x_np.reshape(2048, 2048)
    cases = {
        "sum 4M": (x_np, lambda a: (lambda: a.sum())),
        "mean 4M": (x_np, lambda a: (lambda: a.mean())),
        "sum 2048x2048 dim=0": (m_np, lambda a: (lambda: a.sum(0))),
        "sum 2048x2048 dim=1": (m_np, lambda a: (lambda: a.sum(1))),
        "mean 2048x2048 dim=1": (m_np, lambda a: (lambda: a.mean(1))),
    }
    for name, (arr, op) in cases.items():
        def mk(lib, arr=arr, op=op):
            return op(lib.tensor(arr))
        yield "reduce", name, (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))


def case_matmul(em, th):
    shapes = [(n, n, n) for n in (64, 256, 512, 1024, 2048)] + [(64, 784, 512)]
    for (n, k, m) in shapes:
        rng = np.random.RandomState(0)
        a_np = rng.rand(n, k).astype(np.float32)
        b_np = rng.rand(k, m).astype(np.float32)
        label = f"{n}x{k} @ {k}x{m}"

        def fwd(lib, a_np=a_np, b_np=b_np):
            a, b = lib.tensor(a_np), lib.tensor(b_np)
            return lambda: a.mm(b)

        def fwd_bwd(lib, a_np=a_np, b_np=b_np):
            a = lib.tensor(a_np, requires_grad=True)
            b = lib.tensor(b_np, requires_grad=True)

            def step():
                a.grad = None
                b.grad = None
                a.mm(b).sum().backward()
            return step
        yield "matmul", f"{label} fwd", (lambda f=fwd: f(em)), (lambda f=fwd: f(th))
        yield "matmul", f"{label} fwd+bwd", (lambda f=fwd_bwd: f(em)), (lambda f=fwd_bwd: f(th))


def case_pool(em, th):
    for shape in ((64, 10, 24, 24), (32, 64, 32, 32)):
        rng = np.random.RandomState(0)
        x_np = rng.rand(*shape).astype(np.float32)
        g_np = rng.rand(shape[0], shape[1], shape[2] // 2, shape[3] // 2).astype(np.float32)
        label = "x".join(map(str, shape))

        def fwd(lib, x_np=x_np):
            x = lib.tensor(x_np)
            return lambda: lib.nn.functional.max_pool2d(x, 2)

        def fwd_bwd(lib, x_np=x_np, g_np=g_np):
            x = lib.tensor(x_np, requires_grad=True)
            g = lib.tensor(g_np)

            def step():
                x.grad = None
                lib.nn.functional.max_pool2d(x, 2).backward(g)
            return step
        yield "pool", f"max_pool2d k2 {label} fwd", (lambda f=fwd: f(em)), (lambda f=fwd: f(th))
        yield "pool", f"max_pool2d k2 {label} fwd+bwd", (lambda f=fwd_bwd: f(em)), (lambda f=fwd_bwd: f(th))


def case_optim(em, th):
    """One optimizer step over ~1M parameters in 10 tensors (gradients fixed)."""
    rng = np.random.RandomState(0)
    shapes = [(256, 256), (256,), (512, 256), (512,), (512, 512), (512,), (256, 512), (256,), (1024, 256), (1024,)]
    ps = [rng.randn(*s).astype(np.float32) for s in shapes]
    gs = [rng.randn(*s).astype(np.float32) * 0.01 for s in shapes]
    configs = {
        "SGD momentum=0.9": lambda lib, params: lib.optim.SGD(params, lr=0.01, momentum=0.9),
        "Adam": lambda lib, params: lib.optim.Adam(params, lr=1e-3),
    }
    for name, make in configs.items():
        def mk(lib, make=make):
            params = [lib.tensor(p, requires_grad=True) for p in ps]
            for p, g in zip(params, gs):
                p.grad = lib.tensor(g)
            opt = make(lib, params)
            return opt.step
        yield "optim", f"{name} step, 1M params / 10 tensors", (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))


def _train_step(lib, model, loss_fn, opt, x, y):
    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def case_nn_train(em, th):
    """Training steps of nn.Module models with an optimizer (weights copied from one init)."""
    rng = np.random.RandomState(0)
    x784 = rng.rand(64, 784).astype(np.float32)
    y10 = rng.randint(0, 10, size=64).astype(np.int64)
    x8 = rng.rand(32, 8).astype(np.float32)
    y1 = (rng.rand(32, 1) > 0.5).astype(np.float32)

    def mlp(lib):
        nn = lib.nn
        sizes = [784, 512, 256, 128, 64, 32, 10]
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        model = nn.Sequential(*layers)
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
        return _train_step(lib, model, nn.CrossEntropyLoss(), opt, lib.tensor(x784), lib.tensor(y10))

    def sigmoid_mlp(lib):
        nn = lib.nn
        model = nn.Sequential(nn.Linear(8, 6), nn.Sigmoid(), nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 1),
                              nn.Sigmoid())
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        return _train_step(lib, model, nn.BCELoss(), opt, lib.tensor(x8), lib.tensor(y1))

    yield "nn_train", "MLP 784-512-256-128-64-32-10, batch 64", (lambda: mlp(em)), (lambda: mlp(th))
    yield "nn_train", "MLP 8-6-4-1 sigmoid + BCELoss, batch 32", (lambda: sigmoid_mlp(em)), (lambda: sigmoid_mlp(th))


def case_dataloader(em, th):
    """One shuffled epoch of DataLoader over a TensorDataset of 6,400 MNIST-shaped samples (1x28x28
    float32 + int64 label), batch 64: the loader's own per-batch cost, in process and with 2
    persistent workers (started by the warm-up epoch, so startup is not timed)."""
    import importlib
    rng = np.random.RandomState(0)
    x_np = rng.rand(6400, 1, 28, 28).astype(np.float32)
    y_np = rng.randint(0, 10, size=6400).astype(np.int64)
    for workers in (0, 2):
        def mk(lib, workers=workers):
            data = importlib.import_module(f"{lib.__name__}.utils.data")
            dataset = data.TensorDataset(lib.tensor(x_np), lib.tensor(y_np))
            extra = dict(num_workers=workers, persistent_workers=True) if workers else {}
            loader = data.DataLoader(dataset, batch_size=64, shuffle=True, **extra)

            def epoch():
                for xb, yb in loader:
                    pass
            return epoch
        yield "dataloader", f"epoch 6400 MNIST-shaped, batch 64, {workers} workers", \
            (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))



def case_rnn(em, th):
    """Recurrent layers: LSTM/GRU forward and forward+backward, an LSTMCell stepped from Python,
    and training steps of the hello RNN and of a packed bidirectional GRU name classifier."""
    rng = np.random.RandomState(0)
    x_seq = rng.randn(32, 10, 100).astype(np.float32)

    def layer(lib, cls, backward):
        model = getattr(lib.nn, cls)(100, 128, num_layers=2, batch_first=True)
        x = lib.tensor(x_seq, requires_grad=backward)

        def fwd():
            model(x)

        def fwd_bwd():
            out, _ = model(x)
            out.sum().backward()
        return fwd_bwd if backward else fwd

    for cls in ("LSTM", "GRU"):
        for backward in (False, True):
            what = "fwd+bwd" if backward else "fwd"
            yield "rnn", f"{cls}(100, 128, 2 layers) b32 s10 {what}", \
                (lambda c=cls, b=backward: layer(em, c, b)), (lambda c=cls, b=backward: layer(th, c, b))

    x_cell = rng.randn(35, 2, 32).astype(np.float32)

    def cell_steps(lib):
        cell = lib.nn.LSTMCell(32, 32)
        xs = [lib.tensor(x_cell[t]) for t in range(35)]

        def step():
            h = c = lib.zeros(2, 32)
            total = 0
            for x in xs:
                h, c = cell(x, (h, c))
                total = total + h.sum()
            total.backward()
        return step
    yield "rnn", "LSTMCell(32, 32) 35 steps b2 fwd+bwd", (lambda: cell_steps(em)), (lambda: cell_steps(th))

    x_hello = np.eye(5, dtype=np.float32)[[0, 1, 2, 2, 3]].reshape(5, 1, 5)
    y_hello = np.array([3, 0, 2, 3, 2], dtype=np.int64)

    def hello(lib):
        rnn = lib.nn.RNN(5, 5)
        opt = lib.optim.Adam(rnn.parameters(), lr=0.1)
        crit = lib.nn.CrossEntropyLoss()
        x, y = lib.tensor(x_hello), lib.tensor(y_hello)

        def step():
            opt.zero_grad()
            out, _ = rnn(x)
            crit(out.view(-1, 5), y).backward()
            opt.step()
        return step
    yield "rnn", "hello RNN(5, 5) train step, Adam", (lambda: hello(em)), (lambda: hello(th))

    lengths = rng.randint(3, 16, size=256)
    names = np.zeros((256, 15), dtype=np.int64)
    for i, n in enumerate(lengths):
        names[i, :n] = rng.randint(1, 128, size=n)
    labels = rng.randint(0, 18, size=256).astype(np.int64)

    def classifier(lib):
        nn = lib.nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(128, 100)
                self.gru = nn.GRU(100, 100, num_layers=2, bidirectional=True, batch_first=True)
                self.fc = nn.Linear(200, 18)

            def forward(self, x, lens):
                packed = nn.utils.rnn.pack_padded_sequence(self.emb(x), lens, batch_first=True,
                                                           enforce_sorted=False)
                _, h = self.gru(packed)
                return self.fc(lib.cat([h[-2], h[-1]], dim=1))
        model = Net()
        opt = lib.optim.SGD(model.parameters(), lr=0.1)
        crit = nn.CrossEntropyLoss()
        x, lens, y = lib.tensor(names), lib.tensor(lengths.astype(np.int64)), lib.tensor(labels)

        def step():
            opt.zero_grad()
            crit(model(x, lens), y).backward()
            opt.step()
        return step
    yield "rnn", "name classifier biGRU packed b256 train step", (lambda: classifier(em)), \
        (lambda: classifier(th))



def case_conv(em, th):
    """conv2d forward and forward+backward (input, weight and bias gradients)."""
    configs = [  # batch, in, out, kernel, padding, size
        (64, 1, 10, 5, 0, 28), (64, 10, 20, 5, 0, 12), (32, 64, 64, 3, 1, 32), (64, 3, 6, 3, 0, 32)]
    for (n, cin, cout, k, pad, size) in configs:
        rng = np.random.RandomState(0)
        x_np = rng.rand(n, cin, size, size).astype(np.float32)
        w_np = (rng.rand(cout, cin, k, k).astype(np.float32) - 0.5) * 0.2
        b_np = rng.rand(cout).astype(np.float32)
        label = f"b{n} {cin}->{cout} k{k}{f' p{pad}' if pad else ''} {size}x{size}"

        def fwd(lib, x_np=x_np, w_np=w_np, b_np=b_np, pad=pad):
            x, w, b = lib.tensor(x_np), lib.tensor(w_np), lib.tensor(b_np)
            return lambda: lib.nn.functional.conv2d(x, w, b, padding=pad)

        def fwd_bwd(lib, x_np=x_np, w_np=w_np, b_np=b_np, pad=pad):
            x = lib.tensor(x_np, requires_grad=True)
            w = lib.tensor(w_np, requires_grad=True)
            b = lib.tensor(b_np, requires_grad=True)

            def step():
                x.grad = w.grad = b.grad = None
                lib.nn.functional.conv2d(x, w, b, padding=pad).sum().backward()
            return step
        yield "conv", f"conv2d {label} fwd", (lambda f=fwd: f(em)), (lambda f=fwd: f(th))
        yield "conv", f"conv2d {label} fwd+bwd", (lambda f=fwd_bwd: f(em)), (lambda f=fwd_bwd: f(th))


def case_norm(em, th):
    for shape in ((64, 10, 24, 24), (32, 64, 32, 32)):
        x_np = np.random.RandomState(0).rand(*shape).astype(np.float32)

        def mk(lib, x_np=x_np, c=shape[1]):
            x = lib.tensor(x_np, requires_grad=True)
            bn = lib.nn.BatchNorm2d(c)
            g = lib.ones(*x_np.shape)

            def step():
                x.grad = None
                bn.zero_grad()
                bn(x).backward(g)
            return step
        yield "norm", f"batch_norm2d fwd+bwd {'x'.join(map(str, shape))}", (lambda mk=mk: mk(em)), \
            (lambda mk=mk: mk(th))


def case_cnn_train(em, th):
    """Training steps of the seed CNNs, batch 64 on 28x28, SGD momentum 0.5, CrossEntropyLoss
    (each library initialises its own weights: the timing does not depend on them)."""
    rng = np.random.RandomState(0)
    x = rng.rand(64, 1, 28, 28).astype(np.float32)
    y = rng.randint(0, 10, size=64).astype(np.int64)

    def mnist_cnn(lib):
        nn = lib.nn
        return nn.Sequential(nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(10, 20, 5), nn.MaxPool2d(2),
                             nn.ReLU(), nn.Flatten(), nn.Linear(320, 10))

    def residual_cnn(lib):
        nn, F = lib.nn, lib.nn.functional

        class ResidualBlock(nn.Module):
            def __init__(self, channels):
                super().__init__()
                self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
                self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

            def forward(self, x):
                return F.relu(x + self.conv2(F.relu(self.conv1(x))))

        return nn.Sequential(nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2), ResidualBlock(16), nn.Conv2d(16, 32, 5),
                             nn.ReLU(), nn.MaxPool2d(2), ResidualBlock(32), nn.Flatten(), nn.Linear(512, 10))

    for label, build in (("MNIST CNN", mnist_cnn), ("residual CNN", residual_cnn)):
        def mk(lib, build=build):
            lib.manual_seed(0)
            model = build(lib)
            opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.5)
            return _train_step(lib, model, lib.nn.CrossEntropyLoss(), opt, lib.tensor(x), lib.tensor(y))
        yield "cnn_train", f"{label} train step, batch 64", (lambda mk=mk: mk(em)), (lambda mk=mk: mk(th))


def case_main_job(em, th):
    """One epoch of the main job's model (the MNIST CNN) over 1,437 28x28 digit-shaped images:
    DataLoader (shuffled, batch 64, in process), SGD momentum 0.9, cross-entropy."""
    import importlib
    rng = np.random.RandomState(0)
    x_np = rng.rand(1437, 1, 28, 28).astype(np.float32)
    y_np = rng.randint(0, 10, size=1437).astype(np.int64)

    def epoch_runner(lib):
        nn = lib.nn
        data = importlib.import_module(f"{lib.__name__}.utils.data")
        loader = data.DataLoader(data.TensorDataset(lib.tensor(x_np), lib.tensor(y_np)), batch_size=64,
                                 shuffle=True)
        model = nn.Sequential(nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Conv2d(10, 20, 5),
                              nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(320, 10))
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def epoch():
            for xb, yb in loader:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        return epoch
    yield "main_job", "MNIST CNN epoch, 1437 digits, batch 64", (lambda: epoch_runner(em)), \
        (lambda: epoch_runner(th))


SUITES = [case_overhead, case_tiny_mlp, case_elementwise, case_reduce, case_matmul, case_pool, case_optim,
          case_nn_train, case_dataloader, case_rnn, case_conv, case_norm,
          case_cnn_train, case_main_job]


def import_times(repeats=5):
    """Median wall time of `import ember` and `import torch` in fresh interpreters."""
    out = {}
    for mod in ("ember", "torch"):
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {mod}"], check=True)
            ts.append(time.perf_counter() - t0)
        base = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            base.append(time.perf_counter() - t0)
        out[mod] = statistics.median(ts) - statistics.median(base)
    return out


def fmt_time(s):
    if s < 1e-3:
        return f"{s * 1e6:8.2f} us"
    if s < 1:
        return f"{s * 1e3:8.2f} ms"
    return f"{s:8.2f} s "


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filter", default="", help="only cases whose suite or name contains this")
    ap.add_argument("--threads", default="1,2", help="thread counts, comma separated")
    ap.add_argument("--json", default=os.path.join(os.path.dirname(__file__), "results.json"))
    ap.add_argument("--no-import", action="store_true", help="skip the import-time comparison")
    args = ap.parse_args()
    em, th = _libs()
    results = []
    print(f"{'suite':12s} {'case':44s} {'thr':>3s} {'ember':>12s} {'torch':>12s} {'ratio':>7s}")
    for nt in [int(t) for t in args.threads.split(",")]:
        em.set_num_threads(nt)
        th.set_num_threads(nt)
        for suite in SUITES:
            for sname, name, mk_e, mk_t in suite(em, th):
                if args.filter and args.filter not in sname and args.filter not in name:
                    continue
                try:
                    te, tt = paired(mk_e, mk_t)
                except (AttributeError, NotImplementedError) as e:
                    print(f"{sname:12s} {name:44s} {nt:3d}   n/a ({e})")
                    continue
                ratio = te / tt
                results.append(dict(suite=sname, case=name, threads=nt, ember_s=te, torch_s=tt, ratio=ratio))
                print(f"{sname:12s} {name:44s} {nt:3d} {fmt_time(te)} {fmt_time(tt)} {ratio:7.2f}", flush=True)
    report = dict(machine=platform.machine(), cpus=os.cpu_count(), python=platform.python_version(),
                  torch=th.__version__, ember=em.__version__, results=results)
    if not args.no_import and not args.filter:
        it = import_times()
        report["import"] = it
        print(f"{'import':12s} {'import ember / import torch':44s} {'':3s} {fmt_time(it['ember'])} "
              f"{fmt_time(it['torch'])} {it['ember'] / it['torch']:7.2f}")
    with open(args.json, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
