"""Trains the classic MNIST CNN on handwritten digits, end to end.

The model is Conv2d(1,10,5) MaxPool2d(2) ReLU Conv2d(10,20,5) MaxPool2d(2) ReLU Linear(320,10).
By default it trains on scikit-learn's handwritten digits (1,797 8x8 images, installed with the
package, no download), resized to 28x28, with a held-out fifth as the test split; `--data mnist
--root DIR` trains on the real MNIST IDX files under DIR/MNIST/raw instead.

It uses a DataLoader with worker processes, tqdm progress bars (when tqdm is installed), SGD with
momentum and a StepLR schedule, prints per-epoch loss and test accuracy, saves a checkpoint
after every epoch (`--resume` continues from it) and writes a PNG of the loss and accuracy
curves (when matplotlib is installed).

Run: python -m ember.examples.mnist [--epochs 10] [--workers 2] [--resume] [--out DIR]
"""
import argparse
import os
import sys
import time

import numpy as np

import ember
from ember import nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.fc = nn.Linear(320, 10)

    def forward(self, x):
        n = x.size(0)
        x = F.relu(self.mp(self.conv1(x)))
        x = F.relu(self.mp(self.conv2(x)))
        return self.fc(x.view(n, -1))


MEAN, STD = 0.1307, 0.3081  # MNIST's statistics, used for both data sources


def digits_datasets(seed=0, test_fraction=0.2):
    """scikit-learn's 8x8 digits, scaled to [0, 1], resized to 28x28, split train/test."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        sys.exit("the digits data comes with scikit-learn: pip install scikit-learn "
                 "(or pip install 'ember[examples]'), or use --data mnist --root DIR")
    digits = load_digits()
    images = ember.tensor((digits.images / 16.0).astype(np.float32)).unsqueeze(1)
    images = F.interpolate(images, size=(28, 28), mode="bilinear", align_corners=False)
    images = (images - MEAN) / STD
    targets = ember.tensor(digits.target.astype(np.int64))
    order = ember.tensor(np.random.RandomState(seed).permutation(len(targets)))
    n_test = int(len(targets) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return TensorDataset(images[train], targets[train]), TensorDataset(images[test], targets[test])


def mnist_datasets(root):
    from ember.vision import datasets, transforms
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])
    return (datasets.MNIST(root, train=True, transform=tf),
            datasets.MNIST(root, train=False, transform=tf))


def progress(iterable, desc, enabled):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, leave=False, dynamic_ncols=True)


def evaluate(model, loader):
    model.eval()
    correct, total, loss = 0, 0, 0.0
    with ember.no_grad():
        for x, y in loader:
            out = model(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            total += len(y)
    return loss / total, correct / total


def plot_history(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written")
        return
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["test_loss"], label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy loss")
    ax1.legend()
    ax2.plot(epochs, history["test_acc"])
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"plot written to {path}")


def train(epochs=10, batch_size=64, lr=0.05, workers=2, seed=0, data="digits", root=None, out=".",
          resume=False, show_progress=True, plot=True):
    ember.manual_seed(seed)
    train_set, test_set = mnist_datasets(root) if data == "mnist" else digits_datasets(seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers=workers,
                              persistent_workers=workers > 0)
    test_loader = DataLoader(test_set, batch_size=256)

    model = Net()
    optimizer = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    os.makedirs(out, exist_ok=True)
    checkpoint = os.path.join(out, "mnist_cnn.pt")
    start_epoch = 0
    if resume:
        if not os.path.exists(checkpoint):
            sys.exit(f"--resume: no checkpoint at {checkpoint}")
        state = ember.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        history = state["history"]
        start_epoch = state["epoch"]
        print(f"resumed from {checkpoint} after epoch {start_epoch}")

    print(f"{len(train_set)} training and {len(test_set)} test images; {workers} loader workers")
    started = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        model.train()
        total, seen = 0.0, 0
        for x, y in progress(train_loader, f"epoch {epoch + 1}/{epochs}", show_progress):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(y)
            seen += len(y)
        scheduler.step()
        test_loss, test_acc = evaluate(model, test_loader)
        history["train_loss"].append(total / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        print(f"epoch {epoch + 1:2d}  train loss {total / seen:.4f}  test loss {test_loss:.4f}  "
              f"test accuracy {test_acc:.4f}  lr {scheduler.get_last_lr()[0]:.4f}  "
              f"({time.perf_counter() - started:.1f} s)")
        ember.save({"epoch": epoch + 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "history": history}, checkpoint)
    if history["test_acc"]:
        print(f"final test accuracy {history['test_acc'][-1]:.4f} after {len(history['test_acc'])} epochs; "
              f"checkpoint {checkpoint}")
    if plot and history["test_acc"]:
        plot_history(history, os.path.join(out, "mnist_cnn.png"))
    return history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", choices=["digits", "mnist"], default="digits")
    parser.add_argument("--root", default=None, help="directory holding MNIST/raw (with --data mnist)")
    parser.add_argument("--out", default="ember_mnist_out", help="where the checkpoint and plot go")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.data == "mnist" and not args.root:
        parser.error("--data mnist needs --root DIR")
    train(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, workers=args.workers, seed=args.seed,
          data=args.data, root=args.root, out=args.out, resume=args.resume,
          show_progress=not args.no_progress)


if __name__ == "__main__":
    main()
