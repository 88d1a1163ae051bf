"""Runs the contract check and accepts only the findings listed as still pending.

`.ci/contract-pending.txt` names the parts of the contract not built yet. Any other
finding fails, and so does a pending line that no longer shows up (delete it then), so
the list can only shrink.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT.parent / "shared" / "tools" / "check_contract.py"
PENDING = ROOT / ".ci" / "contract-pending.txt"


def main() -> int:
    run = subprocess.run(
        [sys.executable, str(TOOL), str(ROOT / "schema.graphql")],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = run.stdout.splitlines()
    print("\n".join(lines[-1:]))
    findings = [line for line in lines if not line.startswith("contract:")]
    pending = [
        line for line in PENDING.read_text().splitlines() if line and not line.startswith("#")
    ]
    unexpected = [f for f in findings if f not in pending]
    resolved = sorted(set(pending) - set(findings))
    for finding in unexpected:
        print(f"NEW FINDING: {finding}")
    for line in resolved:
        print(f"NO LONGER FOUND (remove it from {PENDING.name}): {line}")
    if run.returncode not in (0, 1) or unexpected or resolved:
        print(run.stderr, file=sys.stderr)
        return 1
    print(f"contract: {len(findings)} findings, all listed as pending")
    return 0


if __name__ == "__main__":
    sys.exit(main())
