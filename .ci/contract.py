"""CI only, where ../shared exists: the repo's copy of the apps' operations is the contract's,
and schema.graphql honours the contract, apart from the findings listed as still pending.

`.ci/contract-pending.txt` names the parts of the contract not built yet. Any other finding
fails, and so does a pending line that no longer shows up (delete it then), so the list can
only shrink.

Usage: contract.py SHARED_DIR REPO_DIR
"""

import filecmp
import subprocess
import sys
from pathlib import Path

PENDING = Path(__file__).resolve().parent / "contract-pending.txt"


def operations_differ(contract: Path, copy: Path) -> list[str]:
    """Files missing on either side or not byte-identical."""
    names = {p.name for p in contract.glob("*.graphql")} | {p.name for p in copy.glob("*.graphql")}
    return sorted(
        name
        for name in names
        if not (contract / name).is_file()
        or not (copy / name).is_file()
        or not filecmp.cmp(contract / name, copy / name, shallow=False)
    )


def main(shared: Path, repo: Path) -> int:
    failed = False
    differ = operations_differ(shared / "contract" / "operations", repo / "clients" / "operations")
    for name in differ:
        print(f"OPERATIONS DIFFER: clients/operations/{name} is not the contract's {name}")
        failed = True
    run = subprocess.run(
        [sys.executable, str(shared / "tools" / "check_contract.py"), str(repo / "schema.graphql")],
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
    if run.returncode not in (0, 1) or unexpected or resolved or failed:
        print(run.stderr, file=sys.stderr)
        return 1
    print(f"contract: {len(findings)} findings, all listed as pending; operations identical")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()))
