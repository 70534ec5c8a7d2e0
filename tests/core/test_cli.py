"""The `stack` CLI in-process: listing, config show with redaction, errors."""

from __future__ import annotations

from pathlib import Path

import echo_plugin
import pytest

from stack_core import plugins
from stack_core.cli import main


def test_list_apis(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-apis"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["API", "ROUTES", "DESCRIPTION"]
    assert any(line.startswith("inference ") for line in out.splitlines())


def test_config_show_resolves_env_and_redacts_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "providers:\n  inference:\n  - provider_id: o\n    provider_type: remote::openai\n"
        "    config:\n      api_key: ${env.MY_KEY}\n      url: ${env.MY_URL:=http://x/v1}\n"
        "metadata_store:\n  type: postgres\n  password: hunter2\n"
    )
    assert main(["config", "show", str(config), "--env", "MY_KEY=sk-secret-value"]) == 0
    out = capsys.readouterr().out
    assert "sk-secret-value" not in out and "hunter2" not in out
    assert "api_key: '**********'" in out and "url: http://x/v1" in out


def test_config_error_exits_2_with_the_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("server:\n  port: ${env.NOPE_UNSET_VAR}\n")
    assert main(["config", "show", str(config)]) == 2
    assert "server.port: environment variable NOPE_UNSET_VAR is not set" in capsys.readouterr().err


def test_unknown_distribution_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "show", "no-such-distro"]) == 2
    assert "no run config or distribution named 'no-such-distro'" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("stack ")


def test_config_validate_reports_every_problem_without_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_cached", plugins.discover({"echo": echo_plugin}))
    good = tmp_path / "good.yaml"
    good.write_text("providers:\n  echo:\n  - provider_id: e\n    provider_type: inline::echo\n")
    assert main(["config", "validate", str(good)]) == 0
    assert capsys.readouterr().out.startswith("config OK: 1 provider(s) for 1 API(s)")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "providers:\n  echo:\n  - provider_id: e\n    provider_type: inline::echo\n"
        "    config:\n      colour: blue\n"
        "registered_resources:\n  voices:\n  - voice_id: v\n    bogus: 1\n"
    )
    with pytest.raises(SystemExit) as done:
        main(["config", "validate", str(bad)])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "providers.echo[0].config.colour: unknown field" in err
    assert "registered_resources.voices[0].bogus: unknown field" in err
