"""The `stack` CLI in-process: listing, config show with redaction, errors, help, docs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import echo_plugin
import pytest

from stack_core import ConfigModel, RegisterProvider, hookimpl, plugins
from stack_core.cli import main, parser
from stack_core.distribution import SHIPPED, find_config


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


def subcommands(command: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += subcommands(sub, (*path, name))
    return found


@pytest.mark.parametrize("command", subcommands(parser())[1:], ids=" ".join)
def test_help_of_every_subcommand_describes_each_option(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    sub = parser()
    for name in command:
        sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    options = [
        a for a in sub._actions if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]
    assert all(a.help for a in options), [a.dest for a in options if not a.help]
    with pytest.raises(SystemExit) as done:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    assert all(a.option_strings[0] in out for a in options if a.option_strings)


class FarOnly:
    """A plugin whose one provider is remote, switched on by FAR_URL."""

    @hookimpl
    def stack_register_providers(self, register: RegisterProvider) -> None:
        register(
            api="inference",
            provider_type="remote::far",
            config=ConfigModel,
            factory=lambda config, context: object(),
            enable_env="FAR_URL",
        )


def test_run_with_nothing_enabled_says_what_would_enable_what_is_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_cached", plugins.discover({"far": FarOnly()}, eps=[]))
    for name in ("FAR_URL", "STACK_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "error: nothing to serve" in err and "remote::far (inference" in err and "set FAR_URL" in err
    assert "Traceback" not in err


def test_debug_adds_the_traceback_of_a_start_up_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STACK_LOG_LEVEL", "INFO")  # restored afterwards: --debug sets it for workers
    config = tmp_path / "run.yaml"
    config.write_text("providers:\n  nowhere:\n  - provider_id: x\n    provider_type: inline::x\n")
    assert main(["run", str(config)]) == 2
    quiet = capsys.readouterr().err
    assert main(["run", str(config), "--debug"]) == 2
    loud = capsys.readouterr().err
    assert "Traceback" not in quiet and "error: run config names unknown API 'nowhere'" in quiet
    assert "Traceback" in loud and loud.rstrip().endswith(quiet.strip())


def test_distributions_ship_inside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert find_config("starter") == SHIPPED / "starter.yaml"
    assert main(["config", "show", "nope"]) == 2
    assert "(shipped: llama-guard, open-benchmark, starter)" in capsys.readouterr().err


def test_config_schema_lists_each_provider_config_with_its_secrets(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_cached", plugins.discover({"echo": echo_plugin}, eps=[]))
    assert main(["list-providers", "--config-schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    echo = next(p for p in schemas["providers"] if p["provider_type"] == "inline::echo")
    assert echo["api"] == "echo" and echo["secrets"] == ["api_key"]
    assert set(echo["schema"]["properties"]) == {"prefix", "api_key", "port"}
    assert {a["type"] for a in schemas["auth_providers"]} >= {"api_key", "custom", "oauth2_token"}


def test_docs_config_writes_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugins, "_cached", plugins.discover({"echo": echo_plugin}, eps=[]))
    target = tmp_path / "docs" / "configuration.md"
    assert main(["docs", "config", "--output", str(target)]) == 0
    text = target.read_text()
    assert "### `inline::echo` (echo)" in text and "| `api_key` |" in text and "| secret |" in text
    assert "`STACK_HOME`" in text
