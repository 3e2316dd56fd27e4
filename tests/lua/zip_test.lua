-- pixie.zip binding: pack/inspect/extract round trip, reports, refusals as
-- nil, message, reason; misuse raises; staging stage/commit/discard.
local t = require("harness")
local zip = require("pixie.zip")
local fs = require("pixie.fs")
local errno = require("pixie.sys").errno

-- A stored .zip of empty files named `names` (raw bytes), built by hand so
-- that a test can write names no honest writer would.
local function raw_zip(path, names)
  local locals, central = {}, {}
  local offset = 0
  for _, name in ipairs(names) do
    local lh = string.pack("<I4I2I2I2I2I2I4I4I4I2I2", 0x04034b50, 20, 0, 0, 0, 0x21, 0, 0, 0,
      #name, 0) .. name
    local attr = (name:sub(-1) == "/" and 0x41ED or 0x81A4) << 16
    central[#central + 1] = string.pack("<I4I2I2I2I2I2I2I4I4I4I2I2I2I2I2I4I4", 0x02014b50,
      0x031E, 20, 0, 0, 0, 0x21, 0, 0, 0, #name, 0, 0, 0, 0, attr, offset) .. name
    locals[#locals + 1] = lh
    offset = offset + #lh
  end
  local cd = table.concat(central)
  local data = table.concat(locals) .. cd
    .. string.pack("<I4I2I2I2I2I4I4I2", 0x06054b50, 0, 0, #names, #names, #cd, offset, 0)
  t.write(path, data)
end

-- A small tool folder to pack.
local function tree()
  local dir = t.tmpdir("zip") .. "/src"
  t.write(dir .. "/tool.json", '{"id":"demo"}\n')
  t.write(dir .. "/main.py", "print('hi')\n")
  t.write(dir .. "/lib/util.py", "X = 1\n")
  t.write(dir .. "/.env", "K=v\n")
  assert(fs.chmod(dir .. "/main.py", 493))
  assert(os.execute(("ln -s /etc/passwd '%s/link'"):format(dir)))
  return dir
end

t.test("pack_inspect_extract_round_trip_keeps_files_and_modes", function()
  local dir = tree()
  local out = dir .. "/../demo.zip"
  local seen = {}
  local rep = assert(zip.pack(dir, out, {
    top = "demo",
    exclude = function(path, is_dir)
      seen[#seen + 1] = path .. (is_dir and "/" or "")
      return path == ".env"
    end,
  }))
  t.eq({ rep.top, rep.files, rep.dirs }, { "demo", 3, 1 })
  t.eq(rep.skipped, { { path = ".env", why = "excluded" }, { path = "link", why = "symlink" } })
  t.ok(#seen >= 4, "exclude saw every file and folder")

  local info = assert(zip.inspect(out))
  t.eq(info.top, "demo")
  t.eq(info.files, 3)
  local names = {}
  for _, e in ipairs(info.entries) do names[#names + 1] = e.name .. ":" .. e.type end
  table.sort(names)
  t.eq(table.concat(names, " "), "lib/util.py:file lib:directory main.py:file tool.json:file")

  local staging = t.tmpdir("zip-x")
  local x = assert(zip.extract(out, staging))
  t.eq({ x.files, x.bytes }, { 3, rep.bytes })
  t.eq(fs.read(staging .. "/lib/util.py"), "X = 1\n")
  t.eq(fs.stat(staging .. "/main.py").mode, 493)
  t.eq(fs.stat(staging .. "/tool.json").mode, 420)
  t.eq(fs.stat(staging .. "/.env"), nil)
end)

t.test("pack_top_defaults_to_the_folder_name", function()
  local dir = tree()
  local rep = assert(zip.pack(dir, dir .. "/../x.zip", { exclude = function(p) return p == ".env" end }))
  t.eq(rep.top, "src")
end)

t.test("pack_refuses_a_dotenv_the_policy_let_through", function()
  local dir = tree()
  local out = dir .. "/../bad.zip"
  local rep, msg, reason = zip.pack(dir, out)
  t.eq(rep, nil)
  t.eq(reason, "dotenv")
  t.contains(msg, ".env")
  t.eq(fs.stat(out), nil, "no archive written")
end)

t.test("pack_reraises_an_error_of_exclude_and_leaves_no_file", function()
  local dir = tree()
  local out = dir .. "/../raise.zip"
  t.raises(function() zip.pack(dir, out, { exclude = function() error("boom") end }) end, "boom")
  local parent = dir:match("^(.*)/src$")
  for _, name in ipairs(fs.list(parent)) do t.ok(not name:find("raise.zip", 1, true), name) end
end)

t.test("hostile_archives_are_nil_message_reason", function()
  local dir = t.tmpdir("zip-h")
  local cases = {
    { { "t/", "t/../evil" }, "name_traversal" },
    { { "/etc/x" }, "name_absolute" },
    { { "t/a\\b" }, "name_backslash" },
    { { "t/.ENV" }, "dotenv" },
    { { "t/sub/.env.local" }, "dotenv" },
    { { "t/.git/config" }, "git" },
    { { "a/x", "b/y" }, "top_folder" },
    { { "t/A", "t/a" }, "duplicate" },
  }
  for i, c in ipairs(cases) do
    local path = ("%s/h%d.zip"):format(dir, i)
    raw_zip(path, c[1])
    local rep, msg, reason = zip.inspect(path)
    t.eq(rep, nil, c[2])
    t.eq(reason, c[2], table.concat(c[1], ","))
    t.ok(type(msg) == "string" and #msg > 0, "message")
    local staging = ("%s/s%d"):format(dir, i)
    assert(fs.mkdirs(staging))
    local x, _, xreason = zip.extract(path, staging)
    t.eq(x, nil)
    t.eq(xreason, c[2])
    t.eq(fs.list(staging), {}, "nothing extracted")
  end
  local _, _, reason = zip.inspect(dir .. "/missing.zip")
  t.eq(reason, "io")
  t.write(dir .. "/junk.zip", "not a zip at all")
  t.eq(select(3, zip.inspect(dir .. "/junk.zip")), "bad_archive")
end)

t.test("limits_are_enforced_and_raisable", function()
  local dir = t.tmpdir("zip-l")
  local path = dir .. "/many.zip"
  raw_zip(path, { "t/", "t/a", "t/b", "t/c" })
  t.eq(select(3, zip.inspect(path, { max_entries = 2 })), "too_many_entries")
  t.ok(zip.inspect(path, { max_entries = 4 }), "raised cap accepts")
  t.eq(zip.defaults.max_entries, 10000)
  t.eq(zip.defaults.max_file_bytes, 64 * 1024 * 1024)
end)

t.test("extract_refuses_a_non_empty_staging_folder", function()
  local dir = t.tmpdir("zip-ne")
  raw_zip(dir .. "/ok.zip", { "t/", "t/a" })
  assert(fs.mkdirs(dir .. "/s"))
  t.write(dir .. "/s/keep", "x")
  t.eq(select(3, zip.extract(dir .. "/ok.zip", dir .. "/s")), "not_empty")
  t.eq(fs.read(dir .. "/s/keep"), "x")
end)

t.test("misuse_raises", function()
  t.raises(function() zip.inspect({}) end, "string expected")
  t.raises(function() zip.inspect("a\0b") end, "NUL")
  t.raises(function() zip.extract("a.zip", "s\0t") end, "NUL")
  t.raises(function() zip.pack("d\0", "o") end, "NUL")
  t.raises(function() zip.inspect("a.zip", { max_entries = 0 }) end, "max_entries")
  t.raises(function() zip.inspect("a.zip", { max_ratio = "x" }) end, "max_ratio")
  t.raises(function() zip.inspect("a.zip", 5) end, "table expected")
  t.raises(function() zip.pack("d", "o", { exclude = 3 }) end, "exclude")
  t.raises(function() zip.pack("d", "o", { top = "a\0b" }) end, "NUL")
  t.raises(function() zip.commit("a", "b", 1) end, "table expected")
  t.raises(function() zip.stage(nil) end, "string expected")
end)

t.test("stage_commit_noreplace_and_replace_by_exchange", function()
  local parent = t.tmpdir("zip-st")
  local s1 = assert(zip.stage(parent))
  t.ok(s1:match("/%.staging%-%d+%-......$"), s1)
  t.eq(fs.stat(s1).mode, 448)
  t.write(s1 .. "/v", "1")
  t.eq(select(2, assert(zip.commit(s1, parent .. "/tool"))), false)
  t.eq(fs.read(parent .. "/tool/v"), "1")

  local s2 = assert(zip.stage(parent))
  t.write(s2 .. "/v", "2")
  local ok, _, code = zip.commit(s2, parent .. "/tool")
  t.eq(ok, nil)
  t.eq(code, errno.EEXIST)
  t.eq(fs.read(parent .. "/tool/v"), "1", "an existing tool is never replaced")
  local _, replaced = assert(zip.commit(s2, parent .. "/tool", { replace = true }))
  t.eq(replaced, true)
  t.eq(fs.read(parent .. "/tool/v"), "2")
  t.eq(fs.stat(s2), nil, "the old version is gone")
  t.eq(fs.list(parent), { "tool" })

  local s3 = assert(zip.stage(parent))
  t.write(s3 .. "/deep/er/f", "x")
  assert(zip.discard(s3))
  t.eq(fs.list(parent), { "tool" })
  assert(zip.discard(parent .. "/missing"))
end)

return t.run()
