"""Monthly AWS cost estimate of an OpenWan deployment sizing (``openwan cost``).

Reads the same deployment configuration files as ``infra/`` (JSON, standard library only:
the runtime package must not depend on the CDK or on PyYAML) and a dated unit-price file.
"""

from .estimate import Estimate, LineItem, estimate, load_prices
from .sizing import Sizing, load_sizing

__all__ = ["Estimate", "LineItem", "Sizing", "estimate", "load_prices", "load_sizing"]
