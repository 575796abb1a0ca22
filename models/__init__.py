"""PhoneFarm model zoo: segmentation networks to benchmark on phones.

Why a separate package: TensorFlow is an optional extra (``pip install .[zoo]``).
The farm service only needs LiteRT to inspect and run ``.tflite`` files, so nothing
here may import TensorFlow at import time; modules that need it import it inside
their functions (see ``models/nets``, ``models/convert.py``).
"""
