-- pixie.fs.walk: stable depth-first order, symlinks listed never followed,
-- caps that fail clearly instead of returning part of a tree.
local t = require("harness")
local fs = require("pixie.fs")
local errno = require("pixie.sys").errno

-- root/{b.txt, a/{z, y/deep}, link -> /etc, c (0600)}
local function tree()
  local root = t.tmpdir("walk")
  t.write(root .. "/b.txt", "bb")
  t.write(root .. "/a/z", "z")
  t.write(root .. "/a/y/deep", "deep!")
  t.write(root .. "/c", "")
  assert(fs.chmod(root .. "/c", 384))
  assert(os.execute(("ln -s /etc '%s/link'"):format(root)))
  return root
end

local function paths(entries)
  local out = {}
  for _, e in ipairs(entries) do out[#out + 1] = e.path .. ":" .. e.type end
  return table.concat(out, " ")
end

t.test("walk_lists_depth_first_in_byte_order_without_following_links", function()
  local root = tree()
  local entries = assert(fs.walk(root))
  t.eq(paths(entries),
    "a:directory a/y:directory a/y/deep:file a/z:file b.txt:file c:file link:link")
  t.eq(entries[3].size, 5)
  t.eq(entries[6].mode, 384)
  t.eq(#assert(fs.walk(root)), 7, "same result twice")
end)

t.test("walk_fails_past_the_count_cap", function()
  local root = tree()
  local entries, msg, code = fs.walk(root, { max_entries = 3 })
  t.eq(entries, nil)
  t.eq(code, errno.E2BIG)
  t.contains(msg, "max_entries")
  t.eq(#assert(fs.walk(root, { max_entries = 7 })), 7)
end)

t.test("walk_fails_past_the_depth_cap", function()
  local root = tree()
  local entries, msg, code = fs.walk(root, { max_depth = 2 })
  t.eq(entries, nil)
  t.eq(code, errno.ELOOP)
  t.contains(msg, "a/y")
  t.contains(msg, "max_depth")
  t.ok(fs.walk(root, { max_depth = 3 }), "three levels fit")
end)

t.test("walk_of_a_symlink_or_missing_folder_fails", function()
  local root = tree()
  t.eq(select(3, fs.walk(root .. "/link")), errno.ENOTDIR, "a symlink is not entered")
  t.eq(select(3, fs.walk(root .. "/missing")), errno.ENOENT)
  t.eq(select(3, fs.walk(root .. "/b.txt")), errno.ENOTDIR)
  t.eq(assert(fs.walk(root .. "/a/y/")), { { path = "deep", type = "file", size = 5, mode = 420 } })
end)

t.test("walk_misuse_raises", function()
  t.raises(function() fs.walk({}) end, "string expected")
  t.raises(function() fs.walk("a\0b") end, "NUL")
  t.raises(function() fs.walk(".", { max_depth = 0 }) end, "max_depth")
  t.raises(function() fs.walk(".", { max_entries = -1 }) end, "max_entries")
end)

return t.run()
