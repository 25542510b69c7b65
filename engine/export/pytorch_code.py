"""A session as one PyTorch file: the same model as ``torch.nn.Sequential``, its weights, the
optimizer's and scheduler's state, the loss module and a training loop over the same batches.

The file builds ``Linear → [BatchNorm1d] → activation → [Dropout]`` per hidden layer and a final
``Linear`` (followed by the output activation unless the loss reads the logits, as
``BCEWithLogitsLoss`` and ``CrossEntropyLoss`` do), loads the engine's parameters (a Linear's
``weight`` is the engine's ``Wᵀ``) and the optimizer state under torch's own names
(``momentum_buffer``, ``sum``, ``square_avg``, ``exp_avg``, ``step``, ...) through
``optimizer.load_state_dict``, and continues with the session's batch order: the epoch's shuffle
and the NumPy generator that draws the next shuffles. Dropout is an ``nn.Dropout`` whose train
mode draws its mask from that generator, so the masks are the session's too.

    text = pytorch_source(snapshot(trainer), lang="en")
"""

from __future__ import annotations

from typing import Any

from engine.export import numpy_update as upd
from engine.export.numpy_code import data_source
from engine.export.snapshot import (
    UNPACK_SOURCE,
    Snapshot,
    array_source,
    require,
    rng_state_source,
)
from engine.export.words import words


def activation_module(name: str, p: dict[str, Any]) -> str | None:
    """The torch.nn module (as source) for an engine activation; None for the identity."""
    modules = {
        "linear": None,
        "sigmoid": "nn.Sigmoid()",
        "tanh": "nn.Tanh()",
        "relu": "nn.ReLU()",
        "silu": "nn.SiLU()",
        "softmax": "nn.Softmax(dim=1)",
    }
    if name in modules:
        return modules[name]
    if name == "leaky_relu":
        return f"nn.LeakyReLU(negative_slope={p['negative_slope']!r})"
    if name == "elu":
        return f"nn.ELU(alpha={p['alpha']!r})"
    if name == "softplus":
        return f"nn.Softplus(beta={p['beta']!r}, threshold={p['threshold']!r})"
    if name == "gelu":
        return f"nn.GELU(approximate={p['approximate']!r})"
    raise KeyError(name)


ACTIVATION_NAMES = (
    "linear", "sigmoid", "tanh", "relu", "silu", "softmax", "leaky_relu", "elu", "softplus",
    "gelu",
)  # fmt: skip


def loss_module(name: str, p: dict[str, Any]) -> str:
    return {
        "mse": "nn.MSELoss()",
        "mae": "nn.L1Loss()",
        "bce": "nn.BCEWithLogitsLoss()",
        "ce": "nn.CrossEntropyLoss()",
        "huber": f"nn.HuberLoss(delta={p.get('delta', 1.0)!r})",
    }[name]


LOSS_NAMES = ("mse", "mae", "huber", "bce", "ce")


def optimizer_call(name: str, h: dict[str, Any]) -> str:
    """``torch.optim.X(model.parameters(), ...)`` with the session's hyper-parameters."""
    keys = {
        "sgd": ("SGD", ["momentum", "dampening", "weight_decay", "nesterov"]),
        "adagrad": ("Adagrad", ["lr_decay", "weight_decay", "initial_accumulator_value", "eps"]),
        "rmsprop": ("RMSprop", ["alpha", "eps", "weight_decay", "momentum", "centered"]),
        "adam": ("Adam", ["eps", "weight_decay", "amsgrad"]),
        "adamw": ("AdamW", ["eps", "weight_decay", "amsgrad"]),
    }
    cls, names = keys[name]
    args = ["model.parameters()", "lr=BASE_LR"]
    if name in ("adam", "adamw"):
        args.append(f"betas=({h['beta1']!r}, {h['beta2']!r})")
    args += [f"{k}={h[k]!r}" for k in names]
    return f"torch.optim.{cls}(\n    " + ",\n    ".join(args) + ",\n)"


def scheduler_call(name: str, p: dict[str, Any]) -> str:
    if name == "constant":
        return "None  # a constant learning rate"
    if name == "step":
        args = f"step_size={p['step_size']!r}, gamma={p['gamma']!r}"
        return f"torch.optim.lr_scheduler.StepLR(optimizer, {args})"
    if name == "exponential":
        return f"torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma={p['gamma']!r})"
    if name == "cosine":
        args = f"T_max={p['t_max']!r}, eta_min={p['eta_min']!r}"
        return f"torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, {args})"
    raise KeyError(name)


def check(snap: Snapshot) -> None:
    for layer in snap.layers:
        require(layer.activation, ACTIVATION_NAMES, layer.field, "pytorch")
    require(snap.loss, LOSS_NAMES, "loss.name", "pytorch")
    require(snap.optimizer, upd.OPTIMIZER_NAMES, "optimizer.name", "pytorch")
    require(snap.schedule, upd.SCHEDULE_NAMES, "schedule.name", "pytorch")


def _model(snap: Snapshot) -> tuple[list[str], str | None, list[int]]:
    """The Sequential's module lines, the output activation applied for predictions only, and
    the Sequential index of each BatchNorm1d."""
    lines: list[str] = []
    bn_at: list[int] = []
    final = None
    for i, layer in enumerate(snap.layers, 1):
        fan_in, fan_out = layer.W.shape
        lines.append(f"nn.Linear({fan_in}, {fan_out}),  # layer {i}")
        if layer.batchnorm:
            bn_at.append(len(lines))
            lines.append(f"nn.BatchNorm1d({fan_out}),  # momentum 0.1, eps 1e-5")
        act = activation_module(layer.activation, layer.activation_params)
        if i == len(snap.layers) and snap.on_logits:
            final = act  # the loss reads the logits
        elif act is not None:
            lines.append(f"{act},")
        if layer.dropout > 0:
            lines.append(f"SameMaskDropout({layer.dropout!r}),")
    return lines, final, bn_at


def _state(snap: Snapshot) -> list[str]:
    """Lines that fill ``opt_state``: {parameter index: {name: array}} in torch's names."""
    lines = [f"opt_state = {{}}  # after {snap.opt_t} steps"]
    if snap.opt_t == 0 and snap.optimizer != "adagrad":
        return lines  # torch starts the state on its first step, as the engine does
    keys = upd.state_keys(snap.optimizer, snap.hparams)
    if not keys:
        return ["opt_state = {}  # plain SGD remembers nothing"]
    fill = snap.hparams.get("initial_accumulator_value", 0.0)
    for k, (name, state) in enumerate(zip(snap.param_names, snap.opt_state, strict=True)):
        lines.append(f"opt_state[{k}] = {{  # {name}")
        if snap.optimizer != "sgd":
            lines.append(f'    "step": {float(snap.opt_t)!r},')
        for key in keys:
            if key in state:
                lines.append(f'    "{key}": {array_source(state[key])},')
            elif key != "momentum_buffer" or snap.optimizer != "sgd":
                value = fill if key == "sum" else 0.0
                lines.append(f'    "{key}": np.full(weights["{name}"].shape, {value!r}),')
        lines.append("}")
    return lines


def pytorch_source(snap: Snapshot, lang: str = "en", file_name: str = "session.py") -> str:
    """The whole file as text (see the module docstring)."""
    check(snap)
    w = words(lang)
    modules, final, bn_at = _model(snap)
    run = w["run"].format(file=file_name, step=snap.iteration, epoch=snap.epoch)
    named = zip(snap.param_names, snap.params, strict=True)
    weights = [f'    "{name}": {array_source(p)},' for name, p in named]
    buffers = []
    for at, layer in zip(bn_at, [la for la in snap.layers if la.batchnorm], strict=True):
        assert layer.running_mean is not None and layer.running_var is not None
        buffers += [
            f'    "{at}.running_mean": {array_source(layer.running_mean)},',
            f'    "{at}.running_var": {array_source(layer.running_var)},',
        ]
    lines = [
        f'"""{w["title"]}.\n\n{run}\n"""',
        "",
        "import base64\nimport sys\nimport zlib\n",
        "import numpy as np\nimport torch\nfrom torch import nn",
        "",
        "torch.set_default_dtype(torch.float64)  # the page computes in float64",
        "",
        "",
        UNPACK_SOURCE.rstrip("\n"),
        "",
        "",
        data_source(snap, w["data"]).rstrip("\n"),
        "",
        f"# ---- {w['state']}",
        "rng = np.random.default_rng()",
        f"rng.bit_generator.state = {rng_state_source(snap.rng_state)}",
        f"perm = {array_source(snap.perm)}",
        f"pointer = {snap.pointer}",
        f"iteration = {snap.iteration}",
        f"epoch = {snap.epoch}",
        f"BATCH_SIZE = {snap.batch_size}",
        f"BASE_LR = {snap.hparams['lr']!r}",
        f"LR_NOW = {snap.lr_now!r}  # the scheduled rate of this epoch",
        "",
        "",
        "class SameMaskDropout(nn.Dropout):",
        f'    """{w["same_mask"]}."""',
        "",
        "    def forward(self, x):",
        "        if not self.training:",
        "            return x",
        "        keep = 1.0 - self.p",
        "        return x * torch.from_numpy((rng.random(tuple(x.shape)) < keep) / keep)",
        "",
        "",
        f"# ---- {w['model']}",
        "model = nn.Sequential(",
        *(f"    {m}" for m in modules),
        ")",
        f"output_activation = {final or 'nn.Identity()'}  # for predictions",
        f"loss_fn = {loss_module(snap.loss, snap.loss_params)}",
        "",
        f"# ---- {w['params']}",
        "weights = {",
        *weights,
        "}",
        "running = {",
        *buffers,
        "}",
        "state = {}",
        "for (key, p), value in zip(model.named_parameters(), weights.values()):",
        "    state[key] = torch.from_numpy(value.T.copy() if p.ndim == 2 else value)",
        "for key, value in running.items():",
        "    state[key] = torch.from_numpy(value)",
        "model.load_state_dict(state, strict=False)  # num_batches_tracked is not used",
        "",
        f"# ---- {w['opt_state']}",
        f"optimizer = {optimizer_call(snap.optimizer, snap.hparams)}",
        *_state(snap),
        "saved = optimizer.state_dict()",
        "params = list(model.parameters())",
        "for k, param_state in opt_state.items():  # W's state, like W, is transposed",
        '    saved["state"][k] = {',
        '        key: torch.tensor(v) if key == "step" else torch.from_numpy(',
        "            v.T.copy() if params[k].ndim == 2 else v",
        "        )",
        "        for key, v in param_state.items()",
        "    }",
        "optimizer.load_state_dict(saved)",
        f"scheduler = {scheduler_call(snap.schedule, snap.schedule_params)}",
        *(
            []
            if snap.schedule == "constant"
            else [
                "# resume the schedule at this epoch",
                'resumed = {"last_epoch": epoch, "_last_lr": [LR_NOW]}',
                "scheduler.load_state_dict({**scheduler.state_dict(), **resumed})",
            ]
        ),
        "for group in optimizer.param_groups:",
        '    group["lr"] = LR_NOW',
    ]
    return "\n".join(lines) + "\n\n\n" + _loop(snap, w)


def _loop(snap: Snapshot, w: dict[str, str]) -> str:
    """penalty(), train_step(), train(), predict(), current_parameters() and the main block."""
    rate = snap.reg_rate
    if snap.reg_kind == "l2":
        pen = f"{rate!r} / 2 * sum((m.weight**2).sum() for m in linears)"
    elif snap.reg_kind == "l1":
        pen = f"{rate!r} * sum(m.weight.abs().sum() for m in linears)"
    else:
        pen = "0.0"
    clip = (
        f"    torch.nn.utils.clip_grad_norm_(model.parameters(), {snap.clip_norm!r})\n"
        if snap.clip_norm is not None
        else ""
    )
    return f'''X_train, Y_train = torch.from_numpy(x_train), torch.from_numpy(y_train)
X_test, Y_test = torch.from_numpy(x_test), torch.from_numpy(y_test)
linears = [m for m in model if isinstance(m, nn.Linear)]


def penalty():
    """The regularization term added to the loss (weights only, never biases)."""
    return {pen}


def train_step():
    """{w["step"]} Returns the batch\'s loss (without the penalty)."""
    global pointer, perm, epoch, iteration
    idx = torch.from_numpy(perm[pointer : pointer + BATCH_SIZE])
    model.train()
    optimizer.zero_grad()
    loss = loss_fn(model(X_train[idx]), Y_train[idx])
    (loss + penalty()).backward()
{clip}    optimizer.step()
    iteration += 1
    pointer += len(idx)
    if pointer >= N_TRAIN:
        # {w["epoch_end"]}
        epoch += 1
        pointer = 0
        perm = rng.permutation(N_TRAIN)
        if scheduler is not None:
            scheduler.step()
    return loss.item()


def train(steps):
    """Run ``steps`` training steps; returns their losses."""
    return [train_step() for _ in range(steps)]


def predict(x):
    """The output in eval mode: running batch-norm statistics, no dropout."""
    model.eval()
    with torch.no_grad():
        return output_activation(model(torch.as_tensor(x))).numpy()


def current_parameters():
    """Every parameter in the page\'s layout (W as inputs × units): W1, b1, (gamma1, beta1), ..."""
    return [p.detach().numpy().T.copy() for p in model.parameters()]


def running_statistics():
    """Batch norm\'s running mean and variance, layer by layer."""
    return [b.numpy().copy() for name, b in model.named_buffers() if "running" in name]


if __name__ == "__main__":
    left = -(-(N_TRAIN - pointer) // BATCH_SIZE)  # the steps to the epoch\'s end
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else left
    for _ in range(steps):
        loss = train_step()
        print(f"step {{iteration}}  epoch {{epoch}}  loss {{loss:.6f}}")
    if len(x_test):
        model.eval()
        with torch.no_grad():
            test_loss = loss_fn(model(X_test), Y_test).item()
        print("{w["report"]}".format(loss=f"{{test_loss:.6f}}"))
'''
