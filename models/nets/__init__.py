"""One module per network. Each exposes ``build_model(...) -> keras.Model``.

These modules import Keras at module import time, so only import them lazily
(the registry in ``models.zoo`` does) to keep TensorFlow optional.
"""
