---@meta
-- LuaLS annotation stubs for the `pixie` API that skills see (skill API 1).
-- Documentation: docs/lua-api.md. Keep in step with lua/pixie/api.lua.

---@class pixie.Skill
---@field api integer|string            skill API version, e.g. 1 or "1.0"
---@field summary string                one line for `pixie skills`
---@field usage? string                 e.g. "pixie run-skill NAME <tool-id>"
---@field help? string                  extra text for --help
---@field run fun(args: string[]): (integer|boolean|nil)  returns the exit code

---@class pixie.API
---@field args pixie.args
---@field db pixie.db
---@field env pixie.env
---@field fs pixie.fs
---@field json pixie.json
---@field launcher pixie.launcher
---@field log pixie.log
---@field mask pixie.mask
---@field proc pixie.proc
---@field sys pixie.sys
---@field term pixie.term
---@field tools pixie.tools
---@field zip pixie.zip
pixie = {}

---Absolute path of the Pixie home; nil, message when it cannot be used.
---@return string|nil
---@return string? message
function pixie.home() end

-- pixie.args ----------------------------------------------------------------

---@class pixie.args.Spec
---@field flags? table<string, "boolean"|"string"|"integer">
---@field short? table<string, string>  one-letter alias -> flag name
---@field min? integer                  fewest positional arguments
---@field max? integer                  most positional arguments

---@class pixie.args
local args = {}

---Parses skill arguments. Returns opts, positional; or nil, message on a
---usage error.
---@param argv string[]
---@param spec pixie.args.Spec
---@return table<string, boolean|string|integer>|nil opts
---@return string[]|string positional_or_message
function args.parse(argv, spec) end

---Prints "pixie: message" and "usage: ..." to stderr; returns 2.
---@param message string
---@param usage? string
---@return integer
function args.usage_error(message, usage) end

-- pixie.db ------------------------------------------------------------------

---@class pixie.db
local db = {}

---Runs one SELECT on the home's pixie.db with bound parameters.
---@param sql string
---@param ... any
---@return table[]|nil rows
---@return string? message
---@return integer? errno
function db.query(sql, ...) end

---Runs one statement; string parameters are masked before they are stored.
---@param sql string
---@param ... any
---@return integer|nil changes
---@return string? message
---@return integer? errno
function db.exec(sql, ...) end

-- pixie.env -----------------------------------------------------------------

---@class pixie.env.Opts
---@field tools_root? string            the .env's folder must lie inside it
---@field interpolate? boolean          read: expand ${NAME} (default false)
---@field environ? table<string,string> read: outside values for expansion
---@field override? boolean             read: .env wins over environ (default true)

---The tools' .env files. Values read or set are registered for masking.
---@class pixie.env
local env = {}

---@param path string
---@param opts? pixie.env.Opts
---@return table<string,string>|nil values
---@return string[]|string warnings_or_message
---@return integer? errno
function env.read(path, opts) end

---@param path string
---@param opts? pixie.env.Opts
---@return string[]|nil keys
---@return string? message
---@return integer? errno
function env.keys(path, opts) end

---Atomic 0600 write of one key; other lines kept byte for byte. A refusal
---names the key and why (NUL byte, not UTF-8, python-dotenv could not read
---it back: errno EDOM), never the value or its length.
---@param path string
---@param key string
---@param value string
---@param opts? pixie.env.Opts
---@return true|nil ok
---@return string[]|string warnings_or_message
---@return integer? errno
function env.set(path, key, value, opts) end

---@param path string
---@param key string
---@param opts? pixie.env.Opts
---@return true|nil ok
---@return integer|string removed_or_message
---@return integer? errno
function env.unset(path, key, opts) end

---@param value string
---@return string|nil text
---@return boolean|string expands_or_message
---@return integer? errno
function env.quote(value) end

---@class pixie.env.Status
---@field key string
---@field description string
---@field required boolean
---@field status "set"|"not_set"

---The .env of a pixie.tools entry.
---@param entry pixie.tools.Entry
---@return string
function env.path(entry) end

---Declared secrets with "set"/"not_set" (never a value), and the keys in
---.env that tool.json does not declare.
---@param entry pixie.tools.Entry
---@return pixie.env.Status[] rows
---@return string[] undeclared
---@return string? error
function env.status(entry) end

---Required secrets that are not set.
---@param entry pixie.tools.Entry
---@return string[]
function env.missing_required(entry) end

-- pixie.fs ------------------------------------------------------------------

---@class pixie.fs.Stat
---@field type "file"|"directory"|"link"|"other"
---@field size integer
---@field mode integer                  permission bits
---@field mtime number                  seconds since the epoch
---@field mtime_ns integer
---@field uid integer
---@field ino integer
---@field dev integer

---Files. Misuse raises; failures return nil, message, errno.
---@class pixie.fs
local fs = {}

---@param path string
---@param opts? {limit?: integer, nofollow?: boolean}
---@return string|nil data
---@return string? message
---@return integer? errno
function fs.read(path, opts) end

---Writes through a temporary file, fsync and rename.
---@param path string
---@param data string
---@param mode? integer                 default 0644 (420)
---@return true|nil ok
---@return string? message
---@return integer? errno
function fs.write_atomic(path, data, mode) end

---@param path string
---@param opts? {nofollow?: boolean}
---@return pixie.fs.Stat|nil
---@return string? message
---@return integer? errno
function fs.stat(path, opts) end

---Sorted entry names, without "." and "..".
---@param dir string
---@return string[]|nil names
---@return string? message
---@return integer? errno
function fs.list(dir) end

---@param path string
---@param mode? integer                 default 0755 (493)
---@return true|nil ok
---@return string? message
---@return integer? errno
function fs.mkdirs(path, mode) end

---Removes a file, link or empty folder.
---@param path string
---@return true|nil ok
---@return string? message
---@return integer? errno
function fs.remove(path) end

---@param from string
---@param to string
---@return true|nil ok
---@return string? message
---@return integer? errno
function fs.rename(from, to) end

---@param path string
---@param mode integer
---@return true|nil ok
---@return string? message
---@return integer? errno
function fs.chmod(path, mode) end

---@param path string
---@return string|nil absolute
---@return string? message
---@return integer? errno
function fs.realpath(path) end

---@class pixie.fs.WalkEntry
---@field path string                   relative to the walked folder, '/'-separated
---@field type "file"|"directory"|"link"|"other"
---@field size integer
---@field mode integer                  permission bits

---Every entry below dir, depth first, names in byte order; symlinks listed,
---never followed. Past max_entries: nil, message, E2BIG; past max_depth: ELOOP.
---@param dir string
---@param opts? {max_depth?: integer, max_entries?: integer}  defaults 32, 100000
---@return pixie.fs.WalkEntry[]|nil entries
---@return string? message
---@return integer? errno
function fs.walk(dir, opts) end

-- pixie.json ----------------------------------------------------------------

---@class pixie.json
---@field null lightuserdata            JSON null
local json = {}

---@param text string
---@return any value                    nil on error
---@return string? message              "line L, column C: reason"
function json.decode(text) end

---@param value any
---@param opts? {indent?: boolean}
---@return string|nil text
---@return string? message
function json.encode(value, opts) end

---Marks t (default {}) as a JSON array, even when empty; returns t.
---@generic T: table
---@param t? T
---@return T
function json.array(t) end

---Fixes the key order used when encoding object t; returns t.
---@generic T: table
---@param t T
---@param keys string[]
---@return T
function json.ordered(t, keys) end

---True for a decoded JSON array (`[]` included) or a table that encodes as
---one; false for a decoded JSON object (`{}` included).
---@param t table
---@return boolean
function json.is_array(t) end

-- pixie.log -----------------------------------------------------------------

---Masked log lines on stderr (threshold PIXIE_LOG_LEVEL, default info) and in
---logs/pixie.log; the arguments are tostring'd and joined by spaces.
---@class pixie.log
local log = {}

---@param ... any
function log.debug(...) end

---@param ... any
function log.info(...) end

---@param ... any
function log.warn(...) end

---@param ... any
function log.error(...) end

-- pixie.launcher ------------------------------------------------------------

---A tool table for pixie.launcher (from launcher.tool).
---@class pixie.launcher.Tool
---@field id string
---@field dir string
---@field python string
---@field entrypoint string
---@field env table<string, string>      the process's whole environment
---@field max_memory_mb integer
---@field max_runtime_seconds integer
---@field warm_keep_seconds integer
---@field concurrent boolean

---@class pixie.launcher.Answer
---@field status_code? integer
---@field body? string                   raw: mask before showing
---@field timed_out boolean
---@field error? string                  when timed_out
---@field started boolean
---@field pid integer
---@field port integer

---The tools' warm processes.
---@class pixie.launcher
local launcher = {}

---@param entry pixie.tools.Entry
---@param opts? {artefacts_dir?: string}
---@return pixie.launcher.Tool|nil
---@return string? message
function launcher.tool(entry, opts) end

---@param tool pixie.launcher.Tool
---@return {port: integer, pid: integer, started: boolean}|nil
---@return string? message
---@return integer? errno
function launcher.start(tool) end

---@param tool pixie.launcher.Tool
---@param body string                    JSON text
---@param opts? {run_id?: string, artefacts_dir?: string, deadline_ms?: integer, headers?: table<string, string>}
---@return pixie.launcher.Answer|nil
---@return string? message
---@return integer? errno
function launcher.run(tool, body, opts) end

---@param tool_id string
---@param path string                    e.g. "/schema"
---@param timeout_ms? integer            default 5000
---@return {status_code: integer, body: string}|nil
---@return string? message
function launcher.get(tool_id, path, timeout_ms) end

---@param tool_id string
---@param grace_ms? integer              default 5000
---@return true
---@return boolean was_running
---@return boolean forced                SIGKILL was needed
function launcher.stop(tool_id, grace_ms) end

---@return {tool_id: string, pid: integer, port: integer, started_at: number, last_used: number, busy: integer}[]
function launcher.state() end

---@param tool_id string
---@return string|nil                    masked end of the tool's output
function launcher.output(tool_id) end

-- pixie.mask ----------------------------------------------------------------

---Secret masking: registered values print as `***`.
---@class pixie.mask
local mask = {}

---Registers value and its derived forms; false when shorter than 4 bytes.
---@param value string
---@return boolean
function mask.add(value) end

---@param text string
---@return string
function mask.scrub(text) end

---@return integer
function mask.count() end

---@class pixie.mask.Stream
local Stream = {}
---@param data string
---@return string
function Stream:feed(data) end
---@return string
function Stream:flush() end
---@return integer
function Stream:pending() end
function Stream:close() end

---@return pixie.mask.Stream
function mask.stream() end

-- pixie.proc ----------------------------------------------------------------

---Running programs with their own environment, a timeout and masked output.
---@class pixie.proc
local proc = {}

---Numbers out of range raise: timeout_ms 0..604800000 (0 = none), grace_ms
---0..600000, max_output 0..2^30, max_memory_mb 0..2^24 (0 = no limit).
---@param argv string[]
---@param opts? {cwd?: string, env?: table<string, string>, timeout_ms?: integer, stdin?: string, max_memory_mb?: integer, max_output?: integer, grace_ms?: integer}
---@return {code?: integer, signal?: integer, stdout: string, stderr: string, timed_out: boolean, truncated: boolean}|nil
---@return string? message
---@return integer? errno
function proc.run(argv, opts) end

-- pixie.sys -----------------------------------------------------------------

---@class pixie.sys
---@field errno table<string, integer>  read-only errno names (ENOENT, EEXIST, EACCES, ...)
local sys = {}

-- pixie.term ----------------------------------------------------------------

---Terminal questions, hidden secret input, and the escaping of shown text.
---@class pixie.term
local term = {}

---@param fd integer|"stdin"|"stdout"|"stderr"
---@return boolean
function term.isatty(fd) end

---Prompts on the terminal and reads one line with echo off; the terminal
---is restored on Ctrl-C, SIGTERM, SIGHUP, SIGQUIT and Ctrl-Z.
---@param prompt string
---@param opts? {max?: integer}         default 65536 bytes
---@return string|nil value
---@return string? message             "no terminal" | "interrupted" | "too long"
function term.read_secret(prompt, opts) end

---All of stdin; nil, "input longer than N bytes" beyond max (never truncated).
---@param max? integer                  default 65536
---@return string|nil data
---@return string? message
function term.read_stdin(max) end

---Asks on the terminal; true for y / yes.
---@param prompt string
---@return boolean|nil yes
---@return string? message             "no terminal"
function term.confirm(prompt) end

---Text with the control characters of `set` written as \xNN, every other
---byte kept: "controls_but_layout" (all but tab and LF; for a terminal),
---"controls" (all; one line), "line_breaks" (CR and LF only).
---@param text string
---@param set? "controls_but_layout"|"controls"|"line_breaks"  default "controls_but_layout"
---@return string
function term.escape(text, set) end

-- pixie.tools ---------------------------------------------------------------

---@class pixie.tools.Entry
---@field id string
---@field folder string
---@field dir string                    absolute folder of the tool
---@field status "ok"|"broken"
---@field errors string[]
---@field warnings string[]
---@field spec table|nil                normalised tool.json; nil when broken

---@class pixie.tools
local tools = {}

---Every tool in the home, sorted by id (copies).
---@return pixie.tools.Entry[]
function tools.list() end

---@param id string
---@return pixie.tools.Entry|nil
---@return string? message
function tools.get(id) end

---The home's tools folder: the `tools_root` for every pixie.env call.
---@return string|nil path
---@return string? message
function tools.dir() end

---Validates a decoded tool.json table or its JSON text.
---@param value table|string
---@param name? string                  used in messages
---@return table|nil spec
---@return string[]? errors
---@return string[] warnings            lenient coercions, e.g. "60" read as 60
function tools.validate_spec(value, name) end

-- pixie.zip -----------------------------------------------------------------

---Limits for inspect/extract/pack; every field an integer >= 1, absent: the default.
---@class pixie.zip.Limits
---@field max_archive_bytes? integer    the .zip file itself (64 MiB)
---@field max_entries? integer          entries (10000)
---@field max_file_bytes? integer       one entry, uncompressed (64 MiB)
---@field max_total_bytes? integer      all entries, uncompressed (256 MiB)
---@field max_ratio? integer            uncompressed / compressed size (200)
---@field ratio_min_bytes? integer      ratio checked above this size (1 MiB)

---@class pixie.zip.PackOpts: pixie.zip.Limits
---@field top? string                   the one top folder (default: dir's last component)
---@field exclude? fun(relpath: string, is_dir: boolean): boolean  true leaves it out

---@class pixie.zip.Entry
---@field name string                   relative to the top folder
---@field size integer                  declared uncompressed size
---@field type "file"|"directory"
---@field exec boolean                  owner-execute bit

---@class pixie.zip.Report
---@field top string
---@field files integer
---@field dirs integer                  folders below the top
---@field bytes integer                 declared (inspect) or written (pack, extract)
---@field entries? pixie.zip.Entry[]    inspect only
---@field skipped? {path: string, why: "excluded"|"symlink"|"special"}[]  pack only

---Tool archives. Misuse raises; a refused archive returns nil, message,
---reason (a stable code such as "dotenv"; "io" adds the errno).
---@class pixie.zip
---@field defaults pixie.zip.Limits     the default limits
local zip = {}

---@param dir string
---@param out string
---@param opts? pixie.zip.PackOpts
---@return pixie.zip.Report|nil
---@return string? message
---@return string? reason
function zip.pack(dir, out, opts) end

---@param path string
---@param limits? pixie.zip.Limits
---@return pixie.zip.Report|nil
---@return string? message
---@return string? reason
function zip.inspect(path, limits) end

---Inspects, then extracts into the empty folder staging_dir (top folder stripped).
---@param path string
---@param staging_dir string
---@param limits? pixie.zip.Limits
---@return pixie.zip.Report|nil
---@return string? message
---@return string? reason
function zip.extract(path, staging_dir, limits) end

---Creates "<parent>/.staging-<pid>-XXXXXX" (0700).
---@param parent string
---@return string|nil path
---@return string? message
---@return integer? errno
function zip.stage(parent) end

---Renames staging to dest only when dest does not exist; with replace,
---exchanges them atomically and removes the old folder.
---@param staging string
---@param dest string
---@param opts? {replace?: boolean}
---@return true|nil ok
---@return boolean|string replaced_or_message
---@return integer? errno
function zip.commit(staging, dest, opts) end

---Removes a folder tree (symlinks removed, never followed).
---@param path string
---@return true|nil ok
---@return string? message
---@return integer? errno
function zip.discard(path) end

---Adds an integer flag (--max-entries, ...) per limit of zip.defaults to a
---pixie.args.parse flag table and returns it.
---@param flags table<string, string>
---@return table<string, string>
function zip.limit_flags(flags) end

---The limits table that the parsed limit flags give.
---@param opts table                  pixie.args.parse's options
---@return table limits
function zip.limits_of(opts) end

---Pixie's version string, e.g. "0.1.0".
pixie.version = "0.1.0"
pixie.args = args
pixie.env = env
pixie.fs = fs
pixie.json = json
pixie.launcher = launcher
pixie.log = log
pixie.mask = mask
pixie.proc = proc
pixie.sys = sys
pixie.term = term
pixie.tools = tools
pixie.zip = zip
