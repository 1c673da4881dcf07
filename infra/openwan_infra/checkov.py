"""Record checkov suppressions next to the resource they concern.

checkov reads ``Metadata.checkov.skip`` on each CloudFormation resource; writing it from the
construct keeps every accepted finding, with its reason, in code review.
"""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def skip_checks(resource: IConstruct, *checks: tuple[str, str]) -> None:
    """Attach ``(check_id, reason)`` suppressions to a resource (L1 or L2)."""
    cfn = resource if isinstance(resource, CfnResource) else resource.node.default_child
    if not isinstance(cfn, CfnResource):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource to annotate")
    existing = cfn.get_metadata("checkov") or {"skip": []}
    skips = list(existing["skip"])
    known = {entry["id"] for entry in skips}
    skips.extend({"id": cid, "comment": why} for cid, why in checks if cid not in known)
    cfn.add_metadata("checkov", {"skip": skips})
