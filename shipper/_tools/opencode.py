"""opencode: a JavaScript plugin in ``~/.config/opencode/plugins/`` (opencode has no command
hooks), which hands each lifecycle event to shipper's hook.

The plugin (``shipper.js``, written whole by the installer) takes a session created, idle
(the end of a turn: ``opencode run`` exits right after it), in error or compacted, a prompt
sent (``chat.message``) and a tool executed (``tool.execute.after``), and starts the hook
command for each in a process of its own, detached, with its standard streams on
``/dev/null``: it never waits for it, never prints, and never throws into opencode. It
passes metadata and sizes, not the prompt, the tool's input or its output, unless
``--include-content`` is added to its ``HOOK`` line. The payload is in the hook's
environment (``SHIPPER_HOOK_PAYLOAD``: whole at once, even when opencode exits the moment
after, and readable by the user alone, where an argument would be in everyone's ``ps``).
Once the interpreter or the script it names is gone, it does nothing.
"""

from __future__ import annotations

import os

from ._mapping import event_name, is_token

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._install import Installer, Plan, Where
    from ._mapping import Fields

NAME = "opencode"
TITLE = "opencode"
ORDER = 50
PREFIX = "opencode"
ALIASES = ("opencode-ai", "open-code", "sst-opencode")
RECORDS = "sessions (created, idle, error, compacted), prompts (sizes), tool calls and " \
          "their exit code"
EVENTS = ("session.created", "chat.message", "tool.execute.after", "session.idle",
          "session.error", "session.compacted")
MARKER = "written by `shipper hooks install opencode`"

_META = ("session_id", "parent_session_id", "message_id", "agent", "model", "version",
         "project_id", "tool_name", "tool_use_id", "exit_code", "truncated", "part_count",
         "file_count")
_CONTENT = (("prompt", "prompt_bytes"), ("tool_input", "input_bytes"),
            ("tool_response", "output_bytes"), ("title", "title_bytes"),
            ("error", "error_bytes"))  # and the size the plugin measured of the whole


def map_payload(payload: dict[str, Any], fields: Fields, event: str | None) -> str:
    """What the plugin passes: metadata, paths and sizes (content only where it was
    opted in there)."""
    name = event_name(payload, "unknown")
    fields.data["hook_event_name"] = name
    fields.metas(payload, _META)
    fields.token("error_type", payload.get("error_type"))
    fields.path("cwd", payload.get("cwd"))
    fields.path("file_path", payload.get("file_path"))
    for key, size_key in _CONTENT:
        fields.content(key, payload.get(key), size_key)  # only where the plugin passed it
        fields.count(size_key, payload.get(size_key))  # the whole's, not what was kept
    if name == "tool.execute.after":
        code = payload.get("exit_code")
        fields.data["success"] = code in (None, 0) and payload.get("error_type") is None
    return f"{PREFIX}.{name}" if is_token(name) else f"{PREFIX}.unknown"


PLUGIN = """\
// shipper: records opencode's sessions, prompts and tool calls as events, @MARKER@;
// `shipper hooks uninstall opencode` removes it. Each event goes to shipper's hook in a
// process of its own, never waited for, printing nothing; once that shipper is gone, this
// does nothing. Metadata and sizes only: add "--include-content" to HOOK to pass the
// prompt, the tool's input and its output too (8 KiB each).
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"

const HOOK = @HOOK@
const NEEDS = @NEEDS@
const CONTENT = HOOK.includes("--include-content")
const CAP = 8192
const SESSION = new Set(["session.created", "session.idle", "session.error", "session.compacted"])

function bytes(value) {
  try {
    const text = typeof value === "string" ? value : JSON.stringify(value)
    return text === undefined ? 0 : Buffer.byteLength(text)
  } catch {
    return 0
  }
}

function text(value) {
  try {
    const whole = typeof value === "string" ? value : JSON.stringify(value)
    return whole === undefined ? undefined : whole.slice(0, CAP)
  } catch {
    return undefined
  }
}

function send(payload) {
  try {
    if (typeof payload.session_id !== "string") return  // not an event of a session
    if (!NEEDS.every((file) => existsSync(file))) return
    // The payload goes in the hook's environment, which only this user can read (its
    // argv is in `ps` for everyone), whole at once, even if opencode exits the moment after.
    const env = { ...process.env, SHIPPER_HOOK_PAYLOAD: JSON.stringify(payload) }
    const child = spawn(HOOK[0], HOOK.slice(1), { detached: true, stdio: "ignore", env })
    child.on("error", () => {})
    child.unref()
  } catch {}
}

function sessionEvent(event) {
  const props = event.properties ?? {}
  const info = props.info ?? {}
  const payload = { hook_event_name: event.type, session_id: props.sessionID ?? info.id }
  if (event.type === "session.created") {
    Object.assign(payload, { cwd: info.directory, version: info.version,
                             project_id: info.projectID, parent_session_id: info.parentID,
                             title_bytes: bytes(info.title) })
    if (CONTENT) payload.title = text(info.title)
  }
  if (event.type === "session.error") {
    const error = props.error ?? {}
    const message = error.data?.message ?? error.message
    Object.assign(payload, { error_type: error.name, error_bytes: bytes(message) })
    if (CONTENT) payload.error = text(message)
  }
  return payload
}

export const Shipper = async () => ({
  event: async (input) => {
    try {
      const event = input?.event
      if (SESSION.has(event?.type)) send(sessionEvent(event))
    } catch {}
  },
  "chat.message": async (input, output) => {
    try {
      const parts = output?.parts ?? []
      const prompt = parts.filter((p) => p.type === "text").map((p) => p.text ?? "").join("\\n")
      const model = input?.model ?? output?.message?.model
      const payload = {
        hook_event_name: "chat.message", session_id: input?.sessionID,
        message_id: input?.messageID ?? output?.message?.id,
        agent: input?.agent ?? output?.message?.agent,
        model: model ? `${model.providerID}/${model.modelID}` : undefined,
        part_count: parts.length, file_count: parts.filter((p) => p.type === "file").length,
        prompt_bytes: bytes(prompt),
      }
      if (CONTENT) payload.prompt = text(prompt)
      send(payload)
    } catch {}
  },
  "tool.execute.after": async (input, output) => {
    try {
      const args = input?.args ?? {}
      const meta = output?.metadata ?? {}
      const payload = {
        hook_event_name: "tool.execute.after", session_id: input?.sessionID,
        tool_name: input?.tool, tool_use_id: input?.callID,
        file_path: typeof args.filePath === "string" ? args.filePath : undefined,
        exit_code: typeof meta.exit === "number" ? meta.exit : undefined,
        truncated: typeof meta.truncated === "boolean" ? meta.truncated : undefined,
        input_bytes: bytes(args), output_bytes: bytes(output?.output),
      }
      if (CONTENT) {
        Object.assign(payload, { tool_input: text(args), tool_response: text(output?.output) })
      }
      send(payload)
    } catch {}
  },
})
"""


def _plugin(include_content: bool) -> str:
    import json

    from ._install import INCLUDE_CONTENT, hook_argv, needed_files

    argv = [*hook_argv(), "--source", NAME, *([INCLUDE_CONTENT] if include_content else [])]
    return (PLUGIN.replace("@MARKER@", MARKER).replace("@HOOK@", json.dumps(argv))
            .replace("@NEEDS@", json.dumps(needed_files(argv))))


def _folder(scope: str, where: Where) -> str:
    """opencode's config folder: ``$XDG_CONFIG_HOME/opencode`` (``~/.config/opencode``),
    or the project's ``.opencode``."""
    if scope == "project":
        return str(where.cwd / ".opencode")
    config = os.environ.get("XDG_CONFIG_HOME", "")
    base = config if os.path.isabs(config) else str(where.home / ".config")
    return os.path.join(base, "opencode")


def _plan(action: str, scope: str, where: Where) -> Plan:
    from pathlib import Path

    from ._install import INCLUDE_CONTENT, own_file_plan, read

    path = Path(_folder(scope, where)) / "plugins" / "shipper.js"
    old = read(path) or ""
    keep = any(INCLUDE_CONTENT in line for line in old.splitlines()
               if line.startswith("const HOOK ="))
    return own_file_plan(NAME, path, action, _plugin(keep), marker=MARKER, what="plugin")


def installer() -> Installer:
    from ._install import Planned

    return Planned(_plan)
