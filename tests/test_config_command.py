"""The first run: `shipper config set|get|list|unset` writes and reads config.toml (comments
kept, unknown keys refused with the one meant, secrets never printed), `hooks install` says
where the events will go, and every option of every command says what it does."""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import pytest

from shipper._cli._main import _parsers, main
from shipper._config import load_settings

from .conftest import child_env, shipper_cmd

SECRETS = ("sk-very-secret", "hunter2pass", "qtoken1234", "hdr-credential-99")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's config file goes (not made yet), in a folder not made yet."""
    path = tmp_path / "cfg" / "config.toml"
    monkeypatch.setenv("SHIPPER_CONFIG", str(path))
    return path


def shipper(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_writes_a_new_private_file_that_settings_read(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """set makes the folder and the file (0600: it may hold a key) and every program reads
    the value from it, typed."""
    assert shipper(capsys, "config", "set", "endpoint", "http://127.0.0.1:8053")[0] == 0
    assert shipper(capsys, "config", "set", "max_cache_mb", "200")[0] == 0
    assert shipper(capsys, "config", "set", "disabled", "no")[0] == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    settings = load_settings()
    assert settings.endpoint == "http://127.0.0.1:8053"
    assert settings.max_cache_mb == 200.0 and settings.disabled is False
    assert "max_cache_mb = 200.0" in config.read_text()


def test_set_keeps_comments_layout_and_other_keys(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Changing one key leaves the user's comments, order and tables as they were."""
    config.parent.mkdir()
    config.write_text('# my shipper\nendpoint = "http://old:1"  # the collector\n\n'
                      "[headers]\nX-Team = \"a\"  # keep me\n")
    config.chmod(0o640)
    assert shipper(capsys, "config", "set", "endpoint", "http://new:2")[0] == 0
    assert shipper(capsys, "config", "set", "properties.team", "data")[0] == 0
    assert shipper(capsys, "config", "set", "properties.build", "42")[0] == 0
    assert config.read_text() == ('# my shipper\nendpoint = "http://new:2"  # the collector\n'
                                  '\n[headers]\nX-Team = "a"  # keep me\n\n[properties]\n'
                                  'team = "data"\nbuild = 42\n')
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert load_settings().properties == {"team": "data", "build": 42}


def test_a_linked_config_file_stays_a_link(config: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A config file that is a link (a dotfiles folder) is written through the link."""
    real = tmp_path / "dotfiles" / "shipper.toml"
    real.parent.mkdir()
    real.write_text("batch_size = 10\n")
    config.parent.mkdir()
    config.symlink_to(real)
    assert shipper(capsys, "config", "set", "batch_size", "20")[0] == 0
    assert config.is_symlink() and real.read_text() == "batch_size = 20\n"


@pytest.mark.parametrize(("argv", "said"), [
    (["set", "endpont", "http://x:1"], "unknown key 'endpont' (did you mean 'endpoint'?)"),
    (["get", "api_kee"], "did you mean 'api_key'?"),
    (["unset", "propertie.team"], "did you mean 'properties.team'?"),
    (["set", "max_cache_mb", "lots"], "max_cache_mb must be a non-negative number"),
    (["set", "endpoint", "ftp://x"], "endpoint must be an http:// or https:// URL"),
    (["set", "batch_size.x", "1"], "batch_size is not a table"),
    (["set", "before_send", "x"], "before_send is a function"),
])
def test_what_cannot_be_set_is_refused_and_nothing_is_written(
        config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    """An unknown key (with the key meant) or a bad value exits 1, the file untouched."""
    config.parent.mkdir()
    config.write_text("batch_size = 10\n")
    code, out, err = shipper(capsys, "config", *argv)
    assert code == 1 and said in err and out == ""
    assert config.read_text() == "batch_size = 10\n"


def test_a_config_file_that_is_not_toml_is_left_alone(
        config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """set refuses to rewrite a file it cannot parse (exit 1), rather than lose it."""
    config.parent.mkdir()
    config.write_text("endpoint = [unclosed\n")
    code, _, err = shipper(capsys, "config", "set", "batch_size", "5")
    assert code == 1 and "not valid TOML" in err
    assert config.read_text() == "endpoint = [unclosed\n"


def test_no_secret_is_ever_printed(config: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The API key, header values and an endpoint's credentials and query values are shown
    hidden by set, get and list, while the file holds them for the programs."""
    outputs = [shipper(capsys, "config", "set", "api_key", "sk-very-secret"),
               shipper(capsys, "config", "set", "endpoint",
                       "https://me:hunter2pass@collector.example/in?token=qtoken1234"),
               shipper(capsys, "config", "set", "headers.X-Auth", "hdr-credential-99"),
               shipper(capsys, "config", "set", "headers", "X-Other=hdr-credential-99")]
    for key in ("api_key", "endpoint", "headers", "headers.X-Other"):
        outputs.append(shipper(capsys, "config", "get", key))
    outputs.append(shipper(capsys, "config", "list", "--all"))
    monkeypatch.setenv("SHIPPER_API_KEY", "sk-very-secret")
    outputs.append(shipper(capsys, "config", "list"))
    for code, out, err in outputs:
        assert code == 0, err
        assert not any(secret in out + err for secret in SECRETS), out + err
    assert all(secret in config.read_text() for secret in SECRETS)
    assert "<hidden>" in outputs[4][1] and "collector.example/in" in outputs[5][1]


@pytest.mark.parametrize(("name", "value"), [
    ("api_key", "sk-very-secret"), ("headers.X-Auth", "hdr-credential-99"),
    ("headers", "X-Auth=hdr-credential-99"),
    ("endpoint", "https://me:hunter2pass@collector.example/"),
    ("endpoint", "https://collector.example/in?token=qtoken1234")])
def test_writing_a_secret_makes_a_readable_config_file_private(
        name: str, value: str, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A config file the user made readable by others (umask 022) is made 0600 when a
    secret is written to it, and set says so; a setting that is no secret leaves its mode
    as it is."""
    config.parent.mkdir()
    config.write_text('timeout = 2.0\n')
    config.chmod(0o644)
    code, _, err = shipper(capsys, "config", "set", "endpoint", "http://127.0.0.1:8053")
    assert code == 0 and stat.S_IMODE(config.stat().st_mode) == 0o644 and "private" not in err
    code, out, err = shipper(capsys, "config", "set", name, value)
    assert code == 0 and stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f"{config} was readable by others; made it private (600)" in err
    assert value.rpartition("=")[2] in config.read_text()
    assert not any(secret in out + err for secret in SECRETS)
    assert "private" not in shipper(capsys, "config", "set", name, value)[2]  # once


def test_a_value_given_as_dash_is_read_from_stdin(config: Path, tmp_path: Path) -> None:
    """``config set api_key -`` takes the key from stdin (out of ps and the shell's
    history), its line ending dropped; nothing on stdin is refused, the file untouched."""
    env = child_env(tmp_path / "cache", SHIPPER_CONFIG=str(config))
    done = shipper_cmd(env, "config", "set", "api_key", "-", input="sk-very-secret\n")
    assert done.returncode == 0, done.stderr
    assert 'api_key = "sk-very-secret"\n' in config.read_text()
    assert "sk-very-secret" not in done.stdout + done.stderr
    assert load_settings().api_key == "sk-very-secret"
    done = shipper_cmd(env, "config", "set", "api_key", "-", input="")
    assert done.returncode == 1 and "nothing on stdin" in done.stderr
    assert load_settings().api_key == "sk-very-secret"
    done = shipper_cmd(env, "config", "set", "api_kee", "-", input="x\n")
    assert done.returncode == 1 and "did you mean 'api_key'" in done.stderr


def test_get_and_list_say_what_a_program_uses_and_from_where(
        config: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """get prints the value in force (an environment variable over the file) for a script;
    list shows each key that is set with where it comes from; set warns that the
    environment wins."""
    assert shipper(capsys, "config", "set", "batch_size", "100")[0] == 0
    monkeypatch.setenv("SHIPPER_BATCH_SIZE", "7")
    code, out, err = shipper(capsys, "config", "set", "batch_size", "50")
    assert code == 0 and "SHIPPER_BATCH_SIZE is set in this environment and wins" in err
    assert shipper(capsys, "config", "get", "batch_size")[1] == "7\n"
    monkeypatch.delenv("SHIPPER_BATCH_SIZE")
    assert shipper(capsys, "config", "get", "batch_size")[1] == "50\n"
    code, out, err = shipper(capsys, "config", "get", "endpoint")
    assert code == 0 and out == "" and "endpoint is not set" in err
    out = shipper(capsys, "config", "list")[1]
    assert "batch_size = 50  # config file" in out
    assert "cache_dir = " in out and "# SHIPPER_CACHE_DIR" in out
    assert "more at their defaults" in out and "timeout" not in out
    assert "timeout = 5.0  # default" in shipper(capsys, "config", "list", "--all")[1]


def test_unset_removes_a_key_or_one_entry(config: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """unset (or set to "") removes a key; a table's last entry takes the table with it;
    a key that is not there is nothing to do."""
    for argv in (["set", "endpoint", "http://x:1"], ["set", "properties.a", "1"],
                 ["set", "properties.b", "2"], ["unset", "properties.a"],
                 ["set", "endpoint", ""]):
        assert shipper(capsys, "config", *argv)[0] == 0
    assert config.read_text() == "[properties]\nb = 2\n"
    assert shipper(capsys, "config", "unset", "properties.b")[0] == 0
    assert config.read_text() == ""
    code, out, _ = shipper(capsys, "config", "unset", "api_key")
    assert code == 0 and "not set" in out


def test_hooks_install_ends_with_where_events_go(
        config: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an endpoint, install says events wait on disk and the command that sets
    one; with one, where they go (without its credentials)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    code, out, _ = shipper(capsys, "hooks", "install", "claude-code")
    assert code == 0
    assert out.splitlines()[-1] == ("claude-code: no endpoint is set: events wait on disk "
                                    "until one is: `shipper config set endpoint URL`")
    shipper(capsys, "config", "set", "endpoint", "https://u:hunter2pass@events.example/in")
    code, out, _ = shipper(capsys, "hooks", "install", "claude-code", "--dry-run")
    assert code == 0
    assert out.splitlines()[-1] == ("claude-code: events go to https://events.example/in "
                                    "(destination shipper)")
    monkeypatch.setenv("SHIPPER_ENDPOINT", "http://127.0.0.1:8053")
    out = shipper(capsys, "hooks", "install", "claude-code")[1]
    assert "comes from SHIPPER_ENDPOINT in this shell" in out.splitlines()[-1]
    monkeypatch.setenv("SHIPPER_DESTINATION", "console")
    out = shipper(capsys, "hooks", "install", "claude-code")[1]
    assert "events are sent nowhere; `shipper sync` prints them" in out.splitlines()[-1]


def every_action(parser: argparse.ArgumentParser, path: str = "shipper"
                 ) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += every_action(sub, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            found.append((path, action))
    return found


def test_every_option_of_every_command_says_what_it_does() -> None:
    """--help explains each option and argument of every command (hidden ones aside)."""
    missing = [f"{path} {action.option_strings or action.dest}"
               for path, action in every_action(_parsers()[0])
               if action.help != argparse.SUPPRESS and not (action.help or "").strip()]
    assert missing == []
    assert len(every_action(_parsers()[0])) > 40


def test_the_config_file_is_written_atomically(config: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """No temporary file is left beside the config file after writing it."""
    for i in range(3):
        assert shipper(capsys, "config", "set", "batch_size", str(i + 1))[0] == 0
    assert os.listdir(config.parent) == ["config.toml"]
