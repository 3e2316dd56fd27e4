-- Built-in skill: lint a tool for secret hygiene and format problems
-- (SPEC §6.2). Read-only; never starts the tool. A finding is an error or a
-- warning with file:line and a fix, and never contains a secret value: a
-- hardcoded secret is named by its rule only.
--
-- Rules: hardcoded secrets in the tool's files (the data table RULES:
-- prefix rules, and a NAME = "literal" rule with a length-aware entropy
-- threshold that skips PLACEHOLDERS); .env not covered by a .gitignore
-- (git check-ignore when the home is a git work tree, else the patterns of
-- the tool's and the home's .gitignore files evaluated per gitignore(5));
-- .env tracked by git; .env mode not 0600; tool.json schema errors
-- (pointing to migrate-tool-format for `label`); declared secrets never
-- read; .env keys not declared; required secrets not set. Exit 1 when any
-- error.
local pixie = require("pixie")

local USAGE = "pixie run-skill lint-tool <tool-id>|--all [--json]"
local MAX_FILE_BYTES = 1024 * 1024
local SKIP_DIRS = { [".venv"] = true, [".git"] = true, ["__pycache__"] = true, data = true,
  node_modules = true }

-- ---- the secret rules (one data table) -----------------------------------
local RULES = {
  prefix = {
    -- name, Lua pattern of the whole token, minimum token length
    { "AWS access key id", "AKIA[0-9A-Z]+", 20 },
    { "GitHub token", "ghp_%w+", 40 },
    { "GitHub fine-grained token", "github_pat_[%w_]+", 40 },
    { "GitLab token", "glpat%-[%w_%-]+", 26 },
    { "Anthropic API key", "sk%-ant%-[%w_%-]+", 32 },
    { "OpenAI API key", "sk%-[%w_%-]+", 32 },
    { "Slack token", "xox[bpae]%-[%w%-]+", 20 },
    { "Stripe live key", "sk_live_%w+", 24 },
    { "Google API key", "AIza[%w_%-]+", 39 },
    { "private key", "%-%-%-%-%-BEGIN [A-Z ]*PRIVATE KEY%-%-%-%-%-", 1 },
  },
  -- NAME = "literal" / NAME: "literal" / "name": "literal", where NAME
  -- (lower-cased) contains one of these words.
  keywords = { "secret", "token", "password", "passwd", "api_key", "apikey", "api-key",
    "private_key", "access_key", "auth", "credential", "key" },
  min_literal = 16,
  -- bits per character a literal of length n must reach: rises with the
  -- length (short random strings cannot show much entropy), capped at 3.5
  threshold = function(n) return math.min(3.5, 0.7 * math.log(n, 2)) end,
}

-- Literals that are obviously not secrets (lower-cased substrings).
local PLACEHOLDERS = { "changeme", "change_me", "change-me", "your", "example", "placeholder",
  "dummy", "xxxx", "todo", "replace", "<", ">", "${", "{{", "%(", "fake", "sample", "test" }

local function is_placeholder(s)
  local l = s:lower()
  for _, p in ipairs(PLACEHOLDERS) do
    if l:find(p, 1, true) then return true end
  end
  return s:match("^(.)%1*$") ~= nil
end

local function entropy(s)
  local counts, n = {}, #s
  for c in s:gmatch(".") do counts[c] = (counts[c] or 0) + 1 end
  local h = 0
  for _, k in pairs(counts) do h = h - (k / n) * math.log(k / n, 2) end
  return h
end

-- The findings of one line of source text (rule names only).
local function scan_line(line)
  local found = {}
  for _, r in ipairs(RULES.prefix) do
    for s, tok in line:gmatch("()(" .. r[2] .. ")") do
      local before = s > 1 and line:sub(s - 1, s - 1) or ""
      if #tok >= r[3] and not before:match("[%w_]") and not is_placeholder(tok) then
        found[#found + 1] = r[1]
        break
      end
    end
    if #found > 0 then return found end -- one finding per line: sk-ant is not also sk-
  end
  for name, lit in line:gmatch("[\"']?([%w_%-%.]+)[\"']?%s*[:=]%s*[\"']([^\"']+)[\"']") do
    local lname = name:lower()
    local keyword = false
    for _, k in ipairs(RULES.keywords) do keyword = keyword or lname:find(k, 1, true) ~= nil end
    if keyword and #lit >= RULES.min_literal and not lit:find("%s") and not is_placeholder(lit)
      and lit:find("%d") and lit:find("%a") and entropy(lit) >= RULES.threshold(#lit) then
      found[#found + 1] = "high-entropy literal assigned to a secret-looking name"
    end
  end
  return found
end

-- ---- gitignore(5) ---------------------------------------------------------

-- Matches glob p against string s: '*' and '?' never match '/', '[...]'
-- classes, and '**' as a whole component matches any number of them.
local function glob(p, s)
  local function m(pi, si)
    while pi <= #p do
      local c = p:sub(pi, pi)
      if c == "*" and p:sub(pi, pi + 1) == "**" and (pi == 1 or p:sub(pi - 1, pi - 1) == "/") then
        local rest = p:sub(pi + 2, pi + 2) == "/" and pi + 3 or pi + 2
        for k = si, #s + 1 do
          if (k == si or s:sub(k - 1, k - 1) == "/") and m(rest, k) then return true end
        end
        return rest > #p
      elseif c == "*" then
        for k = si, #s + 1 do
          if m(pi + 1, k) then return true end
          if s:sub(k, k) == "/" then break end
        end
        return false
      elseif si > #s then
        return false
      elseif c == "?" then
        if s:sub(si, si) == "/" then return false end
      elseif c == "[" then
        local close = p:find("]", pi + 2, true)
        if not close then return false end
        local set, neg = p:sub(pi + 1, close - 1), false
        if set:sub(1, 1) == "!" or set:sub(1, 1) == "^" then neg, set = true, set:sub(2) end
        local ch, ok = s:sub(si, si), false
        local i = 1
        while i <= #set do
          if set:sub(i + 1, i + 1) == "-" and i + 2 <= #set then
            ok = ok or (ch >= set:sub(i, i) and ch <= set:sub(i + 2, i + 2))
            i = i + 3
          else
            ok = ok or ch == set:sub(i, i)
            i = i + 1
          end
        end
        if ok == neg or ch == "/" then return false end
        pi = close
      else
        if c == "\\" then pi = pi + 1; c = p:sub(pi, pi) end
        if s:sub(si, si) ~= c then return false end
      end
      pi, si = pi + 1, si + 1
    end
    return si > #s
  end
  return m(1, 1)
end

-- The patterns of a .gitignore text: { {glob, negate, dir_only, anchored} }.
local function parse_gitignore(text)
  local pats = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if not line:match("^#") then
      line = line:gsub("([^\\])%s+$", "%1"):gsub("^%s+$", "")
      if line ~= "" then
        local pat = { negate = false }
        if line:sub(1, 1) == "!" then pat.negate, line = true, line:sub(2)
        elseif line:sub(1, 2) == "\\!" or line:sub(1, 2) == "\\#" then line = line:sub(2) end
        if line:sub(-1) == "/" then pat.dir_only, line = true, line:sub(1, -2) end
        pat.anchored = line:find("/", 1, true) ~= nil
        pat.glob = line:gsub("^/", "")
        pats[#pats + 1] = pat
      end
    end
  end
  return pats
end

-- The verdict of pats on rel (relative to the .gitignore's folder): true
-- ignored, false re-included, nil no pattern matched. The last match wins.
local function verdict(pats, rel, is_dir)
  local v
  local base = rel:match("[^/]+$")
  for _, p in ipairs(pats) do
    if not p.dir_only or is_dir then
      local hit = p.anchored and glob(p.glob, rel) or (not p.anchored and glob(p.glob, base))
      if hit then v = not p.negate end
    end
  end
  return v
end

-- Whether path (relative to home, '/'-separated) is ignored by the
-- .gitignore files of home and of each folder on the way: a path whose
-- folder is ignored is ignored (git does not look inside); deeper files
-- override shallower ones.
local function gitignored(home, path)
  local parts = {}
  for part in path:gmatch("[^/]+") do parts[#parts + 1] = part end
  local files = {}
  for depth = 0, #parts - 1 do
    local dir = table.concat(parts, "/", 1, depth)
    local text = pixie.fs.read(home .. (dir ~= "" and "/" .. dir or "") .. "/.gitignore",
      { limit = MAX_FILE_BYTES })
    files[#files + 1] = { depth = depth, pats = text and parse_gitignore(text) or {} }
  end
  for upto = 1, #parts do
    local is_dir = upto < #parts
    local v
    for _, f in ipairs(files) do
      if f.depth < upto then
        local rel = table.concat(parts, "/", f.depth + 1, upto)
        local fv = verdict(f.pats, rel, is_dir)
        if fv ~= nil then v = fv end
      end
    end
    if v then return true end
  end
  return false
end

-- ---- git ------------------------------------------------------------------

local function git(dir, ...)
  local exe
  for d in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local st = pixie.fs.stat(d .. "/git")
    if st and st.type == "file" then exe = d .. "/git"; break end
  end
  if not exe then return nil end
  local r = pixie.proc.run({ exe, "-C", dir, ... }, {
    env = { PATH = os.getenv("PATH"), HOME = os.getenv("HOME") }, timeout_ms = 30000 })
  return r
end

local function in_work_tree(home)
  local r = git(home, "rev-parse", "--is-inside-work-tree")
  return r and r.stdout:match("^true") ~= nil
end

-- ---- the checks -----------------------------------------------------------

-- Line number of the first line of text matching pattern (after line `from`).
local function line_of(text, pattern, from)
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if n > (from or 0) and line:find(pattern) then return n end
  end
  return nil
end

local function escape(s) return (s:gsub("[%p]", "%%%0")) end

-- Source files of the tool: {rel, text}, text files only, no .env*, none
-- under SKIP_DIRS (never entered: a .venv can be huge). Returns files and
-- an array of messages for what could not be scanned.
local function sources(dir)
  local out, problems = {}, {}
  local function consider(rel, e)
    local base = rel:match("[^/]+$"):lower()
    if e.type ~= "file" or e.size > MAX_FILE_BYTES or base == ".env" or base:sub(1, 5) == ".env." then
      return
    end
    for part in rel:gmatch("[^/]+") do
      if SKIP_DIRS[part] then return end
    end
    local text = pixie.fs.read(dir .. "/" .. rel, { nofollow = true, limit = MAX_FILE_BYTES })
    if text and not text:find("\0", 1, true) then out[#out + 1] = { rel = rel, text = text } end
  end
  for _, name in ipairs(pixie.fs.list(dir) or {}) do
    local st = pixie.fs.stat(dir .. "/" .. name, { nofollow = true })
    if st and st.type == "directory" and not SKIP_DIRS[name] then
      local entries, err = pixie.fs.walk(dir .. "/" .. name)
      if not entries then problems[#problems + 1] = err end
      for _, e in ipairs(entries or {}) do consider(name .. "/" .. e.path, e) end
    elseif st then
      consider(name, st)
    end
  end
  return out, problems
end

local function lint(entry, home, git_tree)
  local findings = {}
  local function add(severity, file, line, message, fix)
    findings[#findings + 1] = { severity = severity, file = file, line = line or pixie.json.null,
      message = message, fix = fix }
  end
  local spec_text = pixie.fs.read(entry.dir .. "/tool.json", { limit = MAX_FILE_BYTES }) or ""

  -- tool.json schema
  for _, err in ipairs(entry.errors or {}) do
    local first, last = err:match("^([%w_]+)[^:]*%.([%w_]+):")
    local line = first and line_of(spec_text, '"' .. last .. '"', line_of(spec_text, '"' .. first .. '"'))
    local migrate = err:find('"label"', 1, true) or (last == "label")
    add("error", "tool.json", line, err, migrate
      and ("run: pixie run-skill migrate-tool-format " .. entry.folder)
      or "fix tool.json (see docs/tool-format.md)")
  end

  -- hardcoded secrets
  local files, problems = sources(entry.dir)
  for _, p in ipairs(problems) do
    add("warning", ".", nil, "not scanned: " .. p, "raise the limit or remove the files")
  end
  for _, f in ipairs(files) do
    local n = 0
    for line in (f.text .. "\n"):gmatch("([^\n]*)\n") do
      n = n + 1
      for _, rule in ipairs(scan_line(line)) do
        add("error", f.rel, n, "hardcoded secret: " .. rule,
          "move the value to .env, declare it in tool.json secrets and read it from the environment")
      end
    end
  end

  -- .env
  local env_path = entry.dir .. "/.env"
  local st = pixie.fs.stat(env_path, { nofollow = true })
  local rel_env = ("tools/%s/.env"):format(entry.folder)
  if st then
    if st.mode ~= 384 then
      add("error", ".env", nil, (".env mode is %04o, not 0600"):format(st.mode),
        "chmod 600 " .. env_path)
    end
    local ignored
    if git_tree then
      local r = git(home, "check-ignore", "-q", "--no-index", rel_env)
      local ignore_status = r and r.code
      ignored = ignore_status == 0
      local tracked = git(home, "ls-files", "--error-unmatch", rel_env)
      local tracked_status = tracked and tracked.code
      if tracked_status == 0 then
        add("error", ".env", nil, ".env is tracked by git",
          "git rm --cached " .. rel_env .. " (and rotate the secrets it holds)")
      end
    else
      ignored = gitignored(home, rel_env)
    end
    if not ignored then
      add("error", ".env", nil, ".env is not covered by a .gitignore",
        "add .env to " .. home .. "/.gitignore")
    end
  end

  -- declared secrets vs .env vs code
  if entry.spec then
    local rows, undeclared = pixie.env.status(entry)
    local env_text = st and pixie.fs.read(env_path, { nofollow = true, limit = MAX_FILE_BYTES }) or ""
    for _, key in ipairs(undeclared) do
      add("warning", ".env", line_of(env_text, "^%s*export%s+" .. escape(key) .. "%f[^%w_]")
        or line_of(env_text, "^%s*" .. escape(key) .. "%f[^%w_]"),
        ("key %s is not declared in tool.json"):format(key),
        "declare it in tool.json secrets, or remove it from .env")
    end
    local secrets_line = line_of(spec_text, '"secrets"')
    for _, r in ipairs(rows) do
      local decl_line = line_of(spec_text, '"' .. escape(r.key) .. '"', secrets_line)
      local read = false
      for _, f in ipairs(files) do
        if f.rel ~= "tool.json" and f.text:find("%f[%w_]" .. escape(r.key) .. "%f[^%w_]") then
          read = true
        end
      end
      if not read then
        add("warning", "tool.json", decl_line, ("declared secret %s is never read by the tool's code")
          :format(r.key), "read it (os.environ[\"" .. r.key .. "\"]) or remove the declaration")
      end
      if r.required and r.status == "not_set" then
        add("warning", "tool.json", decl_line, ("required secret %s is not set"):format(r.key),
          ("pixie run-skill set-secret %s %s"):format(entry.id, r.key))
      end
    end
  end
  table.sort(findings, function(a, b)
    if a.file ~= b.file then return a.file < b.file end
    local la, lb = tonumber(a.line) or 0, tonumber(b.line) or 0
    if la ~= lb then return la < lb end
    return a.message < b.message
  end)
  return findings
end

local function run(args)
  local opts, rest = pixie.args.parse(args, { flags = { all = "boolean", json = "boolean" }, max = 1 })
  if not opts then return pixie.args.usage_error(rest, USAGE) end
  if (opts.all and rest[1]) or (not opts.all and not rest[1]) then
    return pixie.args.usage_error("give one <tool-id> or --all", USAGE)
  end
  local home = assert(pixie.home())
  local entries = {}
  if opts.all then
    entries = pixie.tools.list()
  else
    local entry, err = pixie.tools.get(rest[1])
    if not entry then error(err, 0) end
    entries[1] = entry
  end
  local git_tree = in_work_tree(home)
  local report, errors = pixie.json.array(), 0
  for _, entry in ipairs(entries) do
    local findings = lint(entry, home, git_tree)
    for _, f in ipairs(findings) do
      if f.severity == "error" then errors = errors + 1 end
    end
    report[#report + 1] = { tool = entry.folder, findings = pixie.json.array(findings) }
  end
  if opts.json then
    print((pixie.json.encode(report, { indent = true })))
  else
    for _, r in ipairs(report) do
      if #r.findings == 0 then print(r.tool .. ": clean") end
      for _, f in ipairs(r.findings) do
        local where = ("tools/%s/%s"):format(r.tool, f.file)
        if f.line ~= pixie.json.null then where = where .. ":" .. f.line end
        print(("%s: %s: %s\n    fix: %s"):format(where, f.severity, f.message, f.fix))
      end
    end
  end
  return errors > 0 and 1 or 0
end

return {
  api = 1,
  summary = "check a tool for hardcoded secrets, .env hygiene and tool.json problems (read-only)",
  usage = USAGE,
  help = "  --all    lint every tool\n  --json   print the findings as JSON\n",
  run = run,
}
