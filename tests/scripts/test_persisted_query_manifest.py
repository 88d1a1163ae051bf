"""scripts/persisted_query_manifest.py: writes the manifest the server loads, and says so."""

import importlib.util
from pathlib import Path

from schema.core import trusted_documents

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "persisted_query_manifest.py"
spec = importlib.util.spec_from_file_location("persisted_query_manifest", SCRIPT)
script = importlib.util.module_from_spec(spec)
spec.loader.exec_module(script)


def test_the_script_writes_the_manifest_then_finds_it_unchanged(tmp_path, monkeypatch, capsys):
    target = tmp_path / "clients" / "persisted-query-manifest.json"
    target.parent.mkdir()
    monkeypatch.setattr(script, "ROOT", tmp_path)
    monkeypatch.setattr(trusted_documents, "MANIFEST_PATH", target)

    assert script.main() == 0
    written = capsys.readouterr().out
    assert script.main() == 0
    again = capsys.readouterr().out

    assert target.read_text() == trusted_documents.build()
    count = len(trusted_documents.load(target))
    assert written == f"clients/persisted-query-manifest.json: {count} operations, written\n"
    assert again == f"clients/persisted-query-manifest.json: {count} operations, unchanged\n"
