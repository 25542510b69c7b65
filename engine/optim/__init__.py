"""Optimizers, gradient clipping and learning-rate schedules.

Importing this package registers every optimizer in :data:`OPTIMIZERS`, here, in order of
increasing complexity (the order catalogs list them in), and every schedule in
:data:`SCHEDULES`::

    from engine.optim import OPTIMIZERS, SCHEDULES, clip_grad_norm

    opt = OPTIMIZERS.create("adam", {"lr": 0.01})
    lr = SCHEDULES.create("cosine", {"t_max": 50}).lr(0.01, epoch)
"""

from engine.optim.adaptive import Adagrad, Adam, AdamW, RMSprop
from engine.optim.base import OPTIMIZERS, Optimizer
from engine.optim.clipping import clip_grad_norm
from engine.optim.lbfgs import LBFGS
from engine.optim.newton import Newton
from engine.optim.schedules import SCHEDULES, Schedule
from engine.optim.second_order import Objective, SecondOrder
from engine.optim.sgd import SGD

for _rule in (SGD, Adagrad, RMSprop, Adam, AdamW, LBFGS, Newton):
    OPTIMIZERS.register(_rule)

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adagrad",
    "LBFGS",
    "Adam",
    "AdamW",
    "Newton",
    "Objective",
    "Optimizer",
    "RMSprop",
    "Schedule",
    "SecondOrder",
    "clip_grad_norm",
]
