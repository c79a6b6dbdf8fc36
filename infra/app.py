"""The CDK app: `cdk synth` / `cdk deploy` (cdk.json runs this file) and `diva synth`.

Configuration comes from the `diva` context value (cdk.json, or `-c diva='{...}'`) or, with
`-c diva_config=FILE`, from a JSON file; see infra/config.py and the README ("Deploying DIVA on AWS").

* deployment "single-stack" -> stack DivaStack (the seed module; diva_mode picks the shape)
* deployment "hub-spoke"    -> stack DivaHub, whose StackSet carries the DivaSpoke template.
  DivaSpoke is synthesized first in its own app (bootstrapless), so the hub can embed it.
Every stack is checked by cdk-nag AwsSolutions during synthesis: an unacknowledged finding
fails synth.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from cdk_nag import AwsSolutionsChecks

from infra import bundle
from infra.config import DivaInfraConfig, load_config
from infra.hub_stack import HubStack
from infra.monolith_stack import MonolithStack
from infra.spoke_stack import SpokeStack

SINGLE_STACK = "DivaStack"
HUB_STACK = "DivaHub"
SPOKE_STACK = "DivaSpoke"


@dataclass
class Synthesized:
    """Templates by stack name, and where they were written."""

    templates: dict[str, dict] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    stacks: dict[str, cdk.Stack] = field(default_factory=dict)


def _checked_app(outdir: Path, context: dict | None = None) -> cdk.App:
    app = cdk.App(outdir=str(outdir), context=context or {})
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def _collect(assembly: cdk.cx_api.CloudAssembly, result: Synthesized) -> None:
    for artifact in assembly.stacks:
        result.templates[artifact.stack_name] = artifact.template
        result.files[artifact.stack_name] = Path(assembly.directory) / artifact.template_file


def build(
    config: DivaInfraConfig,
    *,
    outdir: str | Path,
    code_dir: str | Path | None = None,
    env: cdk.Environment | None = None,
) -> Synthesized:
    """Synthesize every stack `config` asks for into `outdir`; nag runs on each."""
    outdir = Path(outdir)
    code_dir = Path(code_dir) if code_dir else outdir.parent / f".{outdir.name}-code"
    bundle.stage(code_dir, event_logic_path=config.event_logic_path, events_module=config.events_module)
    code = lambda_.Code.from_asset(str(code_dir))
    result = Synthesized()
    if config.deployment == "single-stack":
        app = _checked_app(outdir)
        stack = MonolithStack(app, SINGLE_STACK, config=config, code=code, env=env)
        result.stacks[SINGLE_STACK] = stack
        _collect(app.synth(), result)
        return result

    spoke_app = _checked_app(outdir / "spoke.out")
    spoke = SpokeStack(spoke_app, SPOKE_STACK, config=config)
    result.stacks[SPOKE_STACK] = spoke
    _collect(spoke_app.synth(), result)
    spoke_template = result.templates[SPOKE_STACK]

    app = _checked_app(outdir)
    hub = HubStack(
        app, HUB_STACK, config=config, code=code,
        spoke_template_body=json.dumps(spoke_template, separators=(",", ":"), sort_keys=True), env=env,
    )
    result.stacks[HUB_STACK] = hub
    _collect(app.synth(), result)
    # Beside the hub template, so `cdk synth` output shows what each spoke account gets.
    spoke_file = outdir / f"{SPOKE_STACK}.template.json"
    spoke_file.write_text(json.dumps(spoke_template, indent=1))
    result.files[SPOKE_STACK] = spoke_file
    return result


def main() -> None:
    """Entry point for the CDK CLI (cdk.json: `python -m infra.app`)."""
    probe = cdk.App()  # reads the CLI's context and output directory
    config_file = probe.node.try_get_context("diva_config")
    config = load_config(path=config_file) if config_file else load_config(context=probe.node.try_get_context("diva"))
    outdir = Path(probe.outdir)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    env = cdk.Environment(account=account, region=region) if account and region else None
    with tempfile.TemporaryDirectory(prefix="diva-code-") as code_dir:
        build(config, outdir=outdir, code_dir=code_dir, env=env)


if __name__ == "__main__":
    main()
