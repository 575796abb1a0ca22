"""Every zoo network converts with builtin ops only, loads in LiteRT and runs.

Needs TensorFlow (``pip install .[zoo]``); skipped otherwise. Each model is built
once per session (fp32) through the same ``models.build.build`` the CLI uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

# building a network with TensorFlow took up to 244 s on a loaded 2-core machine (setup counts)
pytestmark = [pytest.mark.zoo, pytest.mark.timeout(1500)]
tf = pytest.importorskip("tensorflow")

from models.build import ModelCard, build  # noqa: E402
from models.tflite_ops import op_codes  # noqa: E402
from models.zoo import ZOO  # noqa: E402


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, ModelCard]]:
    out = tmp_path_factory.mktemp("zoo")
    cards = build(None, ["fp32"], out)
    return out, {c.name: c for c in cards}


def _operator_names(data: bytes) -> list[str]:
    """Op names via the server's inspector when it exists, else straight from the flatbuffer."""
    try:
        from contracts.tflite import inspect_tflite
    except ImportError:
        return [oc.name for oc in op_codes(data)]
    names = []
    for op in inspect_tflite(data).operators:
        if isinstance(op, str):
            names.append(op)
        elif isinstance(op, dict):
            names.append(str(op.get("name") or op.get("builtin_code") or op))
        else:
            names.append(str(getattr(op, "name", None) or getattr(op, "builtin_code", None) or op))
    return names


@pytest.mark.parametrize("name", list(ZOO))
def test_model_converts_loads_and_runs(built: tuple[Path, dict[str, ModelCard]], name: str) -> None:
    from ai_edge_litert.interpreter import Interpreter

    out, cards = built
    entry, card = ZOO[name], cards[name]
    path = out / f"{name}_fp32.tflite"
    assert path.stat().st_size == card.size_bytes
    assert ModelCard.from_json((out / f"{name}_fp32.json").read_text()) == card
    assert card.input_shape == list(entry.input_shape)
    assert card.output_shape == [1, entry.input_size, entry.input_size, entry.num_classes]
    assert card.builtin_only and card.parameters > 0 and card.macs > 0

    it = Interpreter(model_path=str(path), num_threads=2, experimental_preserve_all_tensors=True)
    it.allocate_tensors()
    inp, outp = it.get_input_details()[0], it.get_output_details()[0]
    x = np.random.default_rng(0).uniform(-1, 1, size=inp["shape"]).astype(np.float32)
    it.set_tensor(inp["index"], x)
    it.invoke()
    y = it.get_tensor(outp["index"])
    assert y.shape == tuple(card.output_shape)
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, atol=1e-3)  # softmax over classes
    # random weights, but not collapsed (vanishing activations give a uniform softmax)
    assert y.std() > 1e-3
    # ... nor exploding: every intermediate stays well inside float16 range (GPU delegates run fp16)
    peak = max(
        float(np.abs(it.get_tensor(t["index"])).max())
        for t in it.get_tensor_details()
        if t["dtype"] == np.float32 and np.prod(t["shape"]) > 0
    )
    assert peak < 1e4, peak


def test_sizes_near_the_seed(built: tuple[Path, dict[str, ModelCard]]) -> None:
    _, cards = built
    for name, entry in ZOO.items():
        if entry.seed_size_mb is not None:
            mb = cards[name].size_bytes / 1e6
            assert abs(mb - entry.seed_size_mb) / entry.seed_size_mb < 0.15, (name, mb)


def test_enet_is_builtin_only(built: tuple[Path, dict[str, ModelCard]]) -> None:
    out, _ = built
    data = (out / "enet_256_fp32.tflite").read_bytes()
    codes = op_codes(data)
    assert codes and all(oc.builtin for oc in codes), [oc.name for oc in codes if not oc.builtin]
    assert not any(oc.is_flex for oc in codes)
    names = _operator_names(data)
    assert not any("flex" in n.lower() or "custom" in n.lower() for n in names), names
    # the unpooling really is the builtin mask construction
    assert {"MAX_POOL_2D", "RESIZE_NEAREST_NEIGHBOR", "EQUAL", "MUL"} <= {oc.name for oc in codes}


def test_mask_unpooling_equals_true_unpooling_without_ties() -> None:
    import keras

    from models.nets.enet import max_unpool, unpool_mask

    x_in = keras.Input((4, 4, 2))
    pooled, mask = unpool_mask(x_in)
    model = keras.Model(x_in, [pooled, max_unpool(pooled * 10.0, mask)])
    x = np.random.default_rng(3).permutation(32).astype(np.float32).reshape(1, 4, 4, 2)  # distinct values
    p, up = (t.numpy() if hasattr(t, "numpy") else np.asarray(t) for t in model(x))
    expected = np.zeros_like(x)
    for i in range(2):
        for j in range(2):
            for c in range(2):
                win = x[0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, c]
                a, b = np.unravel_index(np.argmax(win), win.shape)
                expected[0, 2 * i + a, 2 * j + b, c] = win.max() * 10.0
    np.testing.assert_allclose(up, expected)
    np.testing.assert_allclose(p, x.reshape(1, 2, 2, 2, 2, 2).max(axis=(2, 4)))


def test_quantised_variants_shrink(tmp_path: Path) -> None:
    cards = {c.quant: c for c in build(["enet_256"], ["fp32", "fp16", "int8"], tmp_path)}
    assert cards["fp16"].size_bytes < 0.6 * cards["fp32"].size_bytes
    assert cards["int8"].size_bytes < 0.4 * cards["fp32"].size_bytes
    assert all(c.builtin_only for c in cards.values())
    from ai_edge_litert.interpreter import Interpreter

    for c in cards.values():
        it = Interpreter(model_path=str(tmp_path / c.file))
        it.allocate_tensors()
        it.invoke()


def test_mac_count_by_hand() -> None:
    import keras
    from keras import layers

    from models.macs import count_macs

    x_in = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same")(x_in)  # 4·4 · 3·3·3 · 4 = 1728
    x = layers.DepthwiseConv2D(3, padding="same")(x)  # 4·4 · 3·3 · 4 = 576
    x = layers.Conv2DTranspose(2, 2, strides=2)(x)  # 4·4 · 2·2 · 4 · 2 = 512
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(5)(x)  # 2·5 = 10
    assert count_macs(keras.Model(x_in, x)) == 1728 + 576 + 512 + 10


def test_fixture_recipe_makes_a_small_runnable_model(tmp_path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    from models.fixture import make_fixture

    path = make_fixture(tmp_path / "tiny.tflite")
    assert path.stat().st_size < 300_000
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    assert list(it.get_input_details()[0]["shape"]) == [1, 64, 64, 3]
    assert all(oc.builtin for oc in op_codes(path.read_bytes()))


def test_cli_build_writes_cards(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from models.cli import app

    res = CliRunner().invoke(
        app, ["build", "--only", "lraspp_mnv3_small_512", "--quant", "fp16", "--out", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "lraspp_mnv3_small_512_fp16.json").read_text())
    assert card["quant"] == "fp16" and card["ops"]["CONV_2D"] > 0
    res = CliRunner().invoke(app, ["build", "--only", "nope"])
    assert res.exit_code != 0
