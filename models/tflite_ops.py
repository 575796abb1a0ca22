"""Read the operator list of a ``.tflite`` flatbuffer without TensorFlow.

Why: model cards and the builtin-only check need the op codes actually in the
file (the converter's own compatibility reports proved unreliable). Uses the
schema module shipped inside ai-edge-litert; no interpreter is created.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpCode:
    name: str  # builtin name, e.g. CONV_2D; for custom ops the custom code
    builtin: bool  # False for CUSTOM ops (incl. Flex)
    custom_code: str | None = None

    @property
    def is_flex(self) -> bool:
        return self.custom_code is not None and self.custom_code.startswith("Flex")


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def op_codes(data: bytes) -> list[OpCode]:
    """Distinct operator codes declared in the model (subgraph-independent)."""
    from ai_edge_litert import schema_py_generated as schema

    names = _builtin_names()
    custom = schema.BuiltinOperator.CUSTOM
    model = schema.Model.GetRootAsModel(data, 0)
    out = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        # builtin codes > 127 live in BuiltinCode(); older files use DeprecatedBuiltinCode()
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        if code == custom:
            cc = oc.CustomCode()
            text = cc.decode() if isinstance(cc, bytes) else str(cc)
            out.append(OpCode(text, builtin=False, custom_code=text))
        else:
            out.append(OpCode(names.get(code, f"BUILTIN_{code}"), builtin=True))
    return out


def op_counts(data: bytes) -> dict[str, int]:
    """How many times each operator is used across all subgraphs, by name."""
    from ai_edge_litert import schema_py_generated as schema

    codes = op_codes(data)
    model = schema.Model.GetRootAsModel(data, 0)
    counts: dict[str, int] = {}
    for s in range(model.SubgraphsLength()):
        sg = model.Subgraphs(s)
        for j in range(sg.OperatorsLength()):
            name = codes[sg.Operators(j).OpcodeIndex()].name
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items()))
