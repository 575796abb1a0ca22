"""Build zoo models into ``.tflite`` files plus a JSON model card each.

Why model cards: the farm compares phones on *these exact files*, so each file
carries the facts needed to read a benchmark (input/output shape, parameters,
MACs, size, the TFLite ops it actually contains — which decide delegate
coverage — and the quantisation) measured from the artefact, not copied from a
paper. Outputs are ordinary ``.tflite`` flatbuffers, nothing farm-specific.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from models.convert import QUANTS, to_tflite
from models.tflite_ops import op_codes, op_counts
from models.zoo import ZOO, get


@dataclass
class ModelCard:
    name: str
    quant: str
    file: str
    input_shape: list[int]
    output_shape: list[int]
    parameters: int
    macs: int  # see models/macs.py for what is counted
    size_bytes: int
    ops: dict[str, int]  # TFLite operator name → number of uses
    builtin_only: bool
    description: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        return cls(**json.loads(text))


def _io_shapes(data: bytes) -> tuple[list[int], list[int]]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_content=data)
    inp = [int(d) for d in it.get_input_details()[0]["shape"]]
    out = [int(d) for d in it.get_output_details()[0]["shape"]]
    return inp, out


def card_for(
    name: str, quant: str, data: bytes, parameters: int, macs: int, file: str, description: str = ""
) -> ModelCard:
    inp, out = _io_shapes(data)
    return ModelCard(
        name=name,
        quant=quant,
        file=file,
        input_shape=inp,
        output_shape=out,
        parameters=parameters,
        macs=macs,
        size_bytes=len(data),
        ops=op_counts(data),
        builtin_only=all(oc.builtin for oc in op_codes(data)),
        description=description,
    )


def markdown_table(cards: Iterable[ModelCard], seed_mb: dict[str, float | None] | None = None) -> str:
    """The zoo table (one row per network, sizes per quantisation) in Markdown."""
    by_name: dict[str, dict[str, ModelCard]] = {}
    for c in cards:
        by_name.setdefault(c.name, {})[c.quant] = c
    quants = [q for q in QUANTS if any(q in v for v in by_name.values())]
    head = ["network", "input", "params (M)", "GMACs", *[f"{q} (MB)" for q in quants], "seed fp32 (MB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, per_q in by_name.items():
        any_card = next(iter(per_q.values()))
        _, h, w, ch = any_card.input_shape
        sizes = [f"{per_q[q].size_bytes / 1e6:.2f}" if q in per_q else "–" for q in quants]
        seed = (seed_mb or {}).get(name)
        row = [
            name,
            f"{h}×{w}×{ch}",
            f"{any_card.parameters / 1e6:.2f}",
            f"{any_card.macs / 1e9:.2f}",
            *sizes,
            "–" if seed is None else f"{seed}",
        ]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def parse_list(text: str | None) -> list[str] | None:
    """``"a,b"`` → ``["a", "b"]``; empty/None → None."""
    if not text:
        return None
    return [p.strip() for p in text.split(",") if p.strip()]


def build(
    only: list[str] | None,
    quants: Iterable[str],
    out_dir: Path,
    on_done: Callable[[ModelCard], None] | None = None,
) -> list[ModelCard]:
    """Build ``only`` (default: the whole zoo) in each quantisation into ``out_dir``.

    Writes ``<name>_<quant>.tflite`` and ``<name>_<quant>.json``; each Keras model
    is built once and converted once per quantisation. Returns the cards in order.
    """
    from models.macs import count_macs

    quants = list(quants)
    for q in quants:
        if q not in QUANTS:
            raise ValueError(f"unknown quant {q!r}; expected one of {', '.join(QUANTS)}")
    entries = [get(n) for n in (only or list(ZOO))]
    out_dir.mkdir(parents=True, exist_ok=True)
    cards = []
    for entry in entries:
        model = entry.build_keras()
        params, macs = int(model.count_params()), count_macs(model)
        for q in quants:
            data = to_tflite(model, q)
            stem = f"{entry.name}_{q}"
            (out_dir / f"{stem}.tflite").write_bytes(data)
            card = card_for(entry.name, q, data, params, macs, f"{stem}.tflite", entry.description)
            (out_dir / f"{stem}.json").write_text(card.to_json() + "\n")
            cards.append(card)
            if on_done:
                on_done(card)
        del model
    return cards
