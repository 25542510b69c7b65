"""Explaining one iteration: the chain rule of one weight and every phase's numbers, as the
page's phase panel and chain-rule inspector show them (engine/inspect/chain.py,
engine/inspect/phase_numbers.py). The weight is ``W[layer][i, j]`` (input unit i of layer
``layer`` → its unit j, counted from 0 as ``/state`` counts them); without them, the output
layer's ``W[0, 0]``. An index outside the net is a 422 naming ``layer``, ``i`` or ``j`` and
its range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Query

from app.api.deps import ManagerDep, SessionDep
from app.core.errors import engine_error
from engine.inspect.chain import chain as chain_of
from engine.inspect.phase_numbers import phase_numbers as phase_numbers_of

router = APIRouter(prefix="/sessions/{session_id}", tags=["readouts"])

Index = Annotated[int | None, Query(ge=0, le=1_000_000)]


class Edge(NamedTuple):
    """The weight ``W[layer][i, j]`` a panel explains (None: the output layer's ``[0, 0]``)."""

    layer: int | None
    i: int | None
    j: int | None


async def edge_of(layer: Index = None, i: Index = None, j: Index = None) -> Edge:
    """The query's weight (async: a sync dependency would take a thread-pool thread)."""
    return Edge(layer, i, j)


EdgeDep = Annotated[Edge, Depends(edge_of)]


@router.get("/chain")
def chain(session: SessionDep, manager: ManagerDep, edge: EdgeDep) -> dict[str, Any]:
    """dL/dw_ij = a_i · δ_j factor by factor for the traced example (``example``: a_i, z_j,
    f′(z_j), Σ w δ or dL/dŷ, δ_j, product, the trace's dW), and the last batch's stored dW as
    mean of per-example products + penalty, times the clip factor (``batch``)."""
    return _read(session, manager, chain_of, edge)


@router.get("/phase-numbers")
def phase_numbers(session: SessionDep, manager: ManagerDep, edge: EdgeDep) -> dict[str, Any]:
    """Every number of the phase panel: per layer the traced example's z, a (``forward``) and
    δ with the batch dW's entry and norm (``backward``); ŷ, y, the example's and the batch's
    loss (``loss``); the chosen weight's last update by the optimizer's rule (``update``)."""
    return _read(session, manager, phase_numbers_of, edge)


def _read(
    session: Any, manager: Any, read: Callable[..., dict[str, Any]], edge: Edge
) -> dict[str, Any]:
    """``read(trainer, layer, i, j)`` under the session's lock; a bad edge is a 422 naming
    its field (the engine's ValueError names it)."""
    with session.lock:
        t = manager.load(session)
        try:
            out = read(t, edge.layer, edge.i, edge.j)
        except ValueError as exc:
            raise engine_error(exc) from None
    out["session"] = {"id": session.id, "generation": session.generation}
    return out
