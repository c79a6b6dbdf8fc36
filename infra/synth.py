"""`diva synth [--out DIR] [--config FILE]`: write the CloudFormation templates, no CDK CLI.

aws_cdk is imported only when this runs, so the rest of DIVA does not need it installed.
Wire into the diva CLI as: `from infra.synth import main; return main(argv)`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="diva synth", description="Synthesize DIVA's CloudFormation templates.")
    parser.add_argument("--out", default="cdk.out", help="output directory (default: cdk.out)")
    parser.add_argument("--config", help="JSON configuration file (default: the 'diva' context in cdk.json)")
    args = parser.parse_args(argv)

    from infra.config import ConfigError, load_config

    try:
        if args.config:
            config = load_config(path=args.config)
        else:
            config = load_config(context=_cdk_json_context())
    except ConfigError as error:
        return _config_problems(error)

    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    from infra.app import build  # the slow import: Node + jsii start here

    try:
        with tempfile.TemporaryDirectory(prefix="diva-code-") as code_dir:
            result = build(config, outdir=args.out, code_dir=code_dir)
    except ConfigError as error:  # found while bundling: an events module the bundle lacks
        return _config_problems(error)
    except Exception as error:  # nag findings and CDK validation errors: show, do not trace
        print(f"diva synth: {error}", file=sys.stderr)
        return 1
    for name, path in result.files.items():
        print(f"{name}: {path}")
    return 0


def _config_problems(error) -> int:
    for problem in error.problems:
        print(f"diva synth: {problem}", file=sys.stderr)
    return 2


def _cdk_json_context(path: Path = Path("cdk.json")):
    import json

    if not path.is_file():
        return None
    return json.loads(path.read_text()).get("context", {}).get("diva")


if __name__ == "__main__":
    sys.exit(main())
