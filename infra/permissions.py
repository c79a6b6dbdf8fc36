"""The IAM actions DIVA's code needs, per role, in one place.

The stacks grant exactly these (on the narrowest resource), the README ("Deploying DIVA on AWS") lists them for
people who bring their own role, and tests/infra/test_byo_permissions.py checks both against
the boto3 calls the runtime code makes. Permissions the platform uses on the function's
behalf (logs, VPC network interfaces, KMS, dead-letter queue) are granted in the constructs.
"""

from __future__ import annotations

# Monolithic mode: one S3 object, compare-and-set by ETag. IfMatch needs s3:GetObject as well
# as s3:PutObject; s3:ListBucket turns a missing state object into 404 instead of 403, so the
# code can tell "no state yet" from "no access".
MONOLITHIC_STATE = ("s3:GetObject", "s3:PutObject", "s3:ListBucket")

# Hub (and distributed single stack): state and result items in the hub table, exactly the
# calls the runtime makes (tests/infra/test_byo_permissions.py keeps this honest). Scan: the
# state store lists every state item when the caller does not name its events.
HUB_TABLE = (
    "dynamodb:BatchGetItem",
    "dynamodb:Scan",
    "dynamodb:PutItem",
)
HUB_ALERTS = ("sns:Publish",)
HUB_DISPATCH = ("lambda:InvokeFunction",)
# Only when spokes are targeted by OU: the hub learns its spoke accounts from the StackSet.

# Spoke execution role: become the hub access role with a session tag.
SPOKE_ASSUME = ("sts:AssumeRole", "sts:TagSession")

# Hub access role (what a spoke can do once it has assumed it): its own result items only,
# enforced by dynamodb:LeadingKeys. Never Scan/Query: ForAllValues over an empty key set is true.
SPOKE_RESULTS = ("dynamodb:PutItem",)
