-- pixie.term argument checking (reading itself is tested through a real
-- pseudo-terminal in tests/c/test_term.c and tests/e2e/test_set_secret.py).
local t = require("harness")
local term = require("pixie.term")

t.test("isatty_takes_stream_names_and_descriptors", function()
  for _, name in ipairs({ "stdin", "stdout", "stderr" }) do
    t.eq(type(term.isatty(name)), "boolean", name)
  end
  t.eq(term.isatty(987654), false)
end)

t.test("isatty_refuses_unknown_names", function()
  t.raises(function() term.isatty("stdjunk") end, "invalid option")
  t.raises(function() term.isatty(-1) end, "bad file descriptor")
  t.raises(function() term.isatty() end, "bad argument #1")
end)

t.test("read_secret_checks_arguments_before_touching_the_terminal", function()
  t.raises(function() term.read_secret() end, "bad argument #1")
  t.raises(function() term.read_secret("p: ", { max = 0 }) end, "field 'max': integer in 1..67108864 expected")
  t.raises(function() term.read_secret("p: ", { max = "big" }) end, "bad argument")
  t.raises(function() term.read_secret("p: ", 5) end, "table expected")
end)

t.test("read_stdin_and_confirm_check_arguments", function()
  t.raises(function() term.read_stdin(-1) end, "integer in 0..67108864 expected")
  t.raises(function() term.read_stdin("x") end, "bad argument #1")
  t.raises(function() term.confirm() end, "bad argument #1")
end)

t.test("escape_writes_control_characters_as_hex_but_keeps_layout_by_default", function()
  t.eq(term.escape("a\tb\nc\rd\27[31me\127f\0g"), "a\tb\nc\\x0Dd\\x1B[31me\\x7Ff\\x00g")
  t.eq(term.escape("a\tb\nc\27", "controls_but_layout"), "a\tb\nc\\x1B")
  t.eq(term.escape("plain \xc3\xa9 text"), "plain \xc3\xa9 text") -- UTF-8 kept
  t.eq(term.escape(""), "")
end)

t.test("escape_sets_controls_and_line_breaks", function()
  t.eq(term.escape("a\tb\nc\127", "controls"), "a\\x09b\\x0Ac\\x7F")
  t.eq(term.escape("a\r\nb\27\t", "line_breaks"), "a\\x0D\\x0Ab\27\t")
end)

t.test("escape_agrees_with_lua_control_class", function()
  -- every byte: "controls" escapes exactly what Lua's %c matches
  for b = 0, 255 do
    local c = string.char(b)
    local want = c:find("%c") and ("\\x%02X"):format(b) or c
    t.eq(term.escape(c, "controls"), want, "byte " .. b)
  end
end)

t.test("escape_checks_arguments", function()
  t.raises(function() term.escape() end, "bad argument #1")
  t.raises(function() term.escape("x", "everything") end, "invalid option")
end)

return t.run()
