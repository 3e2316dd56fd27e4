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

return t.run()
