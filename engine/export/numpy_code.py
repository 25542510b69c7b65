"""A session as one self-contained NumPy file that continues its training.

The file holds the session's data rows, parameters, optimizer state and random generator state
(exactly: ``repr`` floats or packed raw float64, see :func:`snapshot.array_source`), and writes the
forward pass, loss, backward pass and update for *this* architecture, layer by layer, with the
formulas of engine/layers.py. Running it takes the batches the session would take next, in the
same order (the epoch's shuffle ``perm``, the pointer into it, and the PCG64 state that draws the
next shuffles and the dropout masks), so its losses and weights are the engine's to rounding.

    text = numpy_source(snapshot(trainer), lang="en")
"""

from __future__ import annotations

from engine.export import numpy_parts as parts
from engine.export import numpy_update as upd
from engine.export.snapshot import (
    UNPACK_SOURCE,
    LayerSpec,
    Snapshot,
    array_source,
    require,
    rng_state_source,
)
from engine.export.words import words


def check(snap: Snapshot) -> None:
    """ExportError naming the field of any component this generator does not write."""
    for layer in snap.layers:
        require(layer.activation, parts.ACTIVATION_NAMES, layer.field, "numpy")
    require(snap.loss, parts.LOSS_NAMES, "loss.name", "numpy")
    require(snap.optimizer, upd.OPTIMIZER_NAMES, "optimizer.name", "numpy")
    require(snap.schedule, upd.SCHEDULE_NAMES, "schedule.name", "numpy")


def numpy_source(snap: Snapshot, lang: str = "en", file_name: str = "session.py") -> str:
    """The whole file as text (see the module docstring)."""
    check(snap)
    w = words(lang)
    n = len(snap.layers)
    out_name = f"z{n}" if snap.on_logits else f"a{n}"
    sizes = " → ".join([str(snap.x_train.shape[1])] + [str(la.W.shape[1]) for la in snap.layers])
    run = w["run"].format(file=file_name, step=snap.iteration, epoch=snap.epoch)
    sections = [
        f'"""{sizes} network on {snap.dataset!r} — {w["title"]}.\n\n{run}\n"""\n',
        "import base64\nimport math\nimport sys\nimport zlib\n\nimport numpy as np\n\n",
        UNPACK_SOURCE,
        data_source(snap, w["data"]),
        _params(snap, w),
        _helpers(snap),
        _forward(snap, w),
        parts.loss(snap.loss, snap.loss_params),
        _backward(snap, w),
        upd.penalty(snap.reg_kind, snap.reg_rate),
        upd.clipping(snap.clip_norm),
        upd.schedule(snap.schedule, snap.schedule_params),
        upd.optimizer(snap.optimizer, snap.hparams),
        _train(snap, w, out_name),
    ]
    return "\n\n\n".join(s.rstrip("\n") for s in sections if s) + "\n"


def data_source(snap: Snapshot, title: str) -> str:
    return (
        f"# ---- {title}\n"
        f"x_train = {array_source(snap.x_train)}\n"
        f"y_train = {array_source(snap.y_train)}\n"
        f"x_test = {array_source(snap.x_test.reshape(-1, snap.x_train.shape[1]))}\n"
        f"y_test = {array_source(snap.y_test)}\n"
        f"N_TRAIN = {snap.x_train.shape[0]}\n"
    )


def _params(snap: Snapshot, w: dict[str, str]) -> str:
    lines = [f"# ---- {w['params']}", "P = {}"]
    running = ["R = {}  # batch norm's running mean and variance"]
    for i, layer in enumerate(snap.layers, 1):
        lines.append(f'P["W{i}"] = {array_source(layer.W)}')
        lines.append(f'P["b{i}"] = {array_source(layer.b)}')
        if layer.gamma is not None and layer.beta is not None:
            lines.append(f'P["gamma{i}"] = {array_source(layer.gamma)}')
            lines.append(f'P["beta{i}"] = {array_source(layer.beta)}')
            assert layer.running_mean is not None and layer.running_var is not None
            running.append(f'R["mean{i}"] = {array_source(layer.running_mean)}')
            running.append(f'R["var{i}"] = {array_source(layer.running_var)}')
    lines += running
    lines += [
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
        "",
        f"# ---- {w['opt_state']}",
        f"opt_t = {snap.opt_t}",
        "S = {name: {} for name in P}",
    ]
    keys = upd.state_keys(snap.optimizer, snap.hparams)
    fill = (
        snap.hparams.get("initial_accumulator_value", 0.0) if snap.optimizer == "adagrad" else 0.0
    )
    for name, state in zip(snap.param_names, snap.opt_state, strict=True):
        for key in keys:
            if key in state:
                lines.append(f'S["{name}"]["{key}"] = {array_source(state[key])}')
            elif not (snap.optimizer == "sgd" and key == "momentum_buffer"):
                lines.append(f'S["{name}"]["{key}"] = np.full(P["{name}"].shape, {fill!r})')
    return "\n".join(lines) + "\n"


def _helpers(snap: Snapshot) -> str:
    names: list[str] = []
    for layer in snap.layers:
        names += parts.helpers_for(layer.activation, layer.activation_params)
    names += parts.loss_helpers(snap.loss)
    # predict() applies the output activation even when the loss reads the logits
    last = snap.layers[-1]
    names += parts.helpers_for(last.activation, last.activation_params)
    seen = list(dict.fromkeys(names))
    return "\n\n".join(parts.HELPERS[h] for h in seen) if seen else ""


def _layer_title(i: int, layer: LayerSpec, n_in: int) -> str:
    bn = ", batch norm" if layer.batchnorm else ""
    drop = f", dropout {layer.dropout!r}" if layer.dropout > 0 else ""
    return f"    # layer {i}: {n_in} → {layer.W.shape[1]}{bn}, {layer.activation}{drop}"


def _forward(snap: Snapshot, w: dict[str, str]) -> str:
    lines = [
        "def forward(x, train):",
        f'    """{w["forward"]}\n\n    Returns what the backward pass reads (z1, a1, ...)."""',
        '    c = {"a0": x}',
        "    n = len(x)",
    ]
    for i, layer in enumerate(snap.layers, 1):
        lines.append(_layer_title(i, layer, layer.W.shape[0]))
        lines.append(f'    u = c["a{i - 1}"] @ P["W{i}"] + P["b{i}"]')
        if layer.batchnorm:
            lines += [
                f"    # {w['batchnorm']}",
                "    if train:",
                "        mean = u.mean(axis=0)",
                "        var = ((u - mean) ** 2).mean(axis=0)",
                "        # running variance: unbiased, var · n / (n − 1), as torch",
                f'        c["stats{i}"] = (mean, var * n / (n - 1) if n > 1 else var)',
                "    else:",
                f'        mean, var = R["mean{i}"], R["var{i}"]',
                f'    c["inv_std{i}"] = 1.0 / np.sqrt(var + 1e-05)',
                f'    c["u_hat{i}"] = (u - mean) * c["inv_std{i}"]',
                f'    u = c["u_hat{i}"] * P["gamma{i}"] + P["beta{i}"]',
            ]
        fwd, _ = parts.activation(layer.activation, layer.activation_params)
        lines += [f'    c["z{i}"] = z = u', f'    c["f{i}"] = a = {fwd.format(z="z")}']
        if layer.dropout > 0:
            keep = repr(1.0 - layer.dropout)
            lines += [
                f"    # {w['dropout'].format(keep=keep)}",
                "    if train:",
                f'        c["mask{i}"] = (rng.random(a.shape) < {keep}) / {keep}',
                f'        a = a * c["mask{i}"]',
            ]
        lines.append(f'    c["a{i}"] = a')
    lines.append("    return c")
    return "\n".join(lines) + "\n"


def _backward(snap: Snapshot, w: dict[str, str]) -> str:
    n = len(snap.layers)
    lines = [
        "def backward(c, y):",
        f'    """{w["backward"]}\n\n    Returns the gradient of every parameter, by name."""',
        "    grads = {}",
        "    n = len(y)",
    ]
    for i in range(n, 0, -1):
        layer = snap.layers[i - 1]
        lines.append(_layer_title(i, layer, layer.W.shape[0]))
        _, back = parts.activation(layer.activation, layer.activation_params)
        z, a = f'c["z{i}"]', f'c["f{i}"]'
        if i == n and snap.on_logits:
            lines += [f"    # {w['out_delta_logits']}", f"    d = loss_grad({z}, y)"]
        else:
            if i == n:
                lines += [f"    # {w['out_delta']}", f"    ga = loss_grad({a}, y)"]
            elif layer.dropout > 0:
                lines.append(f'    ga = ga * c["mask{i}"]  # dropout: the kept units only')
            lines.append(f"    d = {back.format(z=z, a=a, g='ga')}  # δ{i} = dL/dz{i}")
        if layer.batchnorm:
            lines += [
                f"    # {w['bn_back']}",
                f'    grads["gamma{i}"] = (d * c["u_hat{i}"]).sum(axis=0)',
                f'    grads["beta{i}"] = d.sum(axis=0)',
                f'    d = P["gamma{i}"] * c["inv_std{i}"] * (',
                f'        d - grads["beta{i}"] / n - c["u_hat{i}"] * (grads["gamma{i}"] / n)',
                "    )",
            ]
        lines += [
            f'    grads["W{i}"] = c["a{i - 1}"].T @ d',
            f'    grads["b{i}"] = d.sum(axis=0)',
        ]
        if i > 1:
            lines.append(f'    ga = d @ P["W{i}"].T  # dL/da{i - 1}, for the layer below')
    lines.append("    return {name: grads[name] for name in P}")
    return "\n".join(lines) + "\n"


def _train(snap: Snapshot, w: dict[str, str], out_name: str) -> str:
    n = len(snap.layers)
    commit = []
    for i, layer in enumerate(snap.layers, 1):
        if layer.batchnorm:
            commit += [
                f'    mean, var = c["stats{i}"]',
                f'    R["mean{i}"] = 0.9 * R["mean{i}"] + 0.1 * mean',
                f'    R["var{i}"] = 0.9 * R["var{i}"] + 0.1 * var',
            ]
    if commit:
        commit.insert(0, f"    # {w['running']}")
    fwd_last, _ = parts.activation(snap.layers[-1].activation, snap.layers[-1].activation_params)
    return "\n".join(
        [
            "def train_step():",
            f'    """{w["step"]} Returns the batch\'s loss (without the penalty)."""',
            "    global pointer, perm, epoch, iteration",
            "    idx = perm[pointer : pointer + BATCH_SIZE]",
            "    xb, yb = x_train[idx], y_train[idx]",
            "    c = forward(xb, train=True)",
            f'    loss = loss_value(c["{out_name}"], yb)',
            "    grads = backward(c, yb)",
            "    add_penalty_grad(grads)",
            "    clip_gradients(grads)",
            "    optimizer_step(grads, learning_rate(epoch))",
            *commit,
            "    iteration += 1",
            "    pointer += len(idx)",
            "    if pointer >= N_TRAIN:",
            f"        # {w['epoch_end']}",
            "        epoch += 1",
            "        pointer = 0",
            "        perm = rng.permutation(N_TRAIN)",
            "    return loss",
            "",
            "",
            "def train(steps):",
            '    """Run ``steps`` training steps; returns their losses."""',
            "    return [train_step() for _ in range(steps)]",
            "",
            "",
            "def predict(x):",
            '    """The output in eval mode: running batch-norm statistics, no dropout."""',
            f"    return {fwd_last.format(z=f'forward(x, train=False)[{chr(34)}z{n}{chr(34)}]')}",
            "",
            "",
            "def current_parameters():",
            '    """Every parameter in the page\'s order: W1, b1, (gamma1, beta1), W2, ..."""',
            "    return list(P.values())",
            "",
            "",
            "def running_statistics():",
            '    """Batch norm\'s running mean and variance, layer by layer."""',
            "    return list(R.values())",
            "",
            "",
            'if __name__ == "__main__":',
            "    left = -(-(N_TRAIN - pointer) // BATCH_SIZE)  # the steps to the epoch's end",
            "    steps = int(sys.argv[1]) if len(sys.argv) > 1 else left",
            "    for _ in range(steps):",
            "        loss = train_step()",
            '        print(f"step {iteration}  epoch {epoch}  loss {loss:.6f}")',
            "    if len(x_test):",
            f'        test_loss = loss_value(forward(x_test, train=False)["{out_name}"], y_test)',
            f'        print("{w["report"]}".format(loss=f"{{test_loss:.6f}}"))',
        ]
    )
