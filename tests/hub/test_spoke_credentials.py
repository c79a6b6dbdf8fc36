"""The spoke writes with the hub access role, assumed with the external id and its own account tag.

moto accepts any AssumeRole call and checks no trust condition, so these tests watch the
calls themselves: a botocore hook on the spoke's own session sees the exact parameters the
hub role's trust policy (`sts:ExternalId`, `aws:RequestTag/SpokeAccount`) would judge.
"""

from __future__ import annotations

import json

from contracts.commands import CommandBatch, ProbeCommand
from diva_runtime.settings import Settings
from spoke.app import build_spoke
from tests.hub.world import EXTERNAL_ID, HUB, HUB_ROLE, SPOKE_A, TABLE, World, session_for

CYCLE_0 = "20261204T150000Z"
SPOKE_ARN = f"arn:aws:lambda:{SPOKE_A.region}:{SPOKE_A.account}:function:diva-spoke"


def _watch_assume_role(session) -> tuple[list[dict], list[dict]]:
    """(parameters sent, credentials returned) of every AssumeRole made by clients of `session`."""
    sent: list[dict] = []
    returned: list[dict] = []
    session.events.register("provide-client-params.sts.AssumeRole",
                            lambda params, **_: sent.append(dict(params)))
    session.events.register("after-call.sts.AssumeRole",
                            lambda parsed, **_: returned.append(parsed["Credentials"]))
    return sent, returned


def _inject_command() -> dict:
    batch = CommandBatch(cycle_id=CYCLE_0, commands=(ProbeCommand(
        event="orders", cycle_id=CYCLE_0, action="inject", account=SPOKE_A.account, region=SPOKE_A.region),))
    return json.loads(batch.model_dump_json())


def test_the_spoke_assumes_the_configured_hub_role_with_the_external_id_and_its_own_account_tag(world: World):
    events = world.probes.events({"orders": SPOKE_A.model_dump()})
    spoke_session = session_for(SPOKE_A.account, SPOKE_A.region)
    sent, returned = _watch_assume_role(spoke_session)
    # The settings as the deployed function reads them from its environment.
    settings = Settings.from_env({"DIVA_HUB_TABLE": TABLE, "DIVA_HUB_REGION": HUB.region,
                                  "DIVA_HUB_ROLE_ARN": HUB_ROLE, "DIVA_EXTERNAL_ID": EXTERNAL_ID})
    spoke = build_spoke(settings, base_session=spoke_session, events=events)
    spoke.on_writer = world.writers.append

    reply = spoke.invoke(_inject_command(), function_arn=SPOKE_ARN)

    assert reply["written"] == 1
    assert sent == [{
        "RoleArn": HUB_ROLE,
        "RoleSessionName": f"diva-spoke-{SPOKE_A.account}",
        "ExternalId": EXTERNAL_ID,
        "Tags": [{"Key": "SpokeAccount", "Value": SPOKE_A.account}],
        "DurationSeconds": 900,
    }]
    # ... and the result is written with those credentials, not with the spoke's own.
    [writer] = world.writers
    used = writer.client._request_signer._credentials
    assert used.access_key == returned[0]["AccessKeyId"]
    assert used.access_key != spoke_session.get_credentials().access_key


def test_the_session_tag_is_the_account_of_the_function_arn_not_of_the_credentials(world: World):
    # The tag must name the spoke's own account: the trust policy compares it with
    # aws:PrincipalAccount, and the LeadingKeys condition lets it write only under it.
    events = world.probes.events({"orders": SPOKE_A.model_dump()})
    spoke = world.add_spoke(SPOKE_A, events)
    sent, _ = _watch_assume_role(spoke.base_session)

    spoke.invoke(_inject_command(), function_arn=SPOKE_ARN)
    spoke.invoke(_inject_command(), function_arn=SPOKE_ARN)

    # Assumed once per invocation: the credentials never outlive the invocation's session.
    assert [(p["RoleArn"], p["ExternalId"], p["Tags"]) for p in sent] == [
        (HUB_ROLE, EXTERNAL_ID, [{"Key": "SpokeAccount", "Value": SPOKE_A.account}])] * 2


def test_without_a_hub_role_the_spoke_writes_with_its_own_role_and_assumes_nothing(world: World):
    events = world.probes.events({"orders": SPOKE_A.model_dump()})
    spoke_session = session_for(SPOKE_A.account, SPOKE_A.region)
    sent, _ = _watch_assume_role(spoke_session)
    settings = Settings.from_env({"DIVA_HUB_TABLE": TABLE, "DIVA_HUB_REGION": HUB.region, "DIVA_HUB_ROLE_ARN": ""})
    spoke = build_spoke(settings, base_session=spoke_session, events=events)

    # moto keeps one table per account: the spoke's own account needs one to write into.
    spoke_session.client("dynamodb", region_name=HUB.region).create_table(
        TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert spoke.invoke(_inject_command(), function_arn=SPOKE_ARN)["written"] == 1
    assert sent == []
