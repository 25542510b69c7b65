"""Reading a trainer without changing it: numbers, checks and pictures of the run.

* :mod:`~engine.inspect.readouts` — metrics per split and snapshots of every number (z, a,
  δ, dW, Δ, optimizer state, the probe example's chain rule);
* :mod:`~engine.inspect.gradcheck` — backprop's gradient beside central differences;
* :mod:`~engine.inspect.landscape` and :mod:`~engine.inspect.directions` — the loss along 1-D
  and 2-D slices through the weights;
* :mod:`~engine.inspect.decision` — the decision surface: the network's output (and every
  neuron's) over the input plane.

The entry points take the trainer as their first argument, e.g.
``readouts.snapshot(trainer, {"probe"})``, ``gradcheck.gradcheck(trainer)``,
``landscape.landscape(trainer, spec)``, ``decision.decision_surface(trainer)``; nothing here
changes it (the gradient check nudges a copy of the network).
"""
