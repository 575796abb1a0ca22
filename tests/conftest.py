"""Every test runs without the user's farm config (~/.config/phonefarm/config.toml).

`farm up` records where the farm is in that file and every farm process reads it; a test
reading a developer's (or a parallel session's) file would talk to the wrong farm.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ["FARM_CONFIG"] = str(Path(tempfile.mkdtemp(prefix="farm-config-")) / "config.toml")
