"""PhoneFarm's Python client: `from phonefarm import Farm` (see phonefarm/client.py).

The name `phonefarm` is the client's; the server keeps its own packages (server/, worker/, ...).
"""

from phonefarm.client import Comparison, Farm, Job
from phonefarm.errors import FarmError, FarmUnreachable

__all__ = ["Comparison", "Farm", "FarmError", "FarmUnreachable", "Job"]
